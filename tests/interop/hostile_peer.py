#!/usr/bin/python3
"""hostile_peer.py: peers that attack a downloader the way issue 11 found them to (pure Python,
standard library only, loopback only), for hostile_peers.sh.

  hostile_peer.py MODE TORRENT|INFOHASH_HEX [options]

Modes:
  unrequested  listen on --port; claim every piece, never unchoke, and send one unaligned block
               (offset 1, 16 KiB) of every piece in a loop that nobody asked for.
  flood        open --count connections from --bind to --connect HOST:PORT, complete each
               handshake (an empty bitfield after it) and stay idle until stopped.
  metaliar     listen on --port; offer ut_metadata with a wrong --size, reject every request
               and leave after --leave-after seconds.
  pex          listen on --port; offer ut_pex and send --messages PEX messages of 200 peers each
               (every --gap seconds): port 0, multicast, broadcast, 0.0.0.0, the other side's
               --self address, and the rest on 127.0.0.3 at ports where this script listens and
               counts the connections it gets (the downloader dialling what it learnt).

Each mode writes --ready-file once it listens (or has connected) and prints one summary line
"hostile: MODE key=value ..." at the end (SIGTERM/SIGINT or --timeout).
"""
import argparse
import hashlib
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bad_peer import recv_exact  # noqa: E402
from benc import bdecode, be as bencode  # noqa: E402

PSTR = b"BitTorrent protocol"
STOP = threading.Event()


def torrent_info(arg):
    """(info_hash, piece sizes) of a .torrent, or (hash, []) for a hex info-hash."""
    if len(arg) == 40 and not os.path.exists(arg):
        return bytes.fromhex(arg), []
    raw = open(arg, "rb").read()
    meta, _ = bdecode(raw)
    start = raw.index(b"4:info") + 6
    _, end = bdecode(raw, start)
    info = meta[b"info"]
    total = info.get(b"length") or sum(f[b"length"] for f in info[b"files"])
    plen = info[b"piece length"]
    n = len(info[b"pieces"]) // 20
    sizes = [plen] * (n - 1) + [total - plen * (n - 1)]
    return hashlib.sha1(raw[start:end]).digest(), sizes


def handshake(s, info_hash, ext, incoming):
    """Both handshakes; returns the other side's reserved bytes. Incoming: theirs comes first."""
    reserved = bytearray(8)
    if ext:
        reserved[5] |= 0x10
    mine = bytes([19]) + PSTR + bytes(reserved) + info_hash + b"-HP0001-" + os.urandom(6).hex().encode()
    if not incoming:
        s.sendall(mine)
    hs = recv_exact(s, 68)
    if hs[0] != 19 or hs[1:20] != PSTR or hs[28:48] != info_hash:
        raise EOFError("bad handshake")
    if incoming:
        s.sendall(mine)
    return hs[20:28]


def read_msg(s):
    (n,) = struct.unpack(">I", recv_exact(s, 4))
    if n > 1 << 20:
        raise EOFError("message of %d bytes" % n)
    return recv_exact(s, n) if n else b""


def send_ext(s, ext_id, payload):
    s.sendall(struct.pack(">IBB", 2 + len(payload), 20, ext_id) + payload)


def summary(mode, **kv):
    print("hostile: %s %s" % (mode, " ".join("%s=%s" % kv_ for kv_ in kv.items())), flush=True)


def write_ready(path):
    if path:
        with open(path + ".tmp", "w") as f:
            f.write("ready\n")
        os.rename(path + ".tmp", path)


def serve_until_stopped(a, handler):
    """Listens on 127.0.0.1:--port, writes the ready file, serves each connection on a thread
    until STOP."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(16)
    ls.settimeout(0.5)
    write_ready(a.ready_file)
    while not STOP.is_set():
        try:
            conn, addr = ls.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handler, args=(conn, addr), daemon=True).start()


# ---- unrequested ----

def mode_unrequested(a, info_hash, sizes):
    st = {"connections": 0, "blocks": 0, "closed_by_peer": 0}
    npieces = len(sizes)
    junk = os.urandom(16384)

    def serve(conn, addr):
        st["connections"] += 1
        try:
            conn.settimeout(30)
            handshake(conn, info_hash, False, True)
            bits = bytearray((npieces + 7) // 8)
            for i in range(npieces):
                bits[i // 8] |= 0x80 >> (i % 8)
            conn.sendall(struct.pack(">IB", 1 + len(bits), 5) + bits)
            print("hostile: unrequested: %s:%d connected" % addr, flush=True)
            while not STOP.is_set():
                for i in range(npieces):
                    if STOP.is_set():
                        break
                    # drain what it sends (interested, requests) without answering
                    while select.select([conn], [], [], 0)[0]:
                        if not conn.recv(65536):
                            raise EOFError
                    length = min(16384, sizes[i] - 1)
                    if length <= 0:
                        continue
                    conn.sendall(struct.pack(">IBII", 9 + length, 7, i, 1) + junk[:length])
                    st["blocks"] += 1
        except (EOFError, OSError):
            st["closed_by_peer"] += 1
        finally:
            conn.close()

    serve_until_stopped(a, serve)
    summary("unrequested", **st)


# ---- flood ----

def mode_flood(a, info_hash, sizes):
    npieces = len(sizes)
    host, port = a.connect.rsplit(":", 1)
    socks, refused = [], 0
    for _ in range(a.count):
        s = socket.socket()
        s.settimeout(10)
        try:
            s.bind((a.bind, 0))
            s.connect((host, int(port)))
            handshake(s, info_hash, False, False)
            if npieces:
                s.sendall(struct.pack(">IB", 1 + (npieces + 7) // 8, 5) + bytes((npieces + 7) // 8))
            socks.append(s)
        except (EOFError, OSError):
            refused += 1
            s.close()
    summary("flood-connected", open=len(socks), refused=refused)
    write_ready(a.ready_file)
    closed = set()
    last_keepalive = time.monotonic()
    while not STOP.is_set() and len(closed) < len(socks):
        live = [s for s in socks if s not in closed]
        r, _, _ = select.select(live, [], [], 0.5)
        for s in r:
            try:
                if not s.recv(65536):
                    closed.add(s)
            except OSError:
                closed.add(s)
        if time.monotonic() - last_keepalive > 60:
            last_keepalive = time.monotonic()
            for s in live:
                try:
                    s.sendall(bytes(4))
                except OSError:
                    closed.add(s)
    summary("flood", opened=len(socks), refused=refused, closed_by_peer=len(closed))


# ---- metaliar ----

def mode_metaliar(a, info_hash, sizes):
    st = {"connections": 0, "requests": 0, "rejects": 0}

    def serve(conn, addr):
        st["connections"] += 1
        t0 = time.monotonic()
        try:
            conn.settimeout(1)
            reserved = handshake(conn, info_hash, True, True)
            if not reserved[5] & 0x10:
                return
            send_ext(conn, 0, bencode({"m": {"ut_metadata": 3}, "metadata_size": a.size,
                                       "v": "hostile metaliar"}))
            their_id = 0
            while time.monotonic() - t0 < a.leave_after and not STOP.is_set():
                try:
                    msg = read_msg(conn)
                except socket.timeout:
                    continue
                if len(msg) < 2 or msg[0] != 20:
                    continue
                if msg[1] == 0:
                    d, _ = bdecode(msg[2:])
                    their_id = d.get(b"m", {}).get(b"ut_metadata", 0)
                elif msg[1] == 3 and their_id:
                    d, _ = bdecode(msg[2:])
                    if d.get(b"msg_type") == 0:
                        st["requests"] += 1
                        send_ext(conn, their_id, bencode({"msg_type": 2, "piece": d[b"piece"]}))
                        st["rejects"] += 1
                        print("hostile: metaliar: %s:%d: rejected a request for piece %d"
                              % (addr + (d[b"piece"],)), flush=True)
        except (EOFError, OSError):
            pass
        finally:
            conn.close()

    serve_until_stopped(a, serve)
    summary("metaliar", **st)


# ---- pex ----

def mode_pex(a, info_hash, sizes):
    st = {"connections": 0, "offered_pex": 0, "messages": 0, "dialled": 0, "dialled_ports": 0}
    lock = threading.Lock()
    ports, listeners = [], []
    for _ in range(190):
        s = socket.socket()
        s.bind(("127.0.0.3", 0))
        s.listen(4)
        s.setblocking(False)
        listeners.append(s)
        ports.append(s.getsockname()[1])
    seen_ports = set()

    def count_dials():
        while not STOP.is_set():
            r, _, _ = select.select(listeners, [], [], 0.5)
            for s in r:
                try:
                    c, _ = s.accept()
                except OSError:
                    continue
                with lock:
                    st["dialled"] += 1
                    seen_ports.add(s.getsockname()[1])
                c.close()

    threading.Thread(target=count_dials, daemon=True).start()

    def compact(ip, port):
        return socket.inet_aton(ip) + struct.pack(">H", port)

    self_host, self_port = a.self_addr.rsplit(":", 1)
    bad = [compact("127.0.0.3", 0), compact("224.0.0.1", 6881), compact("239.255.255.250", 1900),
           compact("255.255.255.255", 6881), compact("0.0.0.0", 6881),
           compact(self_host, int(self_port))]
    added = b"".join(bad) + b"".join(compact("127.0.0.3", p) for p in ports[:200 - len(bad)])

    def serve(conn, addr):
        with lock:
            st["connections"] += 1
        try:
            conn.settimeout(1)
            reserved = handshake(conn, info_hash, True, True)
            if not reserved[5] & 0x10:
                return
            send_ext(conn, 0, bencode({"m": {"ut_pex": 2}, "v": "hostile pex"}))
            their_id, sent, last = 0, 0, 0.0
            while not STOP.is_set():
                try:
                    msg = read_msg(conn)
                    if len(msg) >= 2 and msg[0] == 20 and msg[1] == 0:
                        d, _ = bdecode(msg[2:])
                        their_id = d.get(b"m", {}).get(b"ut_pex", 0)
                        with lock:
                            st["offered_pex"] += 1 if their_id else 0
                except socket.timeout:
                    pass
                if their_id and sent < a.messages and time.monotonic() - last >= a.gap:
                    last = time.monotonic()
                    send_ext(conn, their_id, bencode({"added": added,
                                                      "added.f": bytes(len(added) // 6)}))
                    sent += 1
                    with lock:
                        st["messages"] += 1
        except (EOFError, OSError):
            pass
        finally:
            conn.close()

    serve_until_stopped(a, serve)
    with lock:
        st["dialled_ports"] = len(seen_ports)
    summary("pex", **st)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["unrequested", "flood", "metaliar", "pex"])
    ap.add_argument("torrent")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--connect", default="")
    ap.add_argument("--bind", default="127.0.0.2")
    ap.add_argument("--count", type=int, default=80)
    ap.add_argument("--size", type=int, default=123456)
    ap.add_argument("--leave-after", type=float, default=5)
    ap.add_argument("--messages", type=int, default=10)
    ap.add_argument("--gap", type=float, default=0.2)
    ap.add_argument("--self-addr", default="127.0.0.1:1")
    ap.add_argument("--ready-file")
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: STOP.set())
    threading.Timer(a.timeout, STOP.set).start()
    info_hash, sizes = torrent_info(a.torrent)
    {"unrequested": mode_unrequested, "flood": mode_flood, "metaliar": mode_metaliar,
     "pex": mode_pex}[a.mode](a, info_hash, sizes)
    STOP.set()
    os._exit(0)


if __name__ == "__main__":
    main()
