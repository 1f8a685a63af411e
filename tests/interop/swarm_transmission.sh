#!/bin/bash
# swarm_transmission.sh: downpour and transmission-daemon 3.00 exchange a 64 MiB single-file
# torrent in both directions on loopback through opentracker: transmission seeds and downpour
# finds it through the UDP tracker; then downpour seeds and, because Transmission never dials
# loopback peers it hears of from a tracker, downpour dials it (--peer) while both announce over
# HTTP. Both copies must be byte-identical. $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_init swarm_transmission "${1:-}"
SIZE_MIB=${DP_SWARM_MIB:-64}

sl_tracker_start
mkdir -p "$SL_W/src"
sl_make_file "$SL_W/src/payload.bin" $((SIZE_MIB * 1048576 + 777))
"$DP" create -o "$SL_W/udp.torrent" -s 524288 -t "$SL_ANNOUNCE_UDP" "$SL_W/src/payload.bin" \
    >"$SL_W/create.log" 2>&1 || sl_fail "downpour create"
sl_retrack "$SL_W/udp.torrent" "$SL_ANNOUNCE_HTTP" "$SL_W/http.torrent"
sl_tracker_allow "$SL_W/udp.torrent"

# 1. transmission seeds (UDP tracker), downpour downloads and dials it from the tracker's list.
sl_transmission_start tr-seed "$SL_W/src"
TR_SEED_PID=$SL_TR_PID
TR_SEED_PORT=$SL_TR_PORT
sl_tr -a "$SL_W/udp.torrent" -w "$SL_W/src" >>"$SL_W/tr-seed.log" 2>&1 || sl_fail "transmission-remote -a"
SL_WAIT_PID=$TR_SEED_PID sl_wait 120 "transmission to verify its data" sl_tr_done
SL_WAIT_PID=$TR_SEED_PID sl_wait 60 "transmission's announce over UDP" sl_tracker_has_seeds "$SL_W/udp.torrent"
sl_say "transmission seeds on 127.0.0.1:$TR_SEED_PORT, announced over UDP"
sl_dp_get dp-get "$SL_W/udp.torrent" "$SL_W/dp-out" 180
sl_same "$SL_W/src/payload.bin" "$SL_W/dp-out/payload.bin" || sl_fail "downpour's copy differs"
WALL_IN=$SL_WALL
sl_say "transmission -> downpour (UDP tracker): $SIZE_MIB MiB byte-identical in $WALL_IN s"
sl_stop "$TR_SEED_PID" 15 || sl_fail "transmission seeder exited $? on SIGTERM"

# 2. downpour seeds (HTTP tracker) and dials transmission, which downloads.
sl_transmission_start tr-get "$SL_W/tr-out"
TR_GET_PID=$SL_TR_PID
mkdir -p "$SL_W/tr-out"
T0=$(date +%s.%N)
sl_tr -a "$SL_W/http.torrent" -w "$SL_W/tr-out" >>"$SL_W/tr-get.log" 2>&1 || sl_fail "transmission-remote -a"
sl_dp_conf "$SL_W/dp-seed.conf"
DP_SEED_PORT=$(sl_free_port)
sl_bg dp-seed "$SL_W/dp-seed.log" "$DP" seed --config "$SL_W/dp-seed.conf" -o "$SL_W/dp-out" \
    --port "$DP_SEED_PORT" --peer "127.0.0.1:$SL_TR_PORT" "$SL_W/http.torrent"
DP_SEED_PID=$SL_BG_PID
SL_WAIT_PID=$DP_SEED_PID sl_wait 180 "transmission to complete the download" sl_tr_done
T1=$(date +%s.%N)
WALL_OUT=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.2f", b - a }')
sl_alive "$DP_SEED_PID" || sl_fail "downpour seed died"
sl_same "$SL_W/src/payload.bin" "$SL_W/tr-out/payload.bin" || sl_fail "transmission's copy differs"
sl_say "downpour -> transmission (dialled, HTTP tracker): $SIZE_MIB MiB byte-identical in $WALL_OUT s"
sl_tracker_has_seeds "$SL_W/http.torrent" || sl_fail "downpour's seed announce is not on the tracker"
sl_stop "$DP_SEED_PID" 10 || sl_fail "downpour seed exited $? on SIGTERM"
sl_stop "$TR_GET_PID" 15 || sl_fail "transmission exited $? on SIGTERM"
echo "PASS swarm_transmission: in ${WALL_IN} s, out ${WALL_OUT} s ($SIZE_MIB MiB each way;" \
    "transmission waits ~10 s before it asks)"
exit 0
