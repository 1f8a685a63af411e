#!/usr/bin/python3
"""harden_flood.py: holds a flood against the daemon's RPC port and its monitor and attach
sockets (issue 11, finding 7), for harden_rpc_flood.sh.

  harden_flood.py RPC_PORT SESSION_DIR IDLE SLOW SECONDS OUT

IDLE idle connections to each of the three, reopened as the daemon closes them (so the pressure
stays), and SLOW slowloris connections to the RPC and the monitor that send one byte a second and
never finish their request. Runs SECONDS, then writes OUT: how many idle connections were open
at the end, and for each slow connection how long it lived (or -1 when the daemon never closed
it). Bounded: SECONDS at most, plus a second.
"""
import os
import select
import socket
import sys
import time

port, session, idle, slow, seconds, out = (int(sys.argv[1]), sys.argv[2], int(sys.argv[3]),
                                           int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
targets = {
    "rpc": (socket.AF_INET, ("127.0.0.1", port)),
    "monitor": (socket.AF_UNIX, os.path.join(session, "monitor.sock")),
    "attach": (socket.AF_UNIX, os.path.join(session, "attach.sock")),
}


def readable(socks):
    """The sockets of socks with something to read (or closed); poll, as select() stops at
    descriptor 1024."""
    p = select.poll()
    by_fd = {}
    for s in socks:
        by_fd[s.fileno()] = s
        p.register(s, select.POLLIN)
    return [by_fd[fd] for fd, _ in p.poll(0)]


def dial(name):
    fam, addr = targets[name]
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(0.05)
    try:
        s.connect(addr)
    except OSError:
        s.close()
        return None
    s.setblocking(False)
    return s


pool = {name: [] for name in targets}
slows = []   # [socket, target, opened, closed_after or None]
start = time.monotonic()
end = start + seconds
for name in ("rpc", "monitor"):
    for _ in range(slow):
        s = dial(name)
        if s is None:
            continue
        entry = [s, name, time.monotonic(), None]
        slows.append(entry)
        try:
            s.send(b"POST /transmission/rpc HTTP/1.1\r\nX-Slow: " if name == "rpc" else b"p")
        except OSError:
            entry[3] = 0.0   # refused at once (a full server): closed, not held
            s.close()
next_byte = time.monotonic() + 1
while time.monotonic() < end:
    for name in targets:
        socks = pool[name]
        # Reopen what the daemon closed, a slice per pass so the loop stays bounded.
        for s in readable(socks):
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                socks.remove(s)
                s.close()
        for _ in range(min(20, idle - len(socks))):
            s = dial(name)
            if s is not None:
                socks.append(s)
    live = [x for x in slows if x[3] is None]
    for x in live:
        try:
            if readable([x[0]]) and not x[0].recv(4096):
                raise OSError("closed")
            if time.monotonic() >= next_byte:
                x[0].send(b"a" if x[1] == "rpc" else b"s")
        except OSError:
            x[3] = time.monotonic() - x[2]
            x[0].close()
    if time.monotonic() >= next_byte:
        next_byte += 1
    time.sleep(0.1)
with open(out + ".tmp", "w") as f:
    for name in targets:
        f.write("idle %s %d\n" % (name, len(pool[name])))
    for x in slows:
        f.write("slow %s %.1f\n" % (x[1], x[3] if x[3] is not None else -1))
os.rename(out + ".tmp", out)
