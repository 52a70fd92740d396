#!/usr/bin/env python3
"""huge_handshake.py - strangers that announce a huge handshake message and
keep sending it, for tests/net/huge_handshake.sh.

    huge_handshake.py tls|dtls HOST PORT CONNECTIONS SECONDS

tls: CONNECTIONS TCP connections each send a TLS record with a ClientHello
that announces 16 MiB - 1 bytes, then more handshake records of 16 KiB
that continue it, as fast as the gateway takes them.

dtls: CONNECTIONS UDP sockets each pass the cookie exchange with a real
ClientHello (so that the gateway makes a handshake for them), then send
fragments of a Certificate message that announces 16 MiB - 1 bytes, in
order, 1,200 bytes each.

Both stop after SECONDS, or sooner when the gateway has hung up on every
connection; prints one line: what was sent, and how many the gateway
ended. Bounded in time and in count; talks only to HOST.
"""
import os
import select
import socket
import struct
import sys
import time

HUGE = 0xFFFFFF            # the largest 24-bit handshake length
TLS_CHUNK = 16384          # one TLS record's payload
DTLS_FRAG = 1200           # one DTLS handshake fragment


# ---------------------------------------------------------------- tls
def tls_attack(host, port, n, secs):
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=3)
        s.setblocking(False)
        # Record header (handshake, TLS 1.0 on the record as clients do),
        # then the ClientHello's header: type 1, length 16 MiB - 1.
        first = struct.pack("!BHH", 22, 0x0301, TLS_CHUNK)
        first += struct.pack("!B", 1) + HUGE.to_bytes(3, "big")
        first += b"\x03\x03" + os.urandom(32) + b"\x00"
        first += b"\x00" * (5 + TLS_CHUNK - len(first))
        socks.append([s, first, 0])
    more = struct.pack("!BHH", 22, 0x0301, TLS_CHUNK) + b"\x41" * TLS_CHUNK
    sent = 0
    ended = 0
    end = time.monotonic() + secs
    while socks and time.monotonic() < end:
        _, w, _ = select.select([], [e[0] for e in socks], [], 0.2)
        for e in [e for e in socks if e[0] in w]:
            s, buf, off = e
            try:
                k = s.send(buf[off:])
            except (BrokenPipeError, ConnectionResetError, OSError):
                ended += 1
                socks.remove(e)
                s.close()
                continue
            sent += k
            off += k
            if off == len(buf):
                buf, off = more, 0
            e[1], e[2] = buf, off
    for e in socks:
        e[0].close()
    return sent, ended


# ---------------------------------------------------------------- dtls
def dtls_hs(htype, length, seq, off, frag):
    return struct.pack("!B", htype) + length.to_bytes(3, "big") + \
        struct.pack("!H", seq) + off.to_bytes(3, "big") + \
        len(frag).to_bytes(3, "big") + frag


def client_hello(rnd, cookie):
    def ext(t, body):
        return struct.pack("!HH", t, len(body)) + body
    exts = ext(0x000A, b"\x00\x04\x00\x17\x00\x1d")        # P-256, X25519
    exts += ext(0x000B, b"\x01\x00")                       # uncompressed
    exts += ext(0x000D, b"\x00\x06\x04\x03\x08\x04\x04\x01")
    exts += ext(0x0017, b"")                               # extended master secret
    exts += ext(0xFF01, b"\x00")                           # renegotiation_info
    body = b"\xfe\xfd" + rnd + b"\x00"
    body += struct.pack("!B", len(cookie)) + cookie
    body += b"\x00\x04\xc0\x2b\xc0\x2f" + b"\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    return body


def dtls_pack(epoch_seq, htype, length, seq, off, frag):
    # epoch_seq: epoch in the top 16 bits of 64, packed as 2 + 6 bytes
    hdr = struct.pack("!BH", 22, 0xFEFD) + epoch_seq.to_bytes(8, "big")
    payload = dtls_hs(htype, length, seq, off, frag)
    return hdr + struct.pack("!H", len(payload)) + payload


def dtls_attack(host, port, n, secs):
    conns = []
    end = time.monotonic() + secs
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((host, port))
        s.settimeout(2)
        rnd = os.urandom(32)
        hello = client_hello(rnd, b"")
        s.send(dtls_pack(0, 1, len(hello), 0, 0, hello))
        try:
            hvr = s.recv(2048)
        except socket.timeout:
            s.close()
            continue
        # record 13, handshake header 12, version 2, cookie length 1
        if len(hvr) < 28 or hvr[0] != 22 or hvr[13] != 3:
            s.close()
            continue
        cookie = hvr[28:28 + hvr[27]]
        hello = client_hello(rnd, cookie)
        s.send(dtls_pack(1, 1, len(hello), 1, 0, hello))
        s.setblocking(False)
        conns.append([s, 2, 0])    # next record sequence, next offset
    made = len(conns)
    sent = 0
    frag = b"\x42" * DTLS_FRAG
    while conns and time.monotonic() < end:
        for c in conns:
            s, rseq, off = c
            if off + DTLS_FRAG > HUGE:
                continue
            try:
                s.send(dtls_pack(rseq, 11, HUGE, 2, off, frag))
            except BlockingIOError:
                continue
            except OSError:
                continue
            sent += DTLS_FRAG
            c[1], c[2] = rseq + 1, off + DTLS_FRAG
            try:
                while s.recv(4096):
                    pass
            except OSError:
                pass
    for c in conns:
        c[0].close()
    return sent, made


def main():
    if len(sys.argv) != 6 or sys.argv[1] not in ("tls", "dtls"):
        sys.exit(__doc__)
    mode, host = sys.argv[1], sys.argv[2]
    port, n, secs = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    n = min(n, 512)
    secs = min(secs, 60)
    if mode == "tls":
        sent, ended = tls_attack(host, port, n, secs)
        print(f"tls: sent {sent} bytes of huge ClientHellos on {n} connections; "
              f"the gateway ended {ended}")
    else:
        sent, made = dtls_attack(host, port, n, secs)
        print(f"dtls: {made} of {n} passed the cookie exchange; "
              f"sent {sent} bytes of huge Certificate fragments")


if __name__ == "__main__":
    main()
