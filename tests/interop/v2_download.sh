#!/bin/bash
# v2_download.sh: BitTorrent v2 (BEP 52) transfers with libtorrent on loopback. libtorrent makes a
# v2-only and a hybrid torrent of a folder (nested folders, empty files, odd sizes) and seeds
# each; `downpour get --peer` downloads both byte-identical, verifying v2 pieces by their merkle
# roots (and hybrids by SHA-1 too), with no pad file on disk. Then `downpour seed` serves a
# hybrid and a v2-only torrent made by `downpour create`, and libtorrent leechers download them
# byte-identical; last, libtorrent joins the v2-only one by a magnet link (btmh) alone: the info
# dictionary comes by ut_metadata and the piece layers by BEP 52 hash requests that downpour
# answers; and a hybrid seeded by downpour is joined by its v2 info-hash too. $1 = the downpour
# binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
SL_DP_LOG_LEVEL=debug   # the seed logs each hash request it answers
sl_init v2_download "${1:-}"
sl_need_lt

mkdir -p "$SL_W/src"
sl_make_tree "$SL_W/src/tree" 40 20261202
mkdir -p "$SL_W/src/tree/deep/er/still"
: >"$SL_W/src/tree/deep/er/empty"
sl_make_file "$SL_W/src/tree/deep/er/still/odd.bin" 100003
BYTES=$(du -sb --apparent-size "$SL_W/src/tree" | cut -f1)

# libtorrent makes a torrent: lt_make FORMAT PIECE_SIZE OUT
lt_make() {
	/usr/bin/python3 - "$SL_W/src/tree" "$@" <<'EOF' || sl_fail "libtorrent create $1"
import os, sys, libtorrent as lt
path, fmt, ps, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
fs = lt.file_storage()
lt.add_files(fs, path)
ct = lt.create_torrent(fs, ps, flags={"v2": lt.create_torrent.v2_only, "hybrid": 0}[fmt])
lt.set_piece_hashes(ct, os.path.dirname(path))
open(out, "wb").write(lt.bencode(ct.generate()))
EOF
}

# 1. libtorrent seeds; downpour downloads the v2-only and the hybrid torrent.
for fmt in v2 hybrid; do
	lt_make $fmt 32768 "$SL_W/lt-$fmt.torrent"
	"$DP" info --json "$SL_W/lt-$fmt.torrent" >"$SL_W/info-$fmt.json" || sl_fail "info $fmt"
	grep -q "\"format\": \"$fmt\"" "$SL_W/info-$fmt.json" || sl_fail "not a $fmt torrent"
	LT_PORT=$(sl_free_port)
	sl_bg lt-seed-$fmt "$SL_W/lt-seed-$fmt.log" /usr/bin/python3 "$SL_DIR/lt_seed.py" \
	    "$SL_W/lt-$fmt.torrent" "$SL_W/src" --port "$LT_PORT" --no-tracker \
	    --ready-file "$SL_W/lt-seed-$fmt.ready"
	LT_PID=$SL_BG_PID
	SL_WAIT_PID=$LT_PID sl_wait 120 "the libtorrent $fmt seeder" test -f "$SL_W/lt-seed-$fmt.ready"
	sl_dp_get dp-get-$fmt "$SL_W/lt-$fmt.torrent" "$SL_W/dp-$fmt" 180 --peer "127.0.0.1:$LT_PORT"
	sl_same "$SL_W/src/tree" "$SL_W/dp-$fmt/tree" || sl_fail "downpour's $fmt copy differs"
	[ ! -e "$SL_W/dp-$fmt/tree/.pad" ] || sl_fail "pad files were written ($fmt)"
	grep -q "failed the hash check" "$SL_W/dp-get-$fmt.log" && sl_fail "a piece failed ($fmt)"
	sl_say "libtorrent -> downpour, $fmt: $BYTES bytes identical in $SL_WALL s"
	# Again on the finished copy: the data is checked from disk (merkle roots for v2) and found
	# whole, without a peer.
	timeout -k 5 60 "$DP" get --config "$SL_W/dp-get-$fmt.conf" -o "$SL_W/dp-$fmt" \
	    --port "$(sl_free_port)" "$SL_W/lt-$fmt.torrent" >"$SL_W/dp-again-$fmt.log" 2>&1 ||
	    sl_fail "downpour get on the finished $fmt copy exited $?"
	grep -q "checked: \([0-9]*\) of \1 pieces verified" "$SL_W/dp-again-$fmt.log" ||
	    sl_fail "the finished $fmt copy did not check whole: $(grep checked "$SL_W/dp-again-$fmt.log")"
	sl_stop "$LT_PID" 10 || sl_fail "libtorrent seeder exited $? on SIGTERM"
done

# 2. downpour seeds torrents it made itself; libtorrent downloads them.
for fmt in hybrid v2; do
	"$DP" create --format $fmt -s 65536 -o "$SL_W/dp-$fmt.torrent" "$SL_W/src/tree" \
	    >"$SL_W/create-$fmt.out" 2>&1 || sl_fail "downpour create --format $fmt"
	sl_dp_seed dp-seed-$fmt "$SL_W/dp-$fmt.torrent" "$SL_W/src"
	T0=$SECONDS
	timeout -k 5 200 /usr/bin/python3 "$SL_DIR/lt_leech.py" "$SL_W/dp-$fmt.torrent" \
	    "$SL_W/lt-out-$fmt" --port "$(sl_free_port)" --connect "127.0.0.1:$SL_DP_SEED_PORT" \
	    --timeout 180 >"$SL_W/lt-get-$fmt.log" 2>&1
	RC=$?
	[ $RC -eq 0 ] || sl_fail "libtorrent leecher ($fmt) exited $RC"
	sl_same "$SL_W/src/tree" "$SL_W/lt-out-$fmt/tree" || sl_fail "libtorrent's $fmt copy differs"
	sl_say "downpour -> libtorrent, $fmt: identical in $((SECONDS - T0)) s"
	[ $fmt = v2 ] && break
	# A hybrid is in both swarms: a peer that knows only its v2 info-hash (a btmh magnet) names
	# it by that hash, and downpour answers with the same hash. libtorrent 2.0.8 (Debian's) calls a
	# hybrid inconsistent (error 217) when a file's piece layer arrives after one of its pieces
	# passed SHA-1 but before the piece's blocks were flushed (have_piece then meant flushed;
	# fixed in 2.0.11, libtorrent commit 7f691246a): about one run in four failed so. One disk
	# thread, hashing included, finishes a piece's writes before its hash, which closes that
	# window; every piece is still checked by both hashes.
	"$DP" info --json "$SL_W/dp-hybrid.torrent" >"$SL_W/info-hybrid-dp.json" || sl_fail "info"
	H2=$(/usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["info_hash_v2"])' \
	    <"$SL_W/info-hybrid-dp.json")
	timeout -k 5 120 /usr/bin/python3 "$SL_DIR/lt_magnet.py" fetch "magnet:?xt=urn:btmh:1220$H2" \
	    "$SL_W/lt-magnet-hybrid" --port "$(sl_free_port)" --set aio_threads=1 \
	    --set hashing_threads=0 --connect "127.0.0.1:$SL_DP_SEED_PORT" --timeout 100 \
	    >"$SL_W/lt-magnet-hybrid.log" 2>&1 ||
	    sl_fail "libtorrent could not join the hybrid by its v2 info-hash ($?)"
	sl_same "$SL_W/src/tree" "$SL_W/lt-magnet-hybrid/tree" || sl_fail "hybrid magnet copy differs"
	sl_say "downpour -> libtorrent, hybrid joined by its v2 info-hash: identical"
	sl_stop "$SL_DP_SEED_PID" 10 || sl_fail "downpour seed exited $? on SIGTERM"
done

# 3. The v2 seed still runs: a magnet link of its v2 info-hash is all libtorrent gets.
"$DP" info --json "$SL_W/dp-v2.torrent" >"$SL_W/info-v2-dp.json" || sl_fail "info dp-v2"
V2HASH=$(/usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["info_hash_v2"])' \
    <"$SL_W/info-v2-dp.json")
T0=$SECONDS
timeout -k 5 120 /usr/bin/python3 "$SL_DIR/lt_magnet.py" fetch "magnet:?xt=urn:btmh:1220$V2HASH" \
    "$SL_W/lt-magnet" --port "$(sl_free_port)" --connect "127.0.0.1:$SL_DP_SEED_PORT" \
    --timeout 100 >"$SL_W/lt-magnet.log" 2>&1
RC=$?
[ $RC -eq 0 ] || sl_fail "libtorrent magnet fetch exited $RC"
sl_same "$SL_W/src/tree" "$SL_W/lt-magnet/tree" || sl_fail "libtorrent's magnet copy differs"
# libtorrent could check whole files against their roots alone: that it asked and got answers
# is in the seed's debug log.
N=$(grep -c "hash request (layer .*: answered" "$SL_W/dp-seed-v2.log")
[ "$N" -gt 0 ] || sl_fail "libtorrent's hash requests were not answered"
grep -q "hash request (layer .*: rejected" "$SL_W/dp-seed-v2.log" && sl_fail "a hash request was rejected"
sl_say "downpour -> libtorrent by magnet (metadata, then $N hash requests answered):" \
    "identical in $((SECONDS - T0)) s"
sl_stop "$SL_DP_SEED_PID" 10 || sl_fail "downpour seed exited $? on SIGTERM"
echo "PASS v2_download: v2-only and hybrid, libtorrent -> downpour and downpour -> libtorrent," \
    "and by magnet with hash requests"
exit 0
