#!/usr/bin/python3
"""lt_check.py TORRENT SAVE_DIR THREADS: libtorrent's own full hash check of SAVE_DIR's data for
recheck.sh (python3-libtorrent; no network: listening on a loopback port, every discovery off).
Prints "CHECK <seconds>" from the add to the end of the check (Python's start excluded), and
exits 1 unless every piece verified."""
import os
import sys
import time

import libtorrent as lt

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
import lt_common as lc  # noqa: E402


def main():
    torrent, save_dir, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    pack = lc.settings(0)
    pack["hashing_threads"] = threads
    pack["aio_threads"] = threads
    ses = lt.session(pack)
    info = lt.torrent_info(torrent)
    t0 = time.monotonic()
    h = ses.add_torrent({"ti": info, "save_path": save_dir})
    checking = (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data)
    while time.monotonic() - t0 < 600:
        st = h.status()
        if st.state not in checking and st.has_metadata and time.monotonic() - t0 > 0.05:
            break
        time.sleep(0.01)
    dt = time.monotonic() - t0
    st = h.status()
    print("CHECK %.3f pieces %d/%d" % (dt, st.num_pieces, info.num_pieces()), flush=True)
    return 0 if st.num_pieces == info.num_pieces() else 1


if __name__ == "__main__":
    sys.exit(main())
