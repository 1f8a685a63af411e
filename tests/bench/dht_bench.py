#!/usr/bin/python3
"""dht_bench.py: the figures of tests/bench/dht.sh (prints figures, asserts nothing).

  dht_bench.py magnet DOWNPOUR BOOT HASH OUTDIR RUNS
      RUNS fresh `downpour get --dht-bootstrap BOOT magnet:?xt=urn:btih:HASH`; for each the
      seconds from launch to the first DHT peers (downpour's "first peers" log line), to the
      metadata, and to completion. Prints one line per run and the medians.
  dht_bench.py load DOWNPOUR PORT RATE SECS SOCKETS
      Sends RATE KRPC queries per second (ping, find_node, get_peers in turn) from SOCKETS
      loopback sockets to the downpour process whose DHT listens on 127.0.0.1:PORT, for SECS
      seconds; prints queries sent, answers received and the process's CPU over the run, the
      CPU per answer, and the answer rate that 1 % of one CPU sustains.
"""
import os
import select
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from benc import be as bencode  # noqa: E402


def magnet(dp, boot, ih, outdir, runs):
    rows = []
    for r in range(runs):
        out = os.path.join(outdir, "run%d" % r)
        t0 = time.monotonic()
        p = subprocess.Popen([dp, "get", "-o", out, "--port", "0", "--dht-bootstrap", boot,
                              "magnet:?xt=urn:btih:" + ih], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        first = meta = None
        for line in p.stdout:
            now = time.monotonic() - t0
            if first is None and "first peers" in line:
                first = now
            if meta is None and "metadata received" in line:
                meta = now
            if now > 300:
                p.terminate()
        rc = p.wait()
        done = time.monotonic() - t0
        if rc != 0 or first is None:
            print("run %d: downpour get exited %d (first peers %s)" % (r, rc, first))
            continue
        rows.append((first, meta, done))
        print("run %d: first DHT peers %.2f s, metadata %.2f s, complete %.2f s"
              % (r, first, meta, done), flush=True)
    if rows:
        print("median of %d: first DHT peers %.2f s, metadata %.2f s, complete %.2f s"
              % (len(rows), statistics.median(x[0] for x in rows),
                 statistics.median(x[1] for x in rows), statistics.median(x[2] for x in rows)))


def drain(s):
    """Answers waiting on s (the node's own queries to a new sender, pings, do not count)."""
    n = 0
    while True:
        try:
            d = s.recv(4096)
        except BlockingIOError:
            return n
        n += b"1:y1:r" in d


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def load(pid, port, rate, secs, nsock):
    hz = os.sysconf("SC_CLK_TCK")
    socks = []
    for _ in range(nsock):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        socks.append(s)
    target = ("127.0.0.1", port)
    queries = []
    for i in range(3):
        nid = os.urandom(20)
        a = {b"id": nid}
        if i == 1:
            a[b"target"] = os.urandom(20)
        if i == 2:
            a[b"info_hash"] = os.urandom(20)
        q = [b"ping", b"find_node", b"get_peers"][i]
        queries.append(bencode({b"t": b"bq", b"y": b"q", b"q": q, b"a": a}))
    # Idle baseline first: the node's timers cost something with no traffic at all.
    c0, w0 = cpu_ticks(pid), time.monotonic()
    time.sleep(3)
    idle = (cpu_ticks(pid) - c0) / hz / (time.monotonic() - w0)
    sent = answers = 0
    c0, t0 = cpu_ticks(pid), time.monotonic()
    while time.monotonic() - t0 < secs:
        due = int((time.monotonic() - t0) * rate)
        while sent < due:
            socks[sent % nsock].sendto(queries[sent % 3], target)
            sent += 1
        r, _, _ = select.select(socks, [], [], 0.002)
        for s in r:
            answers += drain(s)
    wall = time.monotonic() - t0
    time.sleep(0.3)
    for s in socks:
        answers += drain(s)
    cpu = (cpu_ticks(pid) - c0) / hz
    busy = max(cpu - idle * wall, 1e-9)
    per = busy / max(answers, 1)
    print("load: %d queries/s offered from %d sockets for %.0f s: %d sent, %d answered "
          "(%.0f/s); downpour CPU %.2f s (idle %.4f CPU), %.1f us per answer"
          % (rate, nsock, wall, sent, answers, answers / wall, cpu, idle, per * 1e6))
    print("queries answered per second at 1%% CPU: %.0f" % (0.01 / per))


def main():
    if sys.argv[1] == "magnet":
        magnet(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
    else:
        load(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]),
             int(sys.argv[6]))


if __name__ == "__main__":
    main()
