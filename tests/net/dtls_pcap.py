#!/usr/bin/env python3
# dtls_pcap.py - the DTLS tests' way to see and resend what crossed the wire.
#
#   dtls_pcap.py list PCAP
#       one line per IPv4 UDP datagram in the capture (Ethernet or Linux
#       cooked): INDEX SPORT TYPE EPOCH LEN, TYPE and EPOCH from the DTLS
#       record header of the payload (-1 when it has none)
#   dtls_pcap.py send PCAP DST FLIP [SPORT|-] INDEX...
#       send those datagrams again, byte for byte, through a raw IP socket
#       (so from their own source address and port, whoever holds that
#       port), to DST; SPORT other than '-' replaces the source port.
#       FLIP=1 forges them first: a sequence number never used (no replay
#       window can catch it) and the last byte (of the AEAD tag) flipped.
#       The UDP checksum is computed afresh.
import socket, struct, sys

def datagrams(path):
    data = open(path, 'rb').read()
    magic = struct.unpack('<I', data[:4])[0]
    e = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    linktype = struct.unpack(e + 'I', data[20:24])[0]
    skip = {1: 14, 113: 16, 276: 20}.get(linktype)
    if skip is None:
        sys.exit('dtls_pcap.py: link type %d is not Ethernet or Linux cooked' % linktype)
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack(e + 'I', data[off + 8:off + 12])[0]
        pkt = data[off + 16 + skip:off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 28 or pkt[0] >> 4 != 4 or pkt[9] != 17:
            continue
        ihl = (pkt[0] & 15) * 4
        out.append((pkt[:ihl], pkt[ihl:ihl + 8], pkt[ihl + 8:]))
    return out

def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

cmd, path = sys.argv[1], sys.argv[2]
dgs = datagrams(path)
if cmd == 'list':
    for i, (ip, udp, pl) in enumerate(dgs):
        sport = struct.unpack('!H', udp[:2])[0]
        epoch = struct.unpack('!H', pl[3:5])[0] if len(pl) >= 13 else -1
        print(i, sport, pl[0] if pl else -1, epoch, len(pl))
elif cmd == 'send':
    dst, flip, sport = sys.argv[3], sys.argv[4] == '1', sys.argv[5]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for i in map(int, sys.argv[6:]):
        ip, udp, pl = dgs[i]
        if sport != '-':
            udp = struct.pack('!H', int(sport)) + udp[2:]
        if flip:
            pl = pl[:5] + bytes.fromhex('7fffffff0000') + pl[11:-1] + bytes([pl[-1] ^ 1])
        pseudo = ip[12:20] + struct.pack('!BBH', 0, 17, 8 + len(pl))
        hdr = udp[:4] + struct.pack('!HH', 8 + len(pl), 0)
        c = csum(pseudo + hdr + pl) or 0xffff
        s.sendto(ip + hdr[:6] + struct.pack('!H', c) + pl, (dst, 0))
