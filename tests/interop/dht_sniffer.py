#!/usr/bin/python3
"""dht_sniffer.py: counts what a client sends to the DHT and to LSD, for dht_private.sh.

  dht_sniffer.py --port P --info-hash HEX --out FILE

A minimal DHT node on 127.0.0.1:P (answers ping, find_node and get_peers with its ID, an empty
node list and a token, so the client keeps it) and an LSD listener on 239.192.152.143:6771 and
[ff15::efc0:988f]:6771. FILE is rewritten every 0.2 s with DHT=, DHT_HASH=, LSD=, LSD_HASH=:
datagrams in total and those that name the info-hash (its 20 bytes in KRPC, its hex in LSD).
Loopback and the namespace's multicast only; runs until SIGTERM.
"""
import argparse
import os
import select
import socket
import struct
import sys

import lt_common as lc
from benc import bdecode, be as bencode


def lsd_socket(family, group):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if family == socket.AF_INET:
        s.bind(("0.0.0.0", 6771))
        mreq = socket.inet_aton(group) + socket.inet_aton("0.0.0.0")
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    else:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind(("::", 6771))
        mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", 0)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--info-hash", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    lc.install_stop_signals()
    ih = bytes.fromhex(a.info_hash)
    dht = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dht.bind(("127.0.0.1", a.port))
    socks = [dht, lsd_socket(socket.AF_INET, "239.192.152.143")]
    try:
        socks.append(lsd_socket(socket.AF_INET6, "ff15::efc0:988f"))
    except OSError as e:
        print("dht_sniffer: no IPv6 LSD listener: %s" % e, flush=True)
    my_id = os.urandom(20)
    n = {"DHT": 0, "DHT_HASH": 0, "LSD": 0, "LSD_HASH": 0}
    while not lc.stopped():
        r, _, _ = select.select(socks, [], [], 0.2)
        for s in r:
            data, src = s.recvfrom(4096)
            if s is dht:
                n["DHT"] += 1
                n["DHT_HASH"] += ih in data
                try:
                    m, _ = bdecode(data)
                except (ValueError, IndexError):
                    continue
                if not isinstance(m, dict) or m.get(b"y") != b"q":
                    continue
                body = {b"id": my_id}
                if m.get(b"q") in (b"find_node", b"get_peers"):
                    body[b"nodes"] = b""
                if m.get(b"q") == b"get_peers":
                    body[b"token"] = b"tok"
                dht.sendto(bencode({b"t": m.get(b"t", b""), b"y": b"r", b"r": body}), src)
            else:
                n["LSD"] += 1
                n["LSD_HASH"] += a.info_hash.lower().encode() in data.lower()
        with open(a.out + ".tmp", "w") as f:
            f.write("".join("%s=%d\n" % kv for kv in n.items()))
        os.rename(a.out + ".tmp", a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
