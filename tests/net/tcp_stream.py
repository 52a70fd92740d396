#!/usr/bin/env python3
"""tcp_stream.py - one long TCP connection through the tunnel, for the
fault tests (tests/net/fault_lib.sh): does it survive the fault, and do
its bytes keep counting afterwards?

  tcp_stream.py recv PORT FILE [SILENCES]
                                   accept ONE connection on PORT, count
                                   what arrives; every 0.1 s FILE holds
                                   "BYTES open PEER", and at the end
                                   "BYTES closed|error:WHY PEER"; each
                                   silence longer than 0.2 s is a line
                                   "START SECONDS" (epoch) in SILENCES
  tcp_stream.py send HOST PORT KBPS   connect once, send KBPS KiB a second
                                   until killed (or the connection fails)

Both are bounded by the caller (timeout(1)); the receiver gives up after
60 s without a connection.
"""
import os
import socket
import sys
import time


def report(path, total, state, peer):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{total} {state} {peer}\n")
    os.replace(tmp, path)


def recv(port, path, silences=None):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(1)
    srv.settimeout(60)
    report(path, 0, "listening", "-")
    conn, addr = srv.accept()
    srv.close()  # one connection: a second one would be a new socket
    peer = f"{addr[0]}:{addr[1]}"
    conn.settimeout(0.1)
    total, last = 0, 0.0
    last_data = time.time()
    while True:
        try:
            data = conn.recv(65536)
        except socket.timeout:
            data = None
        except OSError as e:
            report(path, total, "error:" + e.__class__.__name__, peer)
            return
        if data == b"":
            report(path, total, "closed", peer)
            return
        if data:
            total += len(data)
            now = time.time()
            if silences and total > len(data) and now - last_data > 0.2:
                with open(silences, "a") as f:
                    f.write(f"{last_data:.3f} {now - last_data:.3f}\n")
            last_data = now
        now = time.monotonic()
        if now - last >= 0.1:
            report(path, total, "open", peer)
            last = now


def send(host, port, kbps):
    conn = socket.create_connection((host, port), timeout=10)
    conn.settimeout(None)
    chunk = b"c" * 1024
    per_tick = max(1, kbps // 20)  # 20 ticks a second
    while True:
        t0 = time.monotonic()
        for _ in range(per_tick):
            conn.sendall(chunk)
        time.sleep(max(0.0, 0.05 - (time.monotonic() - t0)))


def main():
    if len(sys.argv) in (4, 5) and sys.argv[1] == "recv":
        recv(int(sys.argv[2]), sys.argv[3], *sys.argv[4:])
    elif len(sys.argv) == 5 and sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
