#!/bin/bash
# magnet_downpour.sh: downpour seeds a multi-file torrent whose info dictionary spans several
# 16 KiB ut_metadata pieces; a second downpour is given only the magnet link and --peer, fetches
# the metadata (BEP 9) from the seed, then the data, byte-identical. $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_init magnet_downpour "${1:-}"

mkdir -p "$SL_W/src"
sl_make_tree "$SL_W/src/tree" 300 9
"$DP" create -o "$SL_W/t.torrent" -s 16384 "$SL_W/src/tree" >"$SL_W/create.log" 2>&1 ||
    sl_fail "downpour create"
HASH=$(sl_infohash "$SL_W/t.torrent")
MDSIZE=$("$DP" info --json "$SL_W/t.torrent" | /usr/bin/python3 -c '
import json, sys
j = json.load(sys.stdin)
print(j["piece_count"] * 20)')
[ "$MDSIZE" -gt 16384 ] || sl_fail "test torrent too small: its info dictionary fits one piece"

sl_dp_seed dp-seed "$SL_W/t.torrent" "$SL_W/src"
MAGNET="magnet:?xt=urn:btih:$HASH&dn=tree"
sl_dp_get dp-get "$MAGNET" "$SL_W/out" 90 --peer "127.0.0.1:$SL_DP_SEED_PORT"
sl_same "$SL_W/src/tree" "$SL_W/out/tree" || sl_fail "the magnet download differs"
grep -q "metadata received and verified" "$SL_W/dp-get.log" || sl_fail "no metadata line in the log"
PIECES=$(sed -n 's/.*metadata is \([0-9]*\) bytes (\([0-9]*\) pieces*).*/\2/p' "$SL_W/dp-get.log")
[ "${PIECES:-0}" -ge 2 ] || sl_fail "metadata came in ${PIECES:-0} pieces, expected several"
sl_say "downpour -> downpour magnet: metadata in $PIECES pieces, data byte-identical in $SL_WALL s"

# A magnet whose only peer does not have the torrent keeps waiting for metadata and says so.
sl_dp_conf "$SL_W/wait.conf"
timeout -k 5 4 "$DP" get --config "$SL_W/wait.conf" -o "$SL_W/none" --port "$(sl_free_port)" \
    --peer "127.0.0.1:$SL_DP_SEED_PORT" \
    "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567" >"$SL_W/wait.log" 2>&1
[ $? -eq 124 ] || sl_fail "downpour get of an unknown magnet did not keep waiting"
grep -q "fetching metadata" "$SL_W/wait.log" || sl_fail "no 'fetching metadata' state shown"

sl_stop "$SL_DP_SEED_PID" 10 || sl_fail "downpour seed exited $? on SIGTERM"
echo "PASS magnet_downpour: metadata $PIECES pieces, $SL_WALL s"
