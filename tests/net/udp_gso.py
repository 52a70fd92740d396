#!/usr/bin/env python3
"""udp_gso.py - UDP sent with GSO (UDP_SEGMENT, as QUIC stacks send), and
a receiver that checks what arrives; for tests/net/udp_gso.sh.

  udp_gso.py send ADDR PORT BURSTS [SEG COUNT]
      BURSTS sends of COUNT datagrams of SEG bytes each (default 40 x
      1200), the last datagram of each 300 bytes shorter, each burst one
      sendmsg() with UDP_SEGMENT = SEG, 20 ms apart. Prints the seconds
      the sends took.
  udp_gso.py blast ADDR PORT SECS SEG COUNT
      For bench/udp-gso.sh: as many sends as it can for SECS seconds,
      each of COUNT datagrams of SEG bytes (COUNT 1: plain sends, without
      UDP_SEGMENT). Prints the datagrams sent and the seconds taken.
  udp_gso.py sink ADDR PORT SECS
      A socket that is bound for SECS seconds and never read: what
      arrives is counted by the kernel (InDatagrams, RcvbufErrors).
  udp_gso.py recv ADDR PORT EXPECT SECS
      Counts datagrams until EXPECT arrived or nothing came for SECS
      seconds (15 before the first); checks each one's content (its
      burst, index and length, and the bytes that follow from them).
      Prints "datagrams N bytes B bad K duplicates D" and exits 0 only
      when all EXPECT arrived intact once each.

Every datagram: 4 bytes burst, 2 bytes index, 2 bytes its length, then
bytes (burst * 31 + index * 7 + k) & 0xff. A datagram whose UDP checksum was wrong never
reaches the receiver: its kernel drops it, so arrival proves the
checksum too.
"""
import select
import socket
import struct
import sys
import time

SOL_UDP = 17
UDP_SEGMENT = 103
SHORTER = 300


def payload(burst, index, size):
    head = struct.pack("!IHH", burst, index, size)
    base = (burst * 31 + index * 7) & 0xff
    body = bytes((base + k) & 0xff for k in range(256)) * (size // 256 + 1)
    return head + body[: size - len(head)]


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def send(addr, port, bursts, seg=1200, count=40):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.setsockopt(SOL_UDP, UDP_SEGMENT, seg)
    start = time.monotonic()
    for b in range(bursts):
        sizes = [seg] * (count - 1) + [seg - SHORTER]
        buf = b"".join(payload(b, i, n) for i, n in enumerate(sizes))
        s.sendmsg([buf], [], 0, (addr, port))
        time.sleep(0.02)
    print("%.3f" % (time.monotonic() - start))


def blast(addr, port, secs, seg, count):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    if count > 1:
        s.setsockopt(SOL_UDP, UDP_SEGMENT, seg)
    buf = b"".join(payload(0, i, seg) for i in range(count))
    sent, start = 0, time.monotonic()
    end = start + secs
    while True:
        for _ in range(64):
            try:
                s.sendto(buf, (addr, port))
                sent += count
            except OSError:     # ENOBUFS: the queue is full; go on
                pass
        if time.monotonic() >= end:
            break
    print("%d %.3f" % (sent, time.monotonic() - start))


def sink(addr, port, secs):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.bind((addr, port))
    print("listening", flush=True)
    time.sleep(secs)


def recv(addr, port, expect, secs):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((addr, port))
    print("listening", flush=True)
    seen, total, bad, dup = set(), 0, 0, 0
    deadline = time.monotonic() + 120
    while len(seen) < expect and time.monotonic() < deadline:
        # The sender may be slow to start on a loaded machine.
        if not select.select([s], [], [], secs if seen else 15)[0]:
            break
        data = s.recv(65536)
        if len(data) < 8:
            bad += 1
            continue
        burst, index, _ = struct.unpack("!IHH", data[:8])
        if data != payload(burst, index, len(data)):
            bad += 1
            continue
        if (burst, index) in seen:
            dup += 1
            continue
        seen.add((burst, index))
        total += len(data)
    print("datagrams %d bytes %d bad %d duplicates %d"
          % (len(seen), total, bad, dup))
    sys.exit(0 if len(seen) == expect and not bad and not dup else 1)


def main():
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "send":
        send(a[1], int(a[2]), int(a[3]), *(int(x) for x in a[4:6]))
    elif len(a) == 6 and a[0] == "blast":
        blast(a[1], int(a[2]), float(a[3]), int(a[4]), int(a[5]))
    elif len(a) == 4 and a[0] == "sink":
        sink(a[1], int(a[2]), float(a[3]))
    elif len(a) == 5 and a[0] == "recv":
        recv(a[1], int(a[2]), int(a[3]), float(a[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
