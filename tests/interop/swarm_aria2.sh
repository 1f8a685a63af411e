#!/bin/bash
# swarm_aria2.sh: downpour and aria2 exchange a 64 MiB single-file torrent in both directions on
# loopback through opentracker: aria2 seeds and downpour finds it through the HTTP tracker; then
# downpour seeds and aria2 finds it through the tracker. aria2 1.36 runs UDP trackers only on its
# DHT socket ("udp is not supported yet" with DHT off, and DHT stays off here), so this test
# uses the HTTP tracker both ways (the libtorrent and transmission tests cover UDP).
# Both copies must be byte-identical. $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_init swarm_aria2 "${1:-}"
sl_need aria2c aria2
SIZE_MIB=${DP_SWARM_MIB:-64}

sl_tracker_start
mkdir -p "$SL_W/src"
sl_make_file "$SL_W/src/payload.bin" $((SIZE_MIB * 1048576 - 4321))
"$DP" create -o "$SL_W/http.torrent" -s 1048576 -t "$SL_ANNOUNCE_HTTP" "$SL_W/src/payload.bin" \
    >"$SL_W/create.log" 2>&1 || sl_fail "downpour create"
sl_tracker_allow "$SL_W/http.torrent"

# 1. aria2 hash-checks and seeds (HTTP tracker); downpour downloads.
A_PORT=$(sl_free_port)
# shellcheck disable=SC2046
sl_bg aria2-seed "$SL_W/aria2-seed.log" aria2c $(sl_aria2_args) --listen-port="$A_PORT" \
    --check-integrity=true --bt-seed-unverified=false --seed-ratio=0.0 --dir="$SL_W/src" \
    "$SL_W/http.torrent"
A_PID=$SL_BG_PID
SL_WAIT_PID=$A_PID sl_wait 120 "aria2's seed announce" sl_tracker_has_seeds "$SL_W/http.torrent"
sl_say "aria2 seeds on 127.0.0.1:$A_PORT, announced over HTTP"
sl_dp_get dp-get "$SL_W/http.torrent" "$SL_W/dp-out" 180
sl_same "$SL_W/src/payload.bin" "$SL_W/dp-out/payload.bin" || sl_fail "downpour's copy differs"
WALL_IN=$SL_WALL
sl_say "aria2 -> downpour (HTTP tracker): $SIZE_MIB MiB byte-identical in $WALL_IN s"
sl_stop "$A_PID" 10
RC=$?
# aria2 exits 7 when stopped with a download it considers unfinished (a seed it was told to keep).
[ $RC -eq 0 ] || [ $RC -eq 7 ] || sl_fail "aria2 seeder exited $RC on SIGTERM"

# 2. downpour seeds (HTTP tracker), aria2 downloads and exits when complete.
sl_dp_seed dp-seed "$SL_W/http.torrent" "$SL_W/dp-out"
SL_WAIT_PID=$SL_DP_SEED_PID sl_wait 30 "downpour's seed announce over HTTP" \
    sl_tracker_has_seeds "$SL_W/http.torrent"
mkdir -p "$SL_W/aria2-out"
T0=$(date +%s.%N)
# shellcheck disable=SC2046
timeout -k 5 240 aria2c $(sl_aria2_args) --listen-port="$(sl_free_port)" --seed-time=0 \
    --dir="$SL_W/aria2-out" "$SL_W/http.torrent" >"$SL_W/aria2-get.log" 2>&1
RC=$?
T1=$(date +%s.%N)
[ $RC -eq 0 ] || sl_fail "aria2 leecher exited $RC"
sl_same "$SL_W/src/payload.bin" "$SL_W/aria2-out/payload.bin" || sl_fail "aria2's copy differs"
WALL_OUT=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.2f", b - a }')
sl_say "downpour -> aria2 (HTTP tracker): $SIZE_MIB MiB byte-identical in $WALL_OUT s"
sl_stop "$SL_DP_SEED_PID" 10 || sl_fail "downpour seed exited $? on SIGTERM"
echo "PASS swarm_aria2: in ${WALL_IN} s, out ${WALL_OUT} s ($SIZE_MIB MiB each way)"
exit 0
