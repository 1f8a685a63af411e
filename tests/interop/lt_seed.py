#!/usr/bin/python3
"""lt_seed.py: a libtorrent (python3-libtorrent) seeder on 127.0.0.1 for the swarm tests.

  lt_seed.py TORRENT SAVE_DIR --port P [--ready-file F] [--no-tracker] [--connect ADDR:PORT]...
             [--upload-limit BYTES_PER_S] [--set NAME=VALUE]...

Hash-checks SAVE_DIR (the directory holding the torrent's top-level name), then seeds until
SIGTERM/SIGINT. Writes the port into --ready-file once it is seeding and (unless --no-tracker)
a tracker has answered an announce. --connect dials a loopback peer (retried every second).
Exits 1 when the data is incomplete or libtorrent reports an error. DHT, LSD, UPnP, NAT-PMP,
PEX, uTP and the default plugins are off (--set changes uTP, TCP or encryption settings);
trackers and peers must be loopback.
"""
import argparse
import sys
import time

import libtorrent as lt

import lt_common as lc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("torrent")
    ap.add_argument("save_dir")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--address", default="127.0.0.1",
                    help="a loopback address to listen and connect from (127.0.0.2: a second host)")
    ap.add_argument("--ready-file")
    ap.add_argument("--no-tracker", action="store_true")
    ap.add_argument("--connect", action="append", default=[])
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a libtorrent setting (repeatable), e.g. enable_incoming_tcp=false")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--upload-limit", type=int, default=0)
    a = ap.parse_args()
    lc.install_stop_signals()

    ti = lt.torrent_info(a.torrent)
    lc.check_trackers("lt_seed", [t.url for t in ti.trackers()])
    dials = lc.parse_dials("lt_seed", a.connect)

    s = lt.high_performance_seed()
    s.update(lc.settings(a.port, address=a.address))
    s.update({
        "max_allowed_in_request_queue": 20000,
        "upload_rate_limit": a.upload_limit,
    })
    lc.apply_sets("lt_seed", s, a.set)
    ses = lt.session(s, 0)
    if a.upload_limit:
        # libtorrent exempts local peers from rate limits: put every address in the global class
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        ses.set_peer_class_filter(f)
    p = lt.add_torrent_params()
    p.ti = ti
    p.save_path = a.save_dir
    lc.set_flags(p)
    h = ses.add_torrent(p)

    t0 = time.monotonic()
    announced = a.no_tracker
    ready = False
    last_kick = t0
    last_dial = 0.0
    rc = 0
    while not lc.stopped():
        if time.monotonic() - t0 > a.timeout:
            print("lt_seed: timeout after %.0f s" % a.timeout, flush=True)
            rc = 3
            break
        ses.wait_for_alert(100)
        for al in ses.pop_alerts():
            if isinstance(al, lt.tracker_reply_alert):
                announced = True
            elif isinstance(al, (lt.torrent_error_alert, lt.file_error_alert,
                                 lt.listen_failed_alert)):
                print("lt_seed: %s" % al.message(), flush=True)
                rc = 1
            elif isinstance(al, (lt.tracker_error_alert, lt.peer_error_alert,
                                 lt.peer_disconnected_alert)):
                print("lt_seed: %s" % al.message(), flush=True)
        if rc:
            break
        st = h.status()
        if (st.state == lt.torrent_status.downloading and st.progress < 1.0
                and time.monotonic() - t0 > 1):
            print("lt_seed: data in %s is incomplete (%.1f%%)" % (a.save_dir, st.progress * 100),
                  flush=True)
            rc = 1
            break
        if st.is_seeding and not announced and time.monotonic() - last_kick > 3:
            last_kick = time.monotonic()
            h.force_reannounce()
        if st.is_seeding and announced and not ready:
            ready = True
            print("lt_seed: seeding on %s:%d" % (a.address, a.port), flush=True)
            if a.ready_file:
                lc.write_ready(a.ready_file, a.port)
        if ready and dials and time.monotonic() - last_dial >= 1.0:
            last_dial = time.monotonic()
            lc.dial_missing(h, dials)
    st = h.status()
    print("lt_seed: uploaded %d bytes" % st.total_payload_upload, flush=True)
    ses.pause()
    del ses
    return rc


if __name__ == "__main__":
    sys.exit(main())
