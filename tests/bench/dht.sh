#!/bin/bash
# dht.sh: DHT benchmark (prints figures, asserts nothing), in a network namespace of its own:
# (1) time from start to the first DHT peer, to the metadata and to completion for a bare magnet
# that only a libtorrent DHT knows (a 6-node libtorrent DHT on loopback, one node seeding);
# (2) how many KRPC queries per second downpour's DHT node answers at 1 % of one CPU (a load
# of pings, find_nodes and get_peers from many loopback sockets, CPU from /proc, idle subtracted).
# usage: tests/bench/dht.sh [build/downpour] [SIZE_MIB (64)] [RUNS (3)] [RATE (1000)]
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/interop/swarm_lib.sh"
sl_netns "$0" "$@"
sl_init dht_bench "${1:-$top/build/downpour}"
sl_need_lt
size=${2:-64}
runs=${3:-3}
rate=${4:-1000}

mkdir -p "$SL_W/data"
sl_make_file "$SL_W/data/payload.bin" $((size * 1048576))
"$DP" create -o "$SL_W/t.torrent" "$SL_W/data/payload.bin" >/dev/null 2>&1 || sl_fail "create"
HASH=$(sl_infohash "$SL_W/t.torrent")
sl_bg lt-dht "$SL_W/lt-dht.log" /usr/bin/python3 -W ignore "$SL_DIR/lt_dht.py" swarm --nodes 6 \
    --ready-file "$SL_W/lt.ready" --seed "$SL_W/t.torrent" --data "$SL_W/data" --timeout 1200
SL_WAIT_PID=$SL_BG_PID sl_wait 120 "the libtorrent DHT" test -s "$SL_W/lt.ready"
BOOT=$(sed -n 's/^BOOT=//p' "$SL_W/lt.ready")
echo "== bare magnet of $size MiB through a 6-node libtorrent DHT ($runs runs)"
/usr/bin/python3 "$top/tests/bench/dht_bench.py" magnet "$DP" "$BOOT" "$HASH" "$SL_W/out" "$runs"

echo "== KRPC load on downpour's DHT node ($rate queries/s offered)"
PORT=$(sl_free_port)
sl_bg dp "$SL_W/dp.log" "$DP" seed -o "$SL_W/data" --port "$PORT" --dht-bootstrap "$BOOT" \
    "$SL_W/t.torrent"
DPID=$SL_BG_PID
SL_WAIT_PID=$DPID sl_wait 60 "downpour seed" grep -q "checked: " "$SL_W/dp.log"
sleep 2
# 200 sockets: each stays under the per-source limit, the total under the global one.
/usr/bin/python3 "$top/tests/bench/dht_bench.py" load "$DPID" "$PORT" "$rate" 20 200
sl_stop "$DPID" 10
