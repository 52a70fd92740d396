#!/usr/bin/env python3
"""radius_standin.py - a RADIUS server that misbehaves on purpose, for the
tests of tests/net/ (radius_flood.sh, radius_lab.sh). It answers
Access-Requests after --delay seconds, each on a thread of its own, with a
correct Response Authenticator (RFC 2865 3), unless the user name asks for
something else:

    forged*     an Access-Accept signed with a random authenticator
    garbage*    a reply whose attribute runs past the end of the packet
    huge*       a datagram of 5000 bytes, more than RADIUS allows
    challenge*  an Access-Challenge (a one-time code, RFC 2865 4.4)

With --silent it reads every request and answers none: a server that is
down without saying so. It stops by itself after --lifetime seconds.
"""
import argparse
import hashlib
import os
import socket
import struct
import sys
import threading
import time

ACCEPT, CHALLENGE = 2, 11
USER_NAME, REPLY_MESSAGE, STATE = 1, 18, 24


def attrs_of(packet):
    """The attributes of a request, as {type: value} (the first of each)."""
    found, at, end = {}, 20, struct.unpack(">H", packet[2:4])[0]
    while at + 2 <= end and packet[at + 1] >= 2:
        found.setdefault(packet[at], packet[at + 2:at + packet[at + 1]])
        at += packet[at + 1]
    return found


def attr(kind, value):
    return bytes([kind, 2 + len(value)]) + value


def reply(request, code, attrs, secret):
    length = 20 + len(attrs)
    head = bytes([code, request[1]]) + struct.pack(">H", length)
    auth = hashlib.md5(head + request[4:20] + attrs + secret).digest()
    return head + auth + attrs


def answer(sock, request, peer, args):
    user = attrs_of(request).get(USER_NAME, b"").decode(errors="replace")
    time.sleep(args.delay)
    secret = args.secret.encode()
    if user.startswith("forged"):
        out = bytes([ACCEPT, request[1]]) + struct.pack(">H", 20) + os.urandom(16)
    elif user.startswith("garbage"):
        out = reply(request, ACCEPT, attr(REPLY_MESSAGE, b"hi"), secret)
        out = out[:21] + bytes([200]) + out[22:]   # runs past the end
    elif user.startswith("huge"):
        out = reply(request, ACCEPT, b"", secret) + bytes(4980)
    elif user.startswith("challenge"):
        out = reply(request, CHALLENGE,
                    attr(REPLY_MESSAGE, b"Enter your one-time code") +
                    attr(STATE, b"round-1"), secret)
    else:
        out = reply(request, ACCEPT, attr(REPLY_MESSAGE, b"welcome"), secret)
    sock.sendto(out, peer)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen", required=True, help="ADDRESS:PORT")
    p.add_argument("--secret", default="testing123")
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--silent", action="store_true")
    p.add_argument("--lifetime", type=float, default=120.0)
    args = p.parse_args()
    host, port = args.listen.rsplit(":", 1)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                         socket.SOCK_DGRAM)
    sock.bind((host.strip("[]"), int(port)))
    sock.settimeout(0.5)
    print(f"listening on {args.listen}", flush=True)
    end = time.monotonic() + args.lifetime
    seen = 0
    while time.monotonic() < end:
        try:
            request, peer = sock.recvfrom(4096)
        except socket.timeout:
            continue
        seen += 1
        if args.silent or len(request) < 20 or request[0] != 1:
            continue
        threading.Thread(target=answer, args=(sock, request, peer, args),
                         daemon=True).start()
    print(f"{seen} requests", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
