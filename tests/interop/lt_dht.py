#!/usr/bin/python3
"""lt_dht.py: a Mainline DHT of libtorrent sessions on 127.0.0.1 for the DHT interop tests.

  lt_dht.py swarm --nodes N --ready-file F [--seed TORRENT --data DIR] [--bootstrap ADDR:PORT]
      N sessions in this process, each with the DHT on (routing and search IP restrictions
      off, as loopback needs), the first the others' bootstrap node. With --seed the last one
      seeds TORRENT (it must have no tracker) from DIR and announces it to the DHT only. Once
      every node knows the others and the seed has announced, F gets "BOOT=127.0.0.1:PORT"
      and "SEED=127.0.0.1:PORT" lines. Runs until SIGTERM; prints the nodes' table sizes.
  lt_dht.py leech --bootstrap ADDR:PORT --info-hash HEX --out DIR [--timeout S]
      One session that knows only the DHT node given, adds the bare magnet and downloads it;
      exits 0 once complete (prints PEERS= with the peers it saw), 3 on timeout.

LSD, UPnP, NAT-PMP, PEX, uTP and trackers are off; every address must be loopback.
"""
import argparse
import os
import sys
import time

import libtorrent as lt  # sessions keep the default plugins: ut_metadata serves magnets

import lt_common as lc


def dht_settings(port, boot):
    s = lc.settings(port, tracker_alerts=False)
    s.update({
        "enable_dht": True,
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_ignore_dark_internet": False,
        "dht_bootstrap_nodes": boot,
        "alert_mask": s["alert_mask"] | lt.alert.category_t.dht_notification,
    })
    return s


def flags_dht_only(p):
    """Started, not queued; LSD and PEX off, the DHT on for this torrent."""
    lc.set_flags(p)
    p.flags &= ~lt.torrent_flags.disable_dht


def check_boot(prog, boot):
    host, _, _ = boot.rpartition(":")
    if not lc.is_loopback(host):
        sys.exit("%s: refusing non-loopback DHT node %s" % (prog, boot))


def swarm(a):
    if a.bootstrap:
        check_boot("lt_dht", a.bootstrap)
    sessions = []
    first = lt.session(dht_settings(0, a.bootstrap or ""))
    sessions.append(first)
    boot = "127.0.0.1:%d" % first.listen_port()
    for _ in range(a.nodes - 1):
        sessions.append(lt.session(dht_settings(0, boot)))
    # Started together, the later nodes bootstrapped off a first node that knew nobody yet and
    # would wait for a refresh: tell every node of every other at once.
    ports = [ses.listen_port() for ses in sessions]
    for ses in sessions:
        for port in ports:
            if port != ses.listen_port():
                ses.add_dht_node(("127.0.0.1", port))
    if a.bootstrap:
        first.add_dht_node(("127.0.0.1", int(a.bootstrap.rpartition(":")[2])))
    h = None
    if a.seed:
        ti = lt.torrent_info(a.seed)
        if list(ti.trackers()):
            sys.exit("lt_dht: %s has trackers; the test wants the DHT alone" % a.seed)
        p = lt.add_torrent_params()
        p.ti = ti
        p.save_path = a.data
        flags_dht_only(p)
        h = sessions[-1].add_torrent(p)
    t0 = time.monotonic()
    ready = False
    announced = h is None
    last_force = 0.0
    rc = 0
    while not lc.stopped():
        if time.monotonic() - t0 > a.timeout:
            print("lt_dht: timeout after %.0f s" % a.timeout, flush=True)
            rc = 3
            break
        time.sleep(0.1)
        for ses in sessions:
            for al in ses.pop_alerts():
                if isinstance(al, (lt.torrent_error_alert, lt.file_error_alert,
                                   lt.listen_failed_alert)):
                    print("lt_dht: %s" % al.message(), flush=True)
                    rc = 1
                elif isinstance(al, lt.dht_announce_alert):
                    # another node stored the seed's announce: it can be found
                    announced = True
                    print("lt_dht: %s" % al.message(), flush=True)
        if rc:
            break
        if ready:
            continue
        sizes = [ses.status().dht_nodes for ses in sessions]
        if min(sizes) < max(1, min(a.nodes - 2, 8)):
            continue
        if h is not None:
            st = h.status()
            if not st.is_seeding:
                continue
            if not announced and time.monotonic() - last_force > 5:
                h.force_dht_announce()
                last_force = time.monotonic()
                continue
            if not announced:
                continue
        seed_port = sessions[-1].listen_port()
        with open(a.ready_file + ".tmp", "w") as f:
            f.write("BOOT=%s\nSEED=127.0.0.1:%d\n" % (boot, seed_port))
        os.rename(a.ready_file + ".tmp", a.ready_file)
        print("lt_dht: ready after %.1f s, table sizes %s" % (time.monotonic() - t0, sizes),
              flush=True)
        ready = True
    print("lt_dht: table sizes %s" % [ses.status().dht_nodes for ses in sessions], flush=True)
    return rc


def leech(a):
    check_boot("lt_dht leech", a.bootstrap)
    ses = lt.session(dht_settings(0, a.bootstrap))
    p = lt.parse_magnet_uri("magnet:?xt=urn:btih:%s" % a.info_hash)
    p.save_path = a.out
    flags_dht_only(p)
    h = ses.add_torrent(p)
    t0 = time.monotonic()
    peers = set()
    last_force = 0.0
    while not lc.stopped():
        # libtorrent spreads its DHT announces over dht_announce_interval (15 min for one
        # torrent): ask for the lookup now, and again while nobody is found.
        if not peers and time.monotonic() - last_force > 5:
            h.force_dht_announce()
            last_force = time.monotonic()
        if time.monotonic() - t0 > a.timeout:
            print("lt_dht leech: timeout after %.0f s, peers seen %s" % (a.timeout, sorted(peers)),
                  flush=True)
            return 3
        ses.wait_for_alert(100)
        for al in ses.pop_alerts():
            if isinstance(al, (lt.torrent_error_alert, lt.file_error_alert)):
                print("lt_dht leech: %s" % al.message(), flush=True)
                return 1
        for pi in h.get_peer_info():
            peers.add("%s:%d" % (pi.ip[0], pi.ip[1]))
        st = h.status()
        if st.has_metadata and st.is_seeding:
            print("lt_dht leech: complete after %.1f s" % (time.monotonic() - t0), flush=True)
            print("PEERS=%s" % ",".join(sorted(peers)), flush=True)
            return 0
    return 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("swarm")
    s.add_argument("--nodes", type=int, default=6)
    s.add_argument("--ready-file", required=True)
    s.add_argument("--seed")
    s.add_argument("--data")
    s.add_argument("--bootstrap")
    s.add_argument("--timeout", type=float, default=900)
    l = sub.add_parser("leech")
    l.add_argument("--bootstrap", required=True)
    l.add_argument("--info-hash", required=True)
    l.add_argument("--out", required=True)
    l.add_argument("--timeout", type=float, default=180)
    a = ap.parse_args()
    lc.install_stop_signals()
    return swarm(a) if a.mode == "swarm" else leech(a)


if __name__ == "__main__":
    sys.exit(main())
