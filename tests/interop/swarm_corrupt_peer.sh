#!/bin/bash
# swarm_corrupt_peer.sh: downpour downloads a 16 MiB torrent from one good libtorrent seeder
# (found through opentracker over UDP, upload capped at 4 MiB/s) and one peer (bad_peer.py) that
# answers every request with a corrupted block. The download must complete byte-identical, the
# hash failures must be logged and the bad peer banned and not reconnected. bad_peer.py is first
# run honest, alone, to show the helper itself serves correct data. Then a slow poisoner (a
# delay before each block, 1 MiB pieces) whose blocks end up mixed into pieces the good seeder
# also serves: it alone must be banned (block-level blame), never the good seeder.
# $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
# bad_peer.py speaks plaintext TCP only: downpour tries that first (by default it opens with
# MSE, then uTP, and reached the bad peer only after libtorrent had sent everything).
SL_DP_EXTRA_CONF='encryption = "tolerated";
utp = false;'

sl_init swarm_corrupt_peer "${1:-}"
sl_need_lt
SIZE=$((16 * 1048576 + 5000))

sl_tracker_start
mkdir -p "$SL_W/src"
sl_make_file "$SL_W/src/payload.bin" $SIZE
"$DP" create -o "$SL_W/udp.torrent" -s 262144 -t "$SL_ANNOUNCE_UDP" "$SL_W/src/payload.bin" \
    >"$SL_W/create.log" 2>&1 || sl_fail "downpour create"
sl_tracker_allow "$SL_W/udp.torrent"

# 0. The helper, honest and alone, is a working seeder.
HP=$(sl_free_port)
sl_bg honest "$SL_W/honest.log" /usr/bin/python3 "$SL_DIR/bad_peer.py" --honest \
    "$SL_W/udp.torrent" "$SL_W/src" --port "$HP" --ready-file "$SL_W/honest.ready" --timeout 300
H_PID=$SL_BG_PID
SL_WAIT_PID=$H_PID sl_wait 20 "bad_peer.py --honest" test -f "$SL_W/honest.ready"
sl_dp_get dp-honest "$SL_W/udp.torrent" "$SL_W/honest-out" 120 --peer "127.0.0.1:$HP"
sl_same "$SL_W/src/payload.bin" "$SL_W/honest-out/payload.bin" || sl_fail "copy from the honest helper differs"
grep -q "failed the hash check" "$SL_W/dp-honest.log" && sl_fail "hash failures from the honest helper"
sl_stop "$H_PID" 10
sl_say "bad_peer.py --honest alone: 16 MiB identical in $SL_WALL s"

# 1. One good seeder (rate-capped so the bad peer gets its share) and one corrupting peer.
LT_PORT=$(sl_free_port)
sl_bg lt-seed "$SL_W/lt-seed.log" /usr/bin/python3 "$SL_DIR/lt_seed.py" "$SL_W/udp.torrent" \
    "$SL_W/src" --port "$LT_PORT" --ready-file "$SL_W/lt-seed.ready" --upload-limit 4194304
LT_PID=$SL_BG_PID
SL_WAIT_PID=$LT_PID sl_wait 120 "the libtorrent seeder" test -f "$SL_W/lt-seed.ready"
BP=$(sl_free_port)
sl_bg bad "$SL_W/bad.log" /usr/bin/python3 "$SL_DIR/bad_peer.py" "$SL_W/udp.torrent" "$SL_W/src" \
    --port "$BP" --ready-file "$SL_W/bad.ready" --timeout 300
B_PID=$SL_BG_PID
SL_WAIT_PID=$B_PID sl_wait 20 "bad_peer.py" test -f "$SL_W/bad.ready"
sl_say "good libtorrent seeder on :$LT_PORT (via the UDP tracker), corrupting peer on :$BP (--peer)"
sl_dp_get dp-get "$SL_W/udp.torrent" "$SL_W/dp-out" 180 --peer "127.0.0.1:$BP"
sl_same "$SL_W/src/payload.bin" "$SL_W/dp-out/payload.bin" || sl_fail "downpour's copy differs"
sl_stop "$B_PID" 10
grep -q "^bad_peer: connections=" "$SL_W/bad.log" || sl_fail "bad_peer.py printed no summary"
BLOCKS=$(sed -n 's/^bad_peer: connections=[0-9]* blocks=\([0-9]*\).*/\1/p' "$SL_W/bad.log")
CONNS=$(sed -n 's/^bad_peer: connections=\([0-9]*\).*/\1/p' "$SL_W/bad.log")
[ "${BLOCKS:-0}" -gt 0 ] || sl_fail "the bad peer sent no block: nothing was tested"
FAILS=$(grep -c "failed the hash check (" "$SL_W/dp-get.log")
[ "$FAILS" -gt 0 ] || sl_fail "no hash failure logged although $BLOCKS corrupt blocks were sent"
grep -q "banned 127.0.0.1:$BP: " "$SL_W/dp-get.log" || sl_fail "the bad peer 127.0.0.1:$BP was not banned"
grep -q "banned 127.0.0.1:$LT_PORT" "$SL_W/dp-get.log" && sl_fail "the good seeder was banned"
[ "$CONNS" -eq 1 ] || sl_fail "the bad peer was connected $CONNS times (banned peers must stay out)"
sl_say "$BLOCKS corrupt blocks sent, $FAILS pieces failed, ban: $(grep -o "banned 127.0.0.1:$BP: .*" "$SL_W/dp-get.log" | head -n 1)"
sl_say "download completed byte-identical in $SL_WALL s"

# 2. The slow poisoner: its few blocks land in pieces the good seeder fills; blaming every
# sender of a failed piece would ban the good seeder as well and stall the download.
"$DP" create -o "$SL_W/big.torrent" -s 1048576 -t "$SL_ANNOUNCE_UDP" "$SL_W/src/payload.bin" \
    >>"$SL_W/create.log" 2>&1 || sl_fail "downpour create (1 MiB pieces)"
sl_tracker_allow "$SL_W/big.torrent"
sl_stop "$LT_PID" 10 || sl_fail "libtorrent seeder exited $? on SIGTERM"
LT_PORT=$(sl_free_port)
sl_bg lt-seed2 "$SL_W/lt-seed2.log" /usr/bin/python3 "$SL_DIR/lt_seed.py" "$SL_W/big.torrent" \
    "$SL_W/src" --port "$LT_PORT" --ready-file "$SL_W/lt-seed2.ready" --upload-limit 4194304
LT_PID=$SL_BG_PID
SL_WAIT_PID=$LT_PID sl_wait 120 "the second libtorrent seeder" test -f "$SL_W/lt-seed2.ready"
BP=$(sl_free_port)
sl_bg slow "$SL_W/slow.log" /usr/bin/python3 "$SL_DIR/bad_peer.py" "$SL_W/big.torrent" \
    "$SL_W/src" --port "$BP" --ready-file "$SL_W/slow.ready" --timeout 300 --delay 0.05
B_PID=$SL_BG_PID
SL_WAIT_PID=$B_PID sl_wait 20 "bad_peer.py --delay" test -f "$SL_W/slow.ready"
sl_dp_get dp-slow "$SL_W/big.torrent" "$SL_W/slow-out" 180 --peer "127.0.0.1:$BP"
sl_same "$SL_W/src/payload.bin" "$SL_W/slow-out/payload.bin" || sl_fail "copy (slow poisoner) differs"
sl_stop "$B_PID" 10
grep -q "banned 127.0.0.1:$BP: " "$SL_W/dp-slow.log" || sl_fail "the slow poisoner was not banned"
grep -q "banned 127.0.0.1:$LT_PORT" "$SL_W/dp-slow.log" && sl_fail "the good seeder was banned"
SFAILS=$(grep -c "failed the hash check (" "$SL_W/dp-slow.log")
sl_say "slow poisoner: $SFAILS pieces failed, $(grep -o "banned 127.0.0.1:$BP: .*" "$SL_W/dp-slow.log" | head -n 1)," \
    "good seeder kept; completed in $SL_WALL s"
sl_stop "$LT_PID" 10 || sl_fail "libtorrent seeder exited $? on SIGTERM"
echo "PASS swarm_corrupt_peer: $FAILS + $SFAILS failed pieces, both bad peers banned, the good" \
    "seeder never, copies identical"
exit 0
