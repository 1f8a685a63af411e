#!/usr/bin/python3
"""lt_netns.py: lt_seed.py or lt_leech.py bound to an address of a test's private link instead
of 127.0.0.1, for utp_lossy.sh (two network namespaces joined by a lossy, slow link of their own,
10.201.0.0/24, with no route anywhere else).

  lt_netns.py ADDRESS seed|leech ARGS...

ADDRESS (in 10.201.0.0/24) is where libtorrent listens and dials from; ARGS are lt_seed.py's or
lt_leech.py's, whose --connect peers must then be on that link too. Everything else (settings,
flags, exit codes) is theirs.
"""
import ipaddress
import sys

import lt_common as lc

LINK = ipaddress.ip_network("10.201.0.0/24")


def on_link(host):
    try:
        return ipaddress.ip_address(host) in LINK
    except ValueError:
        return False


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in ("seed", "leech"):
        sys.exit("usage: lt_netns.py ADDRESS seed|leech ARGS...")
    addr, role = sys.argv[1], sys.argv[2]
    if not on_link(addr):
        sys.exit("lt_netns: %s is not on the test link %s" % (addr, LINK))
    base_settings = lc.settings

    def settings(port, tracker_alerts=True, address=None):
        # lt_common checks the address with is_loopback, which is on_link here.
        return base_settings(port, tracker_alerts, address=addr)

    lc.settings = settings
    lc.is_loopback = on_link     # peers and trackers: on the test link only
    sys.argv = ["lt_%s.py" % role] + sys.argv[3:]
    if role == "seed":
        import lt_seed as prog
    else:
        import lt_leech as prog
    return prog.main()


if __name__ == "__main__":
    sys.exit(main())
