#!/bin/bash
# magnet_libtorrent.sh: magnet links (BEP 9 ut_metadata) between downpour and libtorrent
# (python3-libtorrent) on loopback: libtorrent seeds and downpour, given only the magnet, fetches
# metadata and data (1) from a direct --peer and (2) through opentracker from the magnet's tr;
# then (3) downpour seeds and libtorrent fetches the metadata from it by magnet (our serving
# side) and the data. Every copy is byte-identical. $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_init magnet_libtorrent "${1:-}"
sl_need_lt

sl_tracker_start
mkdir -p "$SL_W/src"
sl_make_tree "$SL_W/src/tree" 250 5
"$DP" create -o "$SL_W/t.torrent" -s 16384 -t "$SL_ANNOUNCE_HTTP" "$SL_W/src/tree" \
    >"$SL_W/create.log" 2>&1 || sl_fail "downpour create"
sl_tracker_allow "$SL_W/t.torrent"
HASH=$(sl_infohash "$SL_W/t.torrent")
TR=$(/usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' \
    "$SL_ANNOUNCE_HTTP")

# 1. libtorrent seeds; downpour gets the magnet with --peer.
LT_PORT=$(sl_free_port)
sl_bg lt-seed "$SL_W/lt-seed.log" /usr/bin/python3 "$SL_DIR/lt_magnet.py" seed "$SL_W/t.torrent" \
    "$SL_W/src" --port "$LT_PORT" --ready-file "$SL_W/lt-seed.ready" --timeout 300
LT_PID=$SL_BG_PID
SL_WAIT_PID=$LT_PID sl_wait 60 "the libtorrent seeder to check its data" test -f "$SL_W/lt-seed.ready"
sl_say "libtorrent seeder pid $LT_PID on 127.0.0.1:$LT_PORT"
sl_dp_get dp-peer "magnet:?xt=urn:btih:$HASH&dn=tree" "$SL_W/out-peer" 90 --peer "127.0.0.1:$LT_PORT"
sl_same "$SL_W/src/tree" "$SL_W/out-peer/tree" || sl_fail "downpour's copy (direct peer) differs"
grep -q "metadata received and verified" "$SL_W/dp-peer.log" || sl_fail "no metadata line (direct)"
sl_say "libtorrent -> downpour, magnet + --peer: byte-identical in $SL_WALL s"

# 2. The same through the tracker named by the magnet's tr (no --peer).
sl_dp_get dp-tracker "magnet:?xt=urn:btih:$HASH&dn=tree&tr=$TR" "$SL_W/out-tr" 120
sl_same "$SL_W/src/tree" "$SL_W/out-tr/tree" || sl_fail "downpour's copy (tracker) differs"
grep -q "127.0.0.1:$LT_PORT" "$SL_W/dp-tracker.log" ||
    sl_say "note: downpour's log does not name the seeder's address"
sl_say "libtorrent -> downpour, magnet + opentracker: byte-identical in $SL_WALL s"
sl_stop "$LT_PID" 10 || sl_fail "libtorrent seeder exited $? on SIGTERM"

# 3. downpour seeds; libtorrent fetches the metadata from it by magnet, then the data.
sl_dp_seed dp-seed "$SL_W/t.torrent" "$SL_W/src"
LT2_PORT=$(sl_free_port)
T0=$(date +%s.%N)
/usr/bin/python3 "$SL_DIR/lt_magnet.py" fetch "magnet:?xt=urn:btih:$HASH&dn=tree" "$SL_W/lt-out" \
    --port "$LT2_PORT" --connect "127.0.0.1:$SL_DP_SEED_PORT" --timeout 90 >"$SL_W/lt-fetch.log" 2>&1
RC=$?
T1=$(date +%s.%N)
[ $RC -eq 0 ] || sl_fail "libtorrent's magnet fetch from downpour exited $RC"
grep -q "metadata received" "$SL_W/lt-fetch.log" || sl_fail "libtorrent did not get the metadata"
sl_same "$SL_W/src/tree" "$SL_W/lt-out/tree" || sl_fail "libtorrent's copy differs"
sl_say "downpour -> libtorrent, magnet: $(grep -o 'metadata received.*' "$SL_W/lt-fetch.log"), data in $(printf '%.2f' "$(echo "$T1 - $T0" | bc)") s"
sl_stop "$SL_DP_SEED_PID" 10 || sl_fail "downpour seed exited $? on SIGTERM"
echo "PASS magnet_libtorrent"
