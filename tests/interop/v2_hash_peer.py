#!/usr/bin/python3
"""v2_hash_peer.py: a BitTorrent v2 peer that claims every piece and answers BEP 52 hash requests
badly, for v2_magnet.sh (pure Python, standard library only, loopback only).

  v2_hash_peer.py MODE INFOHASH_V2_HEX --port P [--ready-file F] [--timeout S]

Modes (what a hash request gets):
  reject   a hash reject (23) naming the request
  lie      a hashes message (22) of the size the request calls for, every hash random
  silent   nothing at all

It listens on 127.0.0.1:P, answers the handshake of the v2 swarm (the v2 info-hash cut to 20
bytes, the v2 bit), sends HAVE_ALL (BEP 6), never unchokes, offers no extension, and prints
"v2_hash_peer: MODE connections=N requests=N answered=N" at the end (SIGTERM or --timeout).
Plaintext only: the downloader must tolerate it (encryption = "tolerated").
"""
import argparse
import os
import signal
import socket
import struct
import sys
import threading

PSTR = b"BitTorrent protocol"
STOP = threading.Event()


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        if STOP.is_set():
            raise EOFError("stopping")
        try:
            chunk = s.recv(n - len(buf))
        except socket.timeout:
            continue
        if not chunk:
            raise EOFError("closed")
        buf += chunk
    return buf


def uncles(length, proof_layers):
    """How many uncle hashes libtorrent sends for a run of length (a power of two)."""
    r = length.bit_length() - 1
    return max(0, proof_layers + 1 - r)


def serve(conn, a, ih, st, lock):
    with lock:
        st["connections"] += 1
    try:
        conn.settimeout(0.5)
        hs = recv_exact(conn, 68)
        if hs[0] != 19 or hs[1:20] != PSTR or hs[28:48] != ih:
            return
        reserved = bytearray(8)
        reserved[5] |= 0x10            # extension protocol (offered, nothing in it)
        reserved[7] |= 0x04 | 0x10     # fast extension, BitTorrent v2
        conn.sendall(bytes([19]) + PSTR + bytes(reserved) + ih + b"-V2HP01-" +
                     os.urandom(6).hex().encode())
        conn.sendall(struct.pack(">IB", 1, 14))    # HAVE_ALL
        while not STOP.is_set():
            (n,) = struct.unpack(">I", recv_exact(conn, 4))
            if n > 1 << 20:
                return
            msg = recv_exact(conn, n) if n else b""
            if not msg or msg[0] != 21 or len(msg) != 49:
                continue
            with lock:
                st["requests"] += 1
            head = msg[1:]
            _, _, length, proof = struct.unpack(">IIII", head[32:48])
            if a.mode == "reject":
                conn.sendall(struct.pack(">IB", 49, 23) + head)
            elif a.mode == "lie":
                body = os.urandom(32 * (length + uncles(length, proof)))
                conn.sendall(struct.pack(">IB", 49 + len(body), 22) + head + body)
            else:
                continue
            with lock:
                st["answered"] += 1
    except (EOFError, OSError):
        pass
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["reject", "lie", "silent"])
    ap.add_argument("info_hash_v2")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ready-file")
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    ih = bytes.fromhex(a.info_hash_v2)[:20]
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: STOP.set())
    threading.Timer(a.timeout, STOP.set).start()
    st = {"connections": 0, "requests": 0, "answered": 0}
    lock = threading.Lock()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(8)
    ls.settimeout(0.5)
    if a.ready_file:
        with open(a.ready_file + ".tmp", "w") as f:
            f.write("ready\n")
        os.rename(a.ready_file + ".tmp", a.ready_file)
    while not STOP.is_set():
        try:
            conn, _ = ls.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(conn, a, ih, st, lock), daemon=True).start()
    print("v2_hash_peer: %s %s" % (a.mode, " ".join("%s=%d" % kv for kv in st.items())),
          flush=True)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
