#!/bin/bash
# metrics.sh: a downpour daemon with authentication, a torrent seeding through opentracker, one
# announcing to a dead tracker and one stopped; metrics_check.py scrapes /metrics and checks it
# against the RPC. $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_init metrics "${1:-}"
HERE=$(cd "$(dirname "$0")" && pwd)

sl_tracker_start
DEAD_PORT=$(sl_free_port)         # nothing listens there: every announce fails
mkdir -p "$SL_W/src" "$SL_W/dl"
sl_make_file "$SL_W/src/seeded.bin" $((2 * 1048576 + 3))
sl_make_file "$SL_W/src/missing.bin" $((1048576 + 9))
sl_make_file "$SL_W/src/idle.bin" 70000
"$DP" create -o "$SL_W/seeded.torrent" -s 65536 -t "$SL_ANNOUNCE_HTTP" "$SL_W/src/seeded.bin" >/dev/null
"$DP" create -o "$SL_W/missing.torrent" -s 65536 -t "http://127.0.0.1:$DEAD_PORT/announce" \
    "$SL_W/src/missing.bin" >/dev/null
"$DP" create -o "$SL_W/idle.torrent" -s 65536 "$SL_W/src/idle.bin" >/dev/null
sl_tracker_allow "$SL_W/seeded.torrent"

DP_RPC=$(sl_free_port)
DP_PORT=$(sl_free_port)
cat >"$SL_W/dp.conf" <<CONF
listen_address = "127.0.0.1";
listen_port = $DP_PORT;
download_dir = "$SL_W/dl";
session_dir = "$SL_W/dp-session";
# torrent-add names $SL_W/src as download-dir: RPC paths must lie under an allowed directory.
rpc = { allowed_dirs = ["$SL_W"]; };
CONF
sl_bg dp "$SL_W/dp.log" "$DP" daemon --foreground --config "$SL_W/dp.conf" --rpc \
    --rpc-port "$DP_RPC" --rpc-auth "prom:s3cret"
DP_PID=$SL_BG_PID
SL_WAIT_PID=$DP_PID sl_wait 20 "downpour RPC" sl_listening "$DP_RPC"
rpc() {
	/usr/bin/python3 - "$HERE" "$DP_RPC" "$@" >>"$SL_W/rpc.log" 2>&1 <<'PY' || sl_fail "rpc $*"
import json, sys
sys.path.insert(0, sys.argv[1])
from trpc import Rpc
print(Rpc(int(sys.argv[2]), "prom", "s3cret").ok(sys.argv[3], json.loads(sys.argv[4])))
PY
}
rpc torrent-add "{\"metainfo\": \"$(base64 -w0 "$SL_W/seeded.torrent")\", \"download-dir\": \"$SL_W/src\"}"
rpc torrent-add "{\"metainfo\": \"$(base64 -w0 "$SL_W/missing.torrent")\"}"
rpc torrent-add "{\"metainfo\": \"$(base64 -w0 "$SL_W/idle.torrent")\", \"paused\": true}"
# Until the seed has announced and the dead tracker has failed once.
announced() {
	/usr/bin/python3 - "$HERE" "$DP_RPC" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from trpc import Rpc
ts = Rpc(int(sys.argv[2]), "prom", "s3cret").torrents(["trackerStats"])["torrents"]
st = [s for t in ts for s in t["trackerStats"]]
sys.exit(0 if len(st) == 2 and all(s["hasAnnounced"] for s in st) else 1)
PY
}
SL_WAIT_PID=$DP_PID sl_wait 60 "both trackers to be announced to" announced
# A libtorrent leecher takes the seed's data from downpour (it learns downpour from the tracker
# too), so the byte counters have something to count.
sl_need_lt
LT_PORT=$(sl_free_port)
timeout 120 /usr/bin/python3 "$HERE/lt_leech.py" "$SL_W/seeded.torrent" "$SL_W/lt-out" \
    --port "$LT_PORT" --connect "127.0.0.1:$DP_PORT" >"$SL_W/lt-leech.log" 2>&1 ||
    sl_fail "the libtorrent leecher did not complete"
sl_same "$SL_W/src/seeded.bin" "$SL_W/lt-out/seeded.bin" || sl_fail "the leecher's copy differs"
sleep 3    # the rates settle to 0, so RPC and metrics read the same figures

timeout 120 /usr/bin/python3 "$HERE/metrics_check.py" "$DP_RPC" prom s3cret \
    "http://127.0.0.1:$SL_TRACKER_PORT" "http://127.0.0.1:$DEAD_PORT" >"$SL_W/check.log" 2>&1
RC=$?
cat "$SL_W/check.log"
[ $RC = 0 ] || sl_fail "the metrics differ from the RPC (above)"
echo "PASS metrics"
