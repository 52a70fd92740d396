#!/usr/bin/env python3
"""udp_forge.py - one UDP datagram with a source address and port that
are not ours (a raw socket, root), for the tests that check a client
takes no forged stateless reset:

  udp_forge.py SRC SPORT DST DPORT HEX     IPv4 only; HEX is the payload
"""
import socket
import struct
import sys


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    src, sport, dst, dport, payload = (
        sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]),
        bytes.fromhex(sys.argv[5]))
    udp_len = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(
        "!BBH", 0, socket.IPPROTO_UDP, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    csum = checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64,
                     socket.IPPROTO_UDP, 0, socket.inet_aton(src),
                     socket.inet_aton(dst))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(ip + udp, (dst, 0))


if __name__ == "__main__":
    main()
