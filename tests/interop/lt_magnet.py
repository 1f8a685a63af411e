#!/usr/bin/python3
"""lt_magnet.py: libtorrent (python3-libtorrent) on 127.0.0.1 for the magnet (BEP 9) tests.

  lt_magnet.py seed TORRENT SAVE_DIR --port P [--ready-file F]
  lt_magnet.py fetch MAGNET SAVE_DIR --port P --connect ADDR:PORT... [--timeout S]

seed: hash-checks SAVE_DIR and seeds until SIGTERM/SIGINT with libtorrent's default plugins,
so ut_metadata serves the info dictionary; writes the port to --ready-file once seeding.
fetch: adds the magnet link, dials the --connect peers, prints "lt_magnet: metadata received
(N bytes) in S s" when ut_metadata has brought the info dictionary, exits 0 once every piece is
downloaded and checked, 1 on an error, 3 on a timeout. DHT, LSD, UPnP, NAT-PMP and uTP are
off; PEX is off per torrent; trackers and peers must be loopback.
"""
import argparse
import ipaddress
import os
import signal
import sys
import time
import urllib.parse

import libtorrent as lt

STOP = False


def _stop(*_):
    global STOP
    STOP = True


def is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def settings(port):
    return {
        "listen_interfaces": "127.0.0.1:%d" % port,
        "outgoing_interfaces": "127.0.0.1",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "enable_incoming_utp": False, "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        "stop_tracker_timeout": 1,
        "alert_mask": (lt.alert.category_t.error_notification
                       | lt.alert.category_t.status_notification
                       | lt.alert.category_t.peer_notification),
    }


def check_trackers(urls):
    for u in urls:
        if not is_loopback(urllib.parse.urlsplit(u).hostname or ""):
            sys.exit("lt_magnet: refusing non-loopback tracker %s" % u)


def flags(p):
    p.flags = (p.flags | lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd
               | lt.torrent_flags.disable_pex)
    p.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)


def seed(a):
    ti = lt.torrent_info(a.source)
    check_trackers([t.url for t in ti.trackers()])
    ses = lt.session(settings(a.port))
    p = lt.add_torrent_params()
    p.ti = ti
    p.save_path = a.save_dir
    flags(p)
    h = ses.add_torrent(p)
    t0 = time.monotonic()
    ready = False
    rc = 0
    while not STOP:
        if time.monotonic() - t0 > a.timeout:
            print("lt_magnet: timeout after %.0f s" % a.timeout, flush=True)
            rc = 3
            break
        ses.wait_for_alert(100)
        for al in ses.pop_alerts():
            if isinstance(al, (lt.torrent_error_alert, lt.file_error_alert,
                               lt.listen_failed_alert)):
                print("lt_magnet: %s" % al.message(), flush=True)
                rc = 1
            elif isinstance(al, (lt.peer_error_alert, lt.peer_disconnected_alert)):
                print("lt_magnet: %s" % al.message(), flush=True)
        if rc:
            break
        st = h.status()
        if (st.state == lt.torrent_status.downloading and st.progress < 1.0
                and time.monotonic() - t0 > 1):
            print("lt_magnet: data in %s is incomplete" % a.save_dir, flush=True)
            rc = 1
            break
        if st.is_seeding and not ready:
            ready = True
            print("lt_magnet: seeding on 127.0.0.1:%d" % a.port, flush=True)
            if a.ready_file:
                with open(a.ready_file + ".tmp", "w") as f:
                    f.write("%d\n" % a.port)
                os.rename(a.ready_file + ".tmp", a.ready_file)
    st = h.status()
    print("lt_magnet: uploaded %d bytes" % st.total_payload_upload, flush=True)
    ses.pause()
    del ses
    return rc


def fetch(a):
    if not a.source.startswith("magnet:"):
        sys.exit("lt_magnet: fetch wants a magnet link")
    dials = []
    for c in a.connect:
        host, _, port = c.rpartition(":")
        if not is_loopback(host):
            sys.exit("lt_magnet: refusing non-loopback peer %s" % c)
        dials.append((host, int(port)))
    p = lt.parse_magnet_uri(a.source)
    check_trackers(list(p.trackers))
    p.save_path = a.save_dir
    flags(p)
    os.makedirs(a.save_dir, exist_ok=True)
    ses = lt.session(settings(a.port))
    h = ses.add_torrent(p)
    t0 = time.monotonic()
    last_dial = 0.0
    have_meta = False
    finished = False
    rc = 0
    while not STOP and not finished:
        if time.monotonic() - t0 > a.timeout:
            st = h.status()
            print("lt_magnet: timeout after %.0f s (metadata %s, %.1f%%)"
                  % (a.timeout, "yes" if have_meta else "no", st.progress * 100), flush=True)
            rc = 3
            break
        ses.wait_for_alert(50)
        for al in ses.pop_alerts():
            if isinstance(al, lt.metadata_received_alert):
                have_meta = True
                ti = h.torrent_file()
                print("lt_magnet: metadata received (%d bytes) in %.2f s"
                      % (ti.metadata_size(), time.monotonic() - t0), flush=True)
            elif isinstance(al, lt.metadata_failed_alert):
                print("lt_magnet: %s" % al.message(), flush=True)
                rc = 1
            elif isinstance(al, lt.torrent_finished_alert) and have_meta:
                finished = True
            elif isinstance(al, (lt.torrent_error_alert, lt.file_error_alert,
                                 lt.listen_failed_alert)):
                print("lt_magnet: %s" % al.message(), flush=True)
                rc = 1
            elif isinstance(al, (lt.peer_error_alert, lt.peer_disconnected_alert,
                                 lt.hash_failed_alert)):
                print("lt_magnet: %s" % al.message(), flush=True)
        if rc:
            break
        now = time.monotonic()
        if dials and now - last_dial >= 1.0:
            last_dial = now
            have = {(pi.ip[0], pi.ip[1]) for pi in h.get_peer_info()}
            for ep in dials:
                if ep not in have:
                    h.connect_peer(ep, 0)
    if finished:
        st = h.status()
        print("lt_magnet: done %d bytes in %.2f s" % (st.total_wanted_done,
                                                      time.monotonic() - t0), flush=True)
    elif rc == 0:
        rc = 1
    ses.pause()
    del ses
    return rc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["seed", "fetch"])
    ap.add_argument("source", help="TORRENT (seed) or MAGNET (fetch)")
    ap.add_argument("save_dir")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ready-file")
    ap.add_argument("--connect", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return seed(a) if a.mode == "seed" else fetch(a)


if __name__ == "__main__":
    sys.exit(main())
