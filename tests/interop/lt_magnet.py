#!/usr/bin/python3
"""lt_magnet.py: libtorrent (python3-libtorrent) on 127.0.0.1 for the magnet (BEP 9) tests.

  lt_magnet.py seed TORRENT SAVE_DIR --port P [--ready-file F] [--connect ADDR:PORT]...
  lt_magnet.py fetch MAGNET SAVE_DIR --port P --connect ADDR:PORT... [--timeout S]
  either takes [--set NAME=VALUE]... (libtorrent session settings, as lt_leech.py)

seed: hash-checks SAVE_DIR and seeds until SIGTERM/SIGINT with libtorrent's default plugins,
so ut_metadata serves the info dictionary; writes the port to --ready-file once seeding, and
dials the --connect peers (again every second while a connection is missing).
fetch: adds the magnet link, dials the --connect peers, prints "lt_magnet: metadata received
(N bytes) in S s" when ut_metadata has brought the info dictionary, exits 0 once every piece is
downloaded and checked, 1 on an error, 3 on a timeout. DHT, LSD, UPnP, NAT-PMP and uTP are
off; PEX is off per torrent; trackers and peers must be loopback.
"""
import argparse
import os
import sys
import time

import libtorrent as lt

import lt_common as lc


def seed(a):
    ti = lt.torrent_info(a.source)
    lc.check_trackers("lt_magnet", [t.url for t in ti.trackers()])
    dials = lc.parse_dials("lt_magnet", a.connect)
    last_dial = 0.0
    ses = lt.session(lc.apply_sets("lt_magnet", lc.settings(a.port, tracker_alerts=False), a.set))
    p = lt.add_torrent_params()
    p.ti = ti
    p.save_path = a.save_dir
    lc.set_flags(p)
    h = ses.add_torrent(p)
    t0 = time.monotonic()
    ready = False
    rc = 0
    while not lc.stopped():
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
                lc.write_ready(a.ready_file, a.port)
        if ready and dials and time.monotonic() - last_dial >= 1.0:
            last_dial = time.monotonic()
            lc.dial_missing(h, dials)
    st = h.status()
    print("lt_magnet: uploaded %d bytes" % st.total_payload_upload, flush=True)
    ses.pause()
    del ses
    return rc


def fetch(a):
    if not a.source.startswith("magnet:"):
        sys.exit("lt_magnet: fetch wants a magnet link")
    dials = lc.parse_dials("lt_magnet", a.connect)
    p = lt.parse_magnet_uri(a.source)
    lc.check_trackers("lt_magnet", list(p.trackers))
    p.save_path = a.save_dir
    lc.set_flags(p)
    os.makedirs(a.save_dir, exist_ok=True)
    ses = lt.session(lc.apply_sets("lt_magnet", lc.settings(a.port, tracker_alerts=False), a.set))
    h = ses.add_torrent(p)
    t0 = time.monotonic()
    last_dial = 0.0
    have_meta = False
    finished = False
    rc = 0
    while not lc.stopped() and not finished:
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
            lc.dial_missing(h, dials)
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
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a libtorrent session setting")
    a = ap.parse_args()
    lc.install_stop_signals()
    return seed(a) if a.mode == "seed" else fetch(a)


if __name__ == "__main__":
    sys.exit(main())
