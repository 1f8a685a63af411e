#!/usr/bin/python3
"""netem_wire.py: a lossy, slow wire between two network namespaces, for kernels without netem.

  netem_wire.py NS_A DEV_A NS_B DEV_B --delay-ms MS --loss PERCENT [--seed N] [--ready-file F]

Attaches to the TUN device DEV_A in namespace NS_A and DEV_B in NS_B (both made beforehand with
`ip -n NS tuntap add dev DEV mode tun`) and carries every IP packet from one to the other after
MS milliseconds, dropping PERCENT of them in each direction, the way `tc qdisc add ... netem
delay MS loss PERCENT%` would on each end. Runs until SIGTERM/SIGINT and then prints what it
carried and dropped. This machine's kernel has no sch_netem (CONFIG_NET_SCH_NETEM is not set),
so the uTP loss test builds its link here; both TCP and uTP cross the same wire.
"""
import argparse
import ctypes
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

stop = False


def on_stop(*_):
    global stop
    stop = True


def open_tun(libc, ns, dev):
    """The TUN device dev of namespace ns, opened from inside that namespace."""
    nsfd = os.open("/run/netns/%s" % ns, os.O_RDONLY)
    if libc.setns(nsfd, CLONE_NEWNET) != 0:
        sys.exit("netem_wire: setns %s: %s" % (ns, os.strerror(ctypes.get_errno())))
    os.close(nsfd)
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", dev.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ns_a")
    ap.add_argument("dev_a")
    ap.add_argument("ns_b")
    ap.add_argument("dev_b")
    ap.add_argument("--delay-ms", type=float, required=True)
    ap.add_argument("--loss", type=float, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ready-file")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    libc = ctypes.CDLL(None, use_errno=True)
    fa = open_tun(libc, a.ns_a, a.dev_a)
    fb = open_tun(libc, a.ns_b, a.dev_b)
    other = {fa: fb, fb: fa}
    rnd = random.Random(a.seed)
    delay = a.delay_ms / 1000.0
    loss = a.loss / 100.0
    queue = []          # (due, sequence, fd to write, packet)
    seq = 0
    carried = dropped = 0
    if a.ready_file:
        with open(a.ready_file, "w") as f:
            f.write("ready\n")
    while not stop:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, fd, pkt = heapq.heappop(queue)
            try:
                os.write(fd, pkt)
                carried += 1
            except OSError:
                dropped += 1          # the device's queue is full: a drop, as a NIC would
        timeout = max(0.0, queue[0][0] - now) if queue else 0.2
        try:
            ready, _, _ = select.select([fa, fb], [], [], min(timeout, 0.2))
        except InterruptedError:
            continue
        for fd in ready:
            for _ in range(64):       # a burst per wakeup, bounded
                try:
                    pkt = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if rnd.random() < loss:
                    dropped += 1
                    continue
                seq += 1
                heapq.heappush(queue, (time.monotonic() + delay, seq, other[fd], pkt))
    print("netem_wire: carried %d packets, dropped %d (%.2f%%)" %
          (carried, dropped, 100.0 * dropped / max(1, carried + dropped)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
