#!/usr/bin/python3
"""tracker6.py: a dual-stack HTTP tracker on loopback for tracker_ipv6.sh (Debian's opentracker
is built for IPv4 only). Listens on 127.0.0.1:PORT and [::1]:PORT; every announce is logged as
"ANNOUNCE family=4|6 peer_id=.. key=.. port=.. event=.." and answered compactly with the peers
it knows, IPv4 ones in "peers" and IPv6 ones in "peers6" (BEP 7), the asker left out.

  tracker6.py PORT LOGFILE
"""
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import lt_common as lc
from benc import be as bencode

PEERS = {}          # info_hash -> {(family, addr, port): peer_id}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True, encoding="latin-1")
        if u.path != "/announce" or "info_hash" not in q or "port" not in q:
            self.send_error(404)
            return
        ih = q["info_hash"][0].encode("latin-1")
        pid = q.get("peer_id", [""])[0].encode("latin-1")
        port = int(q["port"][0])
        host = self.client_address[0]
        fam = 6 if ":" in host else 4
        event = q.get("event", [""])[0]
        with open(self.server.log, "a") as f:
            f.write("ANNOUNCE family=%d peer_id=%s key=%s port=%d event=%s\n"
                    % (fam, pid[:8].decode("latin-1"), q.get("key", [""])[0], port, event))
        with LOCK:
            swarm = PEERS.setdefault(ih, {})
            me = (fam, host, port)
            if event == "stopped":
                swarm.pop(me, None)
            else:
                swarm[me] = pid
            p4 = b"".join(socket.inet_pton(socket.AF_INET, a) + pt.to_bytes(2, "big")
                          for (fa, a, pt) in swarm if fa == 4 and (fa, a, pt) != me)
            p6 = b"".join(socket.inet_pton(socket.AF_INET6, a) + pt.to_bytes(2, "big")
                          for (fa, a, pt) in swarm if fa == 6 and (fa, a, pt) != me)
        body = bencode({b"interval": 30, b"peers": p4, b"peers6": p6})
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def main():
    port, log = int(sys.argv[1]), sys.argv[2]
    lc.install_stop_signals()
    servers = [ThreadingHTTPServer(("127.0.0.1", port), Handler), Server6(("::1", port), Handler)]
    for s in servers:
        s.log = log
        threading.Thread(target=s.serve_forever, daemon=True).start()
    open(log, "a").close()
    while not lc.stopped():
        threading.Event().wait(0.2)
    for s in servers:
        s.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
