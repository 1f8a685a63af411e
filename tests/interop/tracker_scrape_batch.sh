#!/bin/bash
# tracker_scrape_batch.sh: multi-hash scrapes against Debian's opentracker on 127.0.0.1: a daemon
# with 100 torrents on one UDP tracker (whose announce replies carry no 'downloaded', so each
# torrent scrapes) asks it in at most 3 scrape requests, counted by opentracker's own stats, and
# every torrent gets its own counts from the shared reply; then 100 torrents on an HTTP tracker
# stub (BEP 48 repeated info_hash) are scraped in at most 3 requests, and the one hash the stub
# leaves out of its replies is that torrent's scrape failure; SIGTERM then ends the daemon.
# $1 = the downpour binary. The driver is tracker_scrape_batch.py.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: tracker_scrape_batch.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
command -v opentracker >/dev/null || { echo "FAIL: opentracker is not installed"; exit 1; }
W=$(mktemp -d /tmp/dp-scrape-batch.XXXXXX)
trap 'rm -rf "$W"' EXIT
timeout 300 /usr/bin/python3 "$(dirname "$0")/tracker_scrape_batch.py" "$DP" "$W"
