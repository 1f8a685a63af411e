#!/usr/bin/python3
"""lt_leech.py: a libtorrent (python3-libtorrent) leecher on 127.0.0.1 for the swarm tests.

  lt_leech.py TORRENT SAVE_DIR --port P [--connect ADDR:PORT]... [--timeout S] [--set NAME=VALUE]...

Downloads into SAVE_DIR (peers from the torrent's loopback trackers and --connect), exits 0
once every piece is downloaded and hash-checked, 1 on an error, 3 on a timeout. Prints the wall
time. DHT, LSD, UPnP, NAT-PMP, PEX, uTP and the default plugins are off (--set changes uTP,
TCP or encryption settings).
"""
import argparse
import os
import sys
import time

import libtorrent as lt

import lt_common as lc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("torrent")
    ap.add_argument("save_dir")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--connect", action="append", default=[])
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a libtorrent setting (repeatable), e.g. enable_incoming_tcp=false")
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args()
    lc.install_stop_signals()

    ti = lt.torrent_info(a.torrent)
    lc.check_trackers("lt_leech", [t.url for t in ti.trackers()])
    dials = lc.parse_dials("lt_leech", a.connect)

    ses = lt.session(lc.apply_sets("lt_leech", lc.settings(a.port), a.set), 0)
    os.makedirs(a.save_dir, exist_ok=True)
    p = lt.add_torrent_params()
    p.ti = ti
    p.save_path = a.save_dir
    lc.set_flags(p)
    h = ses.add_torrent(p)

    t0 = time.monotonic()
    last_dial = 0.0
    last_print = t0
    finished = False
    rc = 0
    while not lc.stopped() and not finished:
        if time.monotonic() - t0 > a.timeout:
            st = h.status()
            print("lt_leech: timeout after %.0f s at %.1f%%" % (a.timeout, st.progress * 100),
                  flush=True)
            rc = 3
            break
        ses.wait_for_alert(50)
        for al in ses.pop_alerts():
            if isinstance(al, lt.torrent_finished_alert):
                finished = True
            elif isinstance(al, (lt.torrent_error_alert, lt.file_error_alert,
                                 lt.listen_failed_alert)):
                print("lt_leech: %s" % al.message(), flush=True)
                rc = 1
            elif isinstance(al, (lt.tracker_error_alert, lt.peer_error_alert,
                                 lt.peer_disconnected_alert, lt.hash_failed_alert)):
                print("lt_leech: %s" % al.message(), flush=True)
        if rc:
            break
        now = time.monotonic()
        if dials and now - last_dial >= 1.0:
            last_dial = now
            lc.dial_missing(h, dials)
        if now - last_print >= 2.0:
            last_print = now
            st = h.status()
            print("lt_leech: %.1f%% peers %d down %d B/s" % (st.progress * 100, st.num_peers,
                                                              st.download_rate), flush=True)
    if finished:
        st = h.status()
        print("lt_leech: done %d bytes in %.2f s" % (st.total_wanted_done, time.monotonic() - t0),
              flush=True)
    elif rc == 0:
        rc = 1
    ses.pause()
    del ses
    return rc


if __name__ == "__main__":
    sys.exit(main())
