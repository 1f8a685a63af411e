#!/bin/bash
# swarm_libtorrent.sh: downpour and libtorrent (python3-libtorrent) exchange a 64 MiB single-file
# torrent in both directions on loopback, peers found through opentracker: libtorrent seeds and
# downpour downloads (tracker over HTTP), then downpour seeds and libtorrent downloads (tracker
# over UDP). Both copies must be byte-identical. $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_init swarm_libtorrent "${1:-}"
sl_need_lt
SIZE_MIB=${DP_SWARM_MIB:-64}

sl_tracker_start
mkdir -p "$SL_W/src"
sl_make_file "$SL_W/src/payload.bin" $((SIZE_MIB * 1048576 + 12345))
"$DP" create -o "$SL_W/http.torrent" -s 262144 -t "$SL_ANNOUNCE_HTTP" "$SL_W/src/payload.bin" \
    >"$SL_W/create.log" 2>&1 || sl_fail "downpour create"
sl_retrack "$SL_W/http.torrent" "$SL_ANNOUNCE_UDP" "$SL_W/udp.torrent"
[ "$(sl_infohash "$SL_W/http.torrent")" = "$(sl_infohash "$SL_W/udp.torrent")" ] ||
    sl_fail "the UDP copy of the torrent has another info hash"
sl_tracker_allow "$SL_W/http.torrent"

# 1. libtorrent seeds, downpour finds it through the HTTP tracker.
LT_PORT=$(sl_free_port)
sl_bg lt-seed "$SL_W/lt-seed.log" /usr/bin/python3 "$SL_DIR/lt_seed.py" "$SL_W/http.torrent" \
    "$SL_W/src" --port "$LT_PORT" --ready-file "$SL_W/lt-seed.ready"
LT_PID=$SL_BG_PID
SL_WAIT_PID=$LT_PID sl_wait 120 "the libtorrent seeder to check and announce" test -f "$SL_W/lt-seed.ready"
sl_say "libtorrent seeder pid $LT_PID on 127.0.0.1:$LT_PORT, announced over HTTP"
sl_dp_get dp-get "$SL_W/http.torrent" "$SL_W/dp-out" 180
sl_same "$SL_W/src/payload.bin" "$SL_W/dp-out/payload.bin" || sl_fail "downpour's copy differs"
WALL_IN=$SL_WALL
sl_say "libtorrent -> downpour (HTTP tracker): $SIZE_MIB MiB byte-identical in $WALL_IN s"
grep -q "127.0.0.1:$LT_PORT" "$SL_W/dp-get.log" ||
    sl_say "note: downpour's log does not name the seeder's address"
sl_stop "$LT_PID" 10 || sl_fail "libtorrent seeder exited $? on SIGTERM"

# 2. downpour seeds (the copy it just downloaded), libtorrent finds it through the UDP tracker.
sl_dp_seed dp-seed "$SL_W/udp.torrent" "$SL_W/dp-out"
sl_wait 30 "downpour's announce to reach the tracker" sl_tracker_has_seeds "$SL_W/udp.torrent"
T0=$(date +%s.%N)
timeout -k 5 240 /usr/bin/python3 "$SL_DIR/lt_leech.py" "$SL_W/udp.torrent" "$SL_W/lt-out" \
    --port "$(sl_free_port)" --timeout 180 >"$SL_W/lt-leech.log" 2>&1
RC=$?
T1=$(date +%s.%N)
[ $RC -eq 0 ] || sl_fail "libtorrent leecher exited $RC"
sl_same "$SL_W/src/payload.bin" "$SL_W/lt-out/payload.bin" || sl_fail "libtorrent's copy differs"
WALL_OUT=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.2f", b - a }')
sl_say "downpour -> libtorrent (UDP tracker): $SIZE_MIB MiB byte-identical in $WALL_OUT s"
sl_stop "$SL_DP_SEED_PID" 10 || sl_fail "downpour seed exited $? on SIGTERM"
echo "PASS swarm_libtorrent: in ${WALL_IN} s, out ${WALL_OUT} s ($SIZE_MIB MiB each way)"
exit 0
