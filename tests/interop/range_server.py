#!/usr/bin/python3
"""range_server.py: a small HTTP/1.1 file server on 127.0.0.1 with Range requests (RFC 9110
single ranges), for the web seed (BEP 19) tests.

  range_server.py ROOT --port-file F [--corrupt REL:OFFSET]... [--ignore-range]
                  [--fail-first N] [--tls CERT:KEY] [--log F]

Serves the files under ROOT (GET and HEAD; paths percent-decoded, never outside ROOT). A Range
of bytes=A-B gets 206 with Content-Range; no Range gets 200 with the whole file. --corrupt flips
the byte at OFFSET of file REL in what is sent (the file on disk stays as it is). --ignore-range
answers every request with 200 and the whole file. --fail-first N answers the first N requests
with 503 (retries must follow). --tls serves HTTPS with that certificate and key. Writes the port it listens on to --port-file; runs until SIGTERM.
Each request is logged as one line: method, path, range, status.
"""
import argparse
import os
import signal
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def note(self, status, rng):
        srv = self.server
        with srv.lock:
            srv.logf.write("%s %s %s %d\n" % (self.command, self.path, rng or "-", status))
            srv.logf.flush()

    def fail(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self):
        self.serve(False)

    def do_GET(self):
        self.serve(True)

    def serve(self, body):
        srv = self.server
        rng = self.headers.get("Range")
        with srv.lock:
            srv.count += 1
            failing = srv.count <= srv.fail_first
        if failing:
            self.note(503, rng)
            return self.fail(503)
        rel = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        path = os.path.realpath(os.path.join(srv.root, rel))
        if not path.startswith(srv.root + os.sep) or not os.path.isfile(path):
            self.note(404, rng)
            return self.fail(404)
        size = os.path.getsize(path)
        first, last, status = 0, size - 1, 200
        if rng and not srv.ignore_range:
            unit, _, spec = rng.partition("=")
            a, _, b = spec.partition("-")
            if unit.strip() != "bytes" or "," in spec or not a.isdigit():
                self.note(416, rng)
                return self.fail(416)
            first = int(a)
            last = min(int(b), size - 1) if b.isdigit() else size - 1
            if first > last:
                self.note(416, rng)
                return self.fail(416)
            status = 206
        with open(path, "rb") as f:
            f.seek(first)
            data = bytearray(f.read(last - first + 1))
        for off in srv.corrupt.get(os.path.relpath(path, srv.root), []):
            if first <= off <= last:
                data[off - first] ^= 0xFF
        self.note(status, rng)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (first, last, size))
        self.end_headers()
        if body:
            self.wfile.write(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--corrupt", action="append", default=[], metavar="REL:OFFSET")
    ap.add_argument("--ignore-range", action="store_true")
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--tls", metavar="CERT:KEY")
    ap.add_argument("--log", default="/dev/null")
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    if a.tls:
        cert, _, key = a.tls.partition(":")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.root = os.path.realpath(a.root)
    srv.corrupt = {}
    for c in a.corrupt:
        rel, _, off = c.rpartition(":")
        srv.corrupt.setdefault(rel, []).append(int(off))
    srv.ignore_range = a.ignore_range
    srv.fail_first = a.fail_first
    srv.count = 0
    srv.lock = threading.Lock()
    srv.logf = open(a.log, "a")
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
