"""lt_common.py: what lt_seed.py, lt_leech.py and lt_magnet.py share (imported, not run):
the stop signals, loopback-only trackers and peers, session settings with DHT, LSD, UPnP,
NAT-PMP and uTP off, per-torrent flags, redialing peers and the ready file.
"""
import ipaddress
import os
import signal
import sys
import urllib.parse

import libtorrent as lt

_stop_requested = False


def _on_stop_signal(*_):
    global _stop_requested
    _stop_requested = True


def install_stop_signals():
    """SIGTERM and SIGINT make stopped() true, so the caller's loop ends cleanly."""
    signal.signal(signal.SIGTERM, _on_stop_signal)
    signal.signal(signal.SIGINT, _on_stop_signal)


def stopped():
    return _stop_requested


def is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_trackers(prog, urls):
    """Exits when any tracker URL is not on loopback."""
    for u in urls:
        if not is_loopback(urllib.parse.urlsplit(u).hostname or ""):
            sys.exit("%s: refusing non-loopback tracker %s" % (prog, u))


def parse_dials(prog, connect):
    """The --connect ADDR:PORT values as (host, port); exits on one not on loopback."""
    dials = []
    for c in connect:
        host, _, port = c.rpartition(":")
        if not is_loopback(host):
            sys.exit("%s: refusing non-loopback peer %s" % (prog, c))
        dials.append((host, int(port)))
    return dials


def settings(port, tracker_alerts=True, address="127.0.0.1"):
    """Session settings: listen and connect on 127.0.0.1 (or another loopback address) only,
    DHT, LSD, UPnP, NAT-PMP and uTP off, several connections per IP (every peer is 127.0.0.1)."""
    if not is_loopback(address):
        sys.exit("lt_common: refusing the non-loopback address %s" % address)
    mask = (lt.alert.category_t.error_notification
            | lt.alert.category_t.status_notification
            | lt.alert.category_t.peer_notification)
    if tracker_alerts:
        mask |= lt.alert.category_t.tracker_notification
    return {
        "listen_interfaces": "%s:%d" % (address, port),
        "outgoing_interfaces": address,
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "enable_incoming_utp": False, "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        "stop_tracker_timeout": 1,
        "alert_mask": mask,
    }


# Settings a test may not change: everything stays on loopback, without discovery.
_FIXED = ("listen_interfaces", "outgoing_interfaces", "enable_dht", "enable_lsd",
          "enable_upnp", "enable_natpmp")


def apply_sets(prog, s, sets):
    """--set NAME=VALUE (repeatable) onto the settings dict s: booleans, integers or strings,
    e.g. enable_incoming_tcp=false (uTP only) or in_enc_policy=0 and allowed_enc_level=2
    (encrypted, RC4, only). Exits on a setting that would leave loopback."""
    for kv in sets:
        k, sep, v = kv.partition("=")
        if not sep or not k:
            sys.exit("%s: --set wants NAME=VALUE, not %s" % (prog, kv))
        if k in _FIXED:
            sys.exit("%s: refusing to change %s" % (prog, k))
        s[k] = {"true": True, "false": False}.get(
            v.lower(), int(v) if v.lstrip("-").isdigit() else v)
    return s


def set_flags(p):
    """add_torrent_params flags: no DHT, LSD or PEX for this torrent; started, not queued."""
    p.flags = (p.flags | lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd
               | lt.torrent_flags.disable_pex)
    p.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)


def dial_missing(h, dials):
    """Connects to each of dials the torrent has no connection to."""
    have = {(pi.ip[0], pi.ip[1]) for pi in h.get_peer_info()}
    for ep in dials:
        if ep not in have:
            h.connect_peer(ep, 0)


def write_ready(path, port):
    """Writes the port into path atomically (the shell scripts poll for the file)."""
    with open(path + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(path + ".tmp", path)
