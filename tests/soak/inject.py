#!/usr/bin/env python3
"""inject.py - the abuse of the churn soak, at a gateway's listen ports.

    inject.py HOST TLS_PORT DTLS_PORT SECONDS

Every INTERVAL seconds, until SECONDS have passed (and never more than
MAX_ROUNDS rounds), one of each:

  tls  junk             bytes that are no TLS at all
  tls  truncated        a TLS record header promising 200 bytes, 20 sent, then FIN
  tls  oversized        a TLS record header of 65535 bytes (TLS allows 2^14 + 2048)
  dtls junk_datagram    a datagram that is no DTLS
  dtls bad_cookie       a ClientHello carrying a cookie the gateway never made
  dtls truncated        a DTLS record header promising more than the datagram holds
  dtls oversized        a DTLS record header of 65535 bytes

Each must be dropped and counted under its name in `culvertctl status`;
tests/soak/soak.sh checks that. Prints what it sent, as JSON, at the end.
Only the address given is ever contacted (the soak's gateway, a
documentation address inside its namespace).
"""
import json
import os
import socket
import sys
import time

INTERVAL = 0.25
MAX_ROUNDS = 4000


def tls_send(host, port, data, counts, kind):
    try:
        s = socket.create_connection((host, port), timeout=2)
    except OSError as e:
        counts["errors"] += 1
        print(f"inject.py: tls {kind}: {e}", file=sys.stderr)
        return
    with s:
        try:
            s.sendall(data)
            counts[kind] += 1
            s.shutdown(socket.SHUT_WR)
            while s.recv(4096):   # until the gateway closes (or resets)
                pass
        except OSError:
            pass


def dtls_record(content_type, payload, length=None):
    """A DTLS 1.2 record header (epoch 0, sequence 0) and payload."""
    n = len(payload) if length is None else length
    return bytes([content_type, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0,
                  n >> 8, n & 0xFF]) + payload


def client_hello_with_cookie():
    cookie = os.urandom(16)
    body = (bytes([0xFE, 0xFD]) + os.urandom(32) + b"\x00"   # version, random, no session id
            + bytes([len(cookie)]) + cookie
            + b"\x00\x02\xc0\x2b"                              # one cipher suite
            + b"\x01\x00")                                     # no compression
    n = len(body)
    hs = (bytes([1, n >> 16, (n >> 8) & 0xFF, n & 0xFF, 0, 0,   # ClientHello, length, msg_seq
                 0, 0, 0, n >> 16, (n >> 8) & 0xFF, n & 0xFF])  # fragment: all of it
          + body)
    return dtls_record(22, hs)


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    host, tls_port, dtls_port, seconds = (sys.argv[1], int(sys.argv[2]),
                                          int(sys.argv[3]), float(sys.argv[4]))
    counts = {k: 0 for k in ("tls_junk", "tls_truncated", "tls_oversized",
                             "dtls_junk", "dtls_bad_cookie", "dtls_truncated",
                             "dtls_oversized", "errors")}
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    end = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < end and rounds < MAX_ROUNDS:
        rounds += 1
        tls_send(host, tls_port, b"GET / HTTP/1.0\r\n\r\n", counts, "tls_junk")
        tls_send(host, tls_port, b"\x16\x03\x01\x00\xc8" + os.urandom(20),
                 counts, "tls_truncated")
        tls_send(host, tls_port, b"\x16\x03\x01\xff\xff" + os.urandom(20),
                 counts, "tls_oversized")
        for kind, dgram in (
                ("dtls_junk", b"this is no DTLS record " + os.urandom(8)),
                ("dtls_bad_cookie", client_hello_with_cookie()),
                ("dtls_truncated", dtls_record(22, os.urandom(20), length=100)),
                ("dtls_oversized", dtls_record(23, os.urandom(30), length=0xFFFF))):
            try:
                udp.sendto(dgram, (host, dtls_port))
                counts[kind] += 1
            except OSError as e:
                counts["errors"] += 1
                print(f"inject.py: {kind}: {e}", file=sys.stderr)
        time.sleep(INTERVAL)
    udp.close()
    counts["rounds"] = rounds
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
