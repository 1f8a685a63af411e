#!/usr/bin/python3
# blocked_lab.py: loopback misbehavers for the blocked-view tests: a TCP listener that accepts and
# never answers (a hung HTTP tracker), a UDP socket that swallows datagrams (a dead UDP tracker)
# a peer that handshakes, claims every piece, then says nothing, and a monitor client that asks
# `blocked` as fast as the daemon answers until a pattern shows. Each exits by itself.
import os
import socket
import sys
import time


def write_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def silent_tcp(portfile, lifetime):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    s.settimeout(0.5)
    write_atomic(portfile, str(s.getsockname()[1]))
    held = []
    end = time.time() + lifetime
    while time.time() < end:
        try:
            c, _ = s.accept()
            held.append(c)        # hold it open, never write
        except socket.timeout:
            pass


def silent_udp(portfile, lifetime, countfile):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.5)
    write_atomic(portfile, str(s.getsockname()[1]))
    n = 0
    end = time.time() + lifetime
    while time.time() < end:
        try:
            s.recvfrom(2048)
            n += 1
            write_atomic(countfile, str(n))
        except socket.timeout:
            pass


def mute_peer(port, info_hash_hex, npieces, lifetime, statefile):
    """Dials the client, handshakes, sends a full bitfield, then only reads."""
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    pstr = b"BitTorrent protocol"
    c.sendall(bytes([len(pstr)]) + pstr + bytes(8) + bytes.fromhex(info_hash_hex) +
              b"-MU0001-" + os.urandom(12))
    got = b""
    while len(got) < 68:
        chunk = c.recv(68 - len(got))
        if not chunk:
            write_atomic(statefile, "closed before handshake")
            return
        got += chunk
    if got[28:48] != bytes.fromhex(info_hash_hex):
        write_atomic(statefile, "wrong info hash")
        return
    nbytes = (npieces + 7) // 8
    bits = bytearray(b"\xff" * nbytes)
    if npieces % 8:
        bits[-1] = (0xff << (8 - npieces % 8)) & 0xff
    c.sendall((1 + nbytes).to_bytes(4, "big") + b"\x05" + bytes(bits))
    write_atomic(statefile, "handshake done")
    c.settimeout(0.5)
    end = time.time() + lifetime
    while time.time() < end:
        try:
            if not c.recv(65536):
                write_atomic(statefile, "closed by client")
                return
        except socket.timeout:
            pass


def watch_monitor(sockpath, pattern, seconds, outfile):
    """Asks the monitor `blocked 0` over one connection, as fast as it answers, until a line
    matches pattern (exit 0, the answer saved) or the time is up (exit 1)."""
    import re
    rx = re.compile(pattern)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sockpath)
    f = s.makefile("rb")
    end = time.time() + seconds
    asked = 0
    last = []
    while time.time() < end:
        s.sendall(b"blocked 0\n")
        asked += 1
        lines = []
        for raw in f:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line == ".":
                break
            lines.append(line[1:] if line.startswith(".") else line)
        last = lines
        if any(rx.search(l) for l in lines):
            write_atomic(outfile, "\n".join(lines) + "\n# asked %d times\n" % asked)
            return 0
    write_atomic(outfile, "\n".join(last) + "\n# asked %d times, no match\n" % asked)
    return 1


def main():
    what = sys.argv[1]
    if what == "tcp":
        silent_tcp(sys.argv[2], float(sys.argv[3]))
    elif what == "udp":
        silent_udp(sys.argv[2], float(sys.argv[3]), sys.argv[4])
    elif what == "peer":
        mute_peer(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]),
                  sys.argv[6])
    elif what == "watch":
        sys.exit(watch_monitor(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]))
    else:
        sys.exit("usage: blocked_lab.py tcp|udp|peer|watch ...")


if __name__ == "__main__":
    main()
