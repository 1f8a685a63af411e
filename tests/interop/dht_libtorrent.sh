#!/bin/bash
# dht_libtorrent.sh: downpour in a Mainline DHT of libtorrent sessions (issue 14), nothing but the
# DHT to find peers: (1) libtorrent seeds a public torrent without a tracker, announced only to
# the DHT; `downpour get --dht-bootstrap` of the bare magnet finds it, fetches the metadata and the
# data, byte-identical. (2) `downpour seed --dht-bootstrap` announces a tracker-less torrent; a
# libtorrent session that knows only a DHT node finds downpour through the DHT and downloads it.
# Runs in a network namespace of its own (loopback only). $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_netns "$0" "$@"
sl_init dht_libtorrent "${1:-}"
sl_need_lt

# The DHT: six libtorrent sessions, the last one seeding torrent A.
mkdir -p "$SL_W/a" "$SL_W/b"
sl_make_tree "$SL_W/a/treeA" 40 7
"$DP" create -o "$SL_W/a.torrent" -s 32768 "$SL_W/a/treeA" >"$SL_W/create.log" 2>&1 ||
    sl_fail "downpour create A"
HASH_A=$(sl_infohash "$SL_W/a.torrent")
sl_bg lt-dht "$SL_W/lt-dht.log" /usr/bin/python3 -W ignore "$SL_DIR/lt_dht.py" swarm --nodes 6 \
    --ready-file "$SL_W/lt-dht.ready" --seed "$SL_W/a.torrent" --data "$SL_W/a" --timeout 400
LT_PID=$SL_BG_PID
SL_WAIT_PID=$LT_PID sl_wait 60 "the libtorrent DHT to form and announce the seed" \
    test -s "$SL_W/lt-dht.ready"
BOOT=$(sed -n 's/^BOOT=//p' "$SL_W/lt-dht.ready")
SEED=$(sed -n 's/^SEED=//p' "$SL_W/lt-dht.ready")
sl_say "libtorrent DHT up: bootstrap $BOOT, seed of A at $SEED"

# 1. The contract's command line: no tracker, no peer, only a DHT node.
t0=$(date +%s.%N)
timeout -k 5 120 "$DP" get -o "$SL_W/outA" --dht-bootstrap "$BOOT" "magnet:?xt=urn:btih:$HASH_A" \
    >"$SL_W/dp-get.log" 2>&1
rc=$?
t1=$(date +%s.%N)
[ $rc -eq 0 ] || sl_fail "downpour get of the bare magnet exited $rc"
sl_same "$SL_W/a/treeA" "$SL_W/outA/treeA" || sl_fail "the download through the DHT differs"
grep -q "metadata received and verified" "$SL_W/dp-get.log" || sl_fail "no metadata line"
grep -q "dht: node" "$SL_W/dp-get.log" || sl_fail "downpour's log says nothing of its DHT node"
WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
sl_say "downpour got the bare magnet through libtorrent's DHT in $WALL s, byte-identical"

# 2. downpour seeds torrent B into the DHT; a libtorrent session finds it there alone.
sl_make_tree "$SL_W/b/treeB" 30 11
"$DP" create -o "$SL_W/b.torrent" -s 32768 "$SL_W/b/treeB" >>"$SL_W/create.log" 2>&1 ||
    sl_fail "downpour create B"
HASH_B=$(sl_infohash "$SL_W/b.torrent")
SEED_PORT=$(sl_free_port)
sl_bg dp-seed "$SL_W/dp-seed.log" "$DP" seed -o "$SL_W/b" --port "$SEED_PORT" \
    --dht-bootstrap "$BOOT" "$SL_W/b.torrent"
DP_SEED_PID=$SL_BG_PID
SL_WAIT_PID=$DP_SEED_PID sl_wait 60 "downpour seed to verify B" grep -q "checked: " "$SL_W/dp-seed.log"
sl_bg lt-leech "$SL_W/lt-leech.log" /usr/bin/python3 -W ignore "$SL_DIR/lt_dht.py" leech \
    --bootstrap "$BOOT" --info-hash "$HASH_B" --out "$SL_W/outB" --timeout 150
LEECH_PID=$SL_BG_PID
SL_WAIT_PID=$LEECH_PID sl_wait 160 "libtorrent to download B through the DHT" \
    grep -q "complete after" "$SL_W/lt-leech.log"
wait "$LEECH_PID" || sl_fail "the libtorrent leech exited $?"
grep -q "PEERS=.*127.0.0.1:$SEED_PORT" "$SL_W/lt-leech.log" ||
    sl_fail "libtorrent never connected to downpour's seed on port $SEED_PORT"
sl_same "$SL_W/b/treeB" "$SL_W/outB/treeB" || sl_fail "libtorrent's copy of B differs"
sl_say "libtorrent found downpour's seed through the DHT and downloaded B byte-identical"

sl_stop "$DP_SEED_PID" 10 || sl_fail "downpour seed exited $? on SIGTERM"
sl_stop "$LT_PID" 10
echo "PASS dht_libtorrent: magnet through the DHT in $WALL s; libtorrent found downpour's seed"
