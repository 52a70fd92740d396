#!/usr/bin/env python3
"""tap_frames.py - raw Ethernet frames out of a device, for tap_lab.sh.

  tap_frames.py arp DEV SRC_MAC IP COUNT
      COUNT gratuitous ARP replies, "IP is at SRC_MAC", sent from SRC_MAC
      to the broadcast address: what a client that takes over another's
      address sends.
  tap_frames.py flood DEV SECONDS MAX
      broadcast frames (an unused EtherType, 60 bytes) from DEV's own
      address, as fast as they go, for SECONDS or MAX frames; prints how
      many were sent.

Bounded in count and time; needs root (AF_PACKET).
"""
import socket
import struct
import sys
import time

BROADCAST = b"\xff" * 6


def mac_bytes(text):
    return bytes(int(part, 16) for part in text.split(":"))


def own_mac(dev):
    with open(f"/sys/class/net/{dev}/address") as f:
        return mac_bytes(f.read().strip())


def open_socket(dev):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((dev, 0))
    return s


def arp(dev, src, ip, count):
    mac = mac_bytes(src)
    addr = socket.inet_aton(ip)
    # Ethernet, then an ARP reply: Ethernet/IPv4, sender = target = IP.
    frame = BROADCAST + mac + struct.pack("!H", 0x0806)
    frame += struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2)
    frame += mac + addr + BROADCAST + addr
    frame += b"\0" * (60 - len(frame))
    s = open_socket(dev)
    for _ in range(count):
        s.send(frame)
        time.sleep(0.01)
    print(count)


def flood(dev, seconds, most):
    # 0x88b5: the IEEE's EtherType for local experiments; nobody answers.
    frame = BROADCAST + own_mac(dev) + struct.pack("!H", 0x88B5)
    frame += b"culvert flood test".ljust(46, b"\0")
    s = open_socket(dev)
    sent = 0
    end = time.monotonic() + seconds
    while sent < most and time.monotonic() < end:
        for _ in range(64):
            try:
                s.send(frame)
                sent += 1
            except OSError:
                # The device's queue is full: give it a moment.
                time.sleep(0.0005)
                break
    print(sent)


def main(argv):
    if len(argv) == 6 and argv[1] == "arp":
        arp(argv[2], argv[3], argv[4], int(argv[5]))
    elif len(argv) == 5 and argv[1] == "flood":
        flood(argv[2], float(argv[3]), int(argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
