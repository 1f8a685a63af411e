#!/usr/bin/python3
"""bad_peer.py: a minimal BitTorrent seeder (pure Python, standard library only) that answers
every request with a corrupted block, for the swarm tests. Loopback only.

  bad_peer.py TORRENT SAVE_DIR --port P [--ready-file F] [--timeout S] [--honest]
              [--delay S]

Listens on 127.0.0.1:P, claims every piece (bitfield), unchokes whoever is interested and
answers each request with the real block read from SAVE_DIR with its first byte inverted (or
unchanged with --honest, to test the helper itself), waiting --delay seconds before each block
(a slow poisoner). No extensions (reserved bytes zero).
Prints one line per connection and a summary at the end: connections, blocks sent, whether
the last connection was closed by the other side.
"""
import argparse
import hashlib
import os
import signal
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benc import bdecode  # noqa: E402

PSTR = b"BitTorrent protocol"


class Torrent:
    def __init__(self, path, save_dir):
        raw = open(path, "rb").read()
        meta, _ = bdecode(raw)
        start = raw.index(b"4:info") + 6
        _, end = bdecode(raw, start)
        self.info_hash = hashlib.sha1(raw[start:end]).digest()
        info = meta[b"info"]
        self.piece_length = info[b"piece length"]
        self.npieces = len(info[b"pieces"]) // 20
        name = info[b"name"].decode()
        self.files = []          # (path, offset, length)
        off = 0
        if b"files" in info:
            for f in info[b"files"]:
                p = os.path.join(save_dir, name, *[x.decode() for x in f[b"path"]])
                self.files.append((p, off, f[b"length"]))
                off += f[b"length"]
        else:
            self.files.append((os.path.join(save_dir, name), 0, info[b"length"]))
            off = info[b"length"]
        self.total = off

    def read(self, offset, length):
        out = bytearray()
        for p, foff, flen in self.files:
            if length == 0:
                break
            if offset >= foff + flen or foff + flen == foff:
                continue
            if offset < foff:
                break
            n = min(length, foff + flen - offset)
            with open(p, "rb") as fh:
                fh.seek(offset - foff)
                chunk = fh.read(n)
            if len(chunk) != n:
                raise IOError("short read from %s" % p)
            out += chunk
            offset += n
            length -= n
        if length:
            raise IOError("request beyond the end of the torrent")
        return bytes(out)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.connections = 0
        self.blocks = 0
        self.closed_by_peer = 0


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def serve(conn, addr, t, args, stats):
    tag = "%s:%d" % addr
    conn.settimeout(args.timeout)
    try:
        hs = recv_exact(conn, 68)
        if hs[0] != 19 or hs[1:20] != PSTR or hs[28:48] != t.info_hash:
            print("bad_peer: %s: bad handshake" % tag, flush=True)
            return
        peer_id = b"-BP0001-" + os.urandom(6).hex().encode()
        conn.sendall(bytes([19]) + PSTR + bytes(8) + t.info_hash + peer_id)
        bits = bytearray((t.npieces + 7) // 8)
        for i in range(t.npieces):
            bits[i // 8] |= 0x80 >> (i % 8)
        conn.sendall(struct.pack(">IB", 1 + len(bits), 5) + bits)
        print("bad_peer: %s: handshake done (%s)" % (tag, hs[48:68][:8].decode("latin-1")),
              flush=True)
        unchoked = False
        while True:
            (n,) = struct.unpack(">I", recv_exact(conn, 4))
            if n == 0:
                continue
            if n > 1 << 20:
                print("bad_peer: %s: message of %d bytes" % (tag, n), flush=True)
                return
            msg = recv_exact(conn, n)
            mid = msg[0]
            if mid == 2 and not unchoked:          # interested
                conn.sendall(struct.pack(">IB", 1, 1))
                unchoked = True
            elif mid == 6 and n == 13:             # request
                index, begin, length = struct.unpack(">III", msg[1:])
                if index >= t.npieces or length > 1 << 17:
                    print("bad_peer: %s: invalid request" % tag, flush=True)
                    return
                data = bytearray(t.read(index * t.piece_length + begin, length))
                if not args.honest and data:
                    data[0] ^= 0xFF
                if args.delay > 0:
                    time.sleep(args.delay)
                conn.sendall(struct.pack(">IBII", 9 + len(data), 7, index, begin) + data)
                with stats.lock:
                    stats.blocks += 1
    except EOFError:
        print("bad_peer: %s: closed by the peer" % tag, flush=True)
        with stats.lock:
            stats.closed_by_peer += 1
    except (OSError, socket.timeout) as e:
        print("bad_peer: %s: %s" % (tag, e), flush=True)
    finally:
        conn.close()


STOP = False


def _stop(*_):
    global STOP
    STOP = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("torrent")
    ap.add_argument("save_dir")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ready-file")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--honest", action="store_true")
    ap.add_argument("--delay", type=float, default=0.0)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    t = Torrent(args.torrent, args.save_dir)
    for p, _, n in t.files:
        if os.path.getsize(p) != n:
            sys.exit("bad_peer: %s has the wrong size" % p)
    stats = Stats()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(16)
    ls.settimeout(0.2)
    print("bad_peer: listening on 127.0.0.1:%d, %d pieces" % (args.port, t.npieces), flush=True)
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write("%d\n" % args.port)
        os.rename(args.ready_file + ".tmp", args.ready_file)
    t0 = time.monotonic()
    while not STOP and time.monotonic() - t0 < args.timeout:
        try:
            conn, addr = ls.accept()
        except socket.timeout:
            continue
        with stats.lock:
            stats.connections += 1
        threading.Thread(target=serve, args=(conn, addr, t, args, stats), daemon=True).start()
    ls.close()
    with stats.lock:
        print("bad_peer: connections=%d blocks=%d closed_by_peer=%d" %
              (stats.connections, stats.blocks, stats.closed_by_peer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
