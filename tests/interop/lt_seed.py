#!/usr/bin/python3
"""lt_seed.py: a libtorrent (python3-libtorrent) seeder on 127.0.0.1 for the swarm tests.

  lt_seed.py TORRENT SAVE_DIR --port P [--ready-file F] [--no-tracker] [--connect ADDR:PORT]...
             [--upload-limit BYTES_PER_S]

Hash-checks SAVE_DIR (the directory holding the torrent's top-level name), then seeds until
SIGTERM/SIGINT. Writes the port into --ready-file once it is seeding and (unless --no-tracker)
a tracker has answered an announce. --connect dials a loopback peer (retried every second).
Exits 1 when the data is incomplete or libtorrent reports an error. DHT, LSD, UPnP, NAT-PMP,
PEX, uTP and the default plugins are off; trackers and peers must be loopback.
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("torrent")
    ap.add_argument("save_dir")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ready-file")
    ap.add_argument("--no-tracker", action="store_true")
    ap.add_argument("--connect", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--upload-limit", type=int, default=0)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    ti = lt.torrent_info(a.torrent)
    for t in ti.trackers():
        if not is_loopback(urllib.parse.urlsplit(t.url).hostname or ""):
            sys.exit("lt_seed: refusing non-loopback tracker %s" % t.url)
    dials = []
    for c in a.connect:
        host, _, port = c.rpartition(":")
        if not is_loopback(host):
            sys.exit("lt_seed: refusing non-loopback peer %s" % c)
        dials.append((host, int(port)))

    s = lt.high_performance_seed()
    s.update({
        "listen_interfaces": "127.0.0.1:%d" % a.port,
        "outgoing_interfaces": "127.0.0.1",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "enable_incoming_utp": False, "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        "max_allowed_in_request_queue": 20000,
        "stop_tracker_timeout": 1,
        "upload_rate_limit": a.upload_limit,
        "alert_mask": (lt.alert.category_t.error_notification
                       | lt.alert.category_t.status_notification
                       | lt.alert.category_t.tracker_notification
                       | lt.alert.category_t.peer_notification),
    })
    ses = lt.session(s, 0)
    if a.upload_limit:
        # libtorrent exempts local peers from rate limits: put every address in the global class
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        ses.set_peer_class_filter(f)
    p = lt.add_torrent_params()
    p.ti = ti
    p.save_path = a.save_dir
    p.flags = (p.flags | lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd
               | lt.torrent_flags.disable_pex)
    p.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
    h = ses.add_torrent(p)

    t0 = time.monotonic()
    announced = a.no_tracker
    ready = False
    last_kick = t0
    last_dial = 0.0
    rc = 0
    while not STOP:
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
            print("lt_seed: seeding on 127.0.0.1:%d" % a.port, flush=True)
            if a.ready_file:
                with open(a.ready_file + ".tmp", "w") as f:
                    f.write("%d\n" % a.port)
                os.rename(a.ready_file + ".tmp", a.ready_file)
        if ready and dials and time.monotonic() - last_dial >= 1.0:
            last_dial = time.monotonic()
            have = {(pi.ip[0], pi.ip[1]) for pi in h.get_peer_info()}
            for ep in dials:
                if ep not in have:
                    h.connect_peer(ep, 0)
    st = h.status()
    print("lt_seed: uploaded %d bytes" % st.total_payload_upload, flush=True)
    ses.pause()
    del ses
    return rc


if __name__ == "__main__":
    sys.exit(main())
