#!/bin/bash
# lsd.sh: local service discovery (BEP 14, issue 14): a `downpour seed` and a `downpour get` with
# no tracker, no peer and no DHT find each other by their multicast announces and the download
# completes byte-identical; with listen_address on loopback LSD stays off. Runs in a network
# namespace of its own, where multicast is routed on loopback and nowhere else. $1 = downpour.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_netns "$0" "$@"
sl_init lsd "${1:-}"

conf() {
	cat >"$1" <<CONF
listen_address = "$2";
dht = false;
lsd = true;
session_dir = "$SL_W/session-$(basename "$1" .conf)";
log_level = "debug";
CONF
}

sl_make_tree "$SL_W/src/tree" 30 5
"$DP" create -o "$SL_W/t.torrent" -s 32768 "$SL_W/src/tree" >/dev/null 2>&1 || sl_fail "create"
conf "$SL_W/seed.conf" 0.0.0.0
conf "$SL_W/get.conf" 0.0.0.0
SEED_PORT=$(sl_free_port)
sl_bg dp-seed "$SL_W/dp-seed.log" "$DP" seed --config "$SL_W/seed.conf" -o "$SL_W/src" \
    --port "$SEED_PORT" "$SL_W/t.torrent"
SEED_PID=$SL_BG_PID
SL_WAIT_PID=$SEED_PID sl_wait 60 "downpour seed to verify its data" grep -q "checked: " "$SL_W/dp-seed.log"

t0=$(date +%s.%N)
timeout -k 5 90 "$DP" get --config "$SL_W/get.conf" -o "$SL_W/out" --port "$(sl_free_port)" \
    "$SL_W/t.torrent" >"$SL_W/dp-get.log" 2>&1
rc=$?
t1=$(date +%s.%N)
[ $rc -eq 0 ] || sl_fail "downpour get through LSD exited $rc"
sl_same "$SL_W/src/tree" "$SL_W/out/tree" || sl_fail "the download through LSD differs"
WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
sl_say "downpour found its peer through LSD and got the torrent in $WALL s, byte-identical"

# On a loopback listen address LSD stays off (it would announce an address nobody can reach).
conf "$SL_W/lo.conf" 127.0.0.1
timeout -k 5 4 "$DP" get --config "$SL_W/lo.conf" -o "$SL_W/lo" --port "$(sl_free_port)" \
    "$SL_W/t.torrent" >"$SL_W/dp-lo.log" 2>&1
grep -q "lsd: off" "$SL_W/dp-lo.log" || sl_fail "LSD did not say it is off on a loopback address"

sl_stop "$SEED_PID" 10 || sl_fail "downpour seed exited $? on SIGTERM"
echo "PASS lsd: seed and get found each other by multicast in $WALL s"
