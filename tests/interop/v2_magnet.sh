#!/bin/bash
# v2_magnet.sh: BitTorrent v2 magnets (BEP 52 hash requests) with libtorrent on loopback.
# libtorrent makes a v2-only and a hybrid torrent of a folder (nested folders, an empty file, odd
# sizes, one file of over 512 pieces so its layer takes two requests) and seeds each. downpour
# gets each from its magnet link alone (btmh; the hybrid's names btih and btmh): the info
# dictionary by ut_metadata, the piece layers by hash requests whose answers it checks against
# each file's pieces root, then the data, byte-identical, no piece failing. A daemon does the same
# from its watch directory (the seeder as x.pe), and the .torrent it saves in its session
# directory carries the piece layers, equal to libtorrent's. Beside peers that refuse, lie
# (v2_hash_peer.py) or stay silent, the layers still come from the seeder. A second get onto a
# finished copy checks it once the layers are in, and libtorrent's torrent files with their
# layers cut out download the same way. $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_init v2_magnet "${1:-}"
sl_need_lt

mkdir -p "$SL_W/src"
sl_make_tree "$SL_W/src/tree" 24 20261203
mkdir -p "$SL_W/src/tree/deep/er"
: >"$SL_W/src/tree/deep/er/empty"
sl_make_file "$SL_W/src/tree/deep/er/odd.bin" 100003
sl_make_file "$SL_W/src/tree/big.bin" $((600 * 32768 - 12345))   # 600 pieces: two runs

# lt_make FORMAT OUT: libtorrent's torrent of the tree with 32 KiB pieces.
lt_make() {
	/usr/bin/python3 - "$SL_W/src/tree" "$@" <<'EOF' || sl_fail "libtorrent create $1"
import os, sys, libtorrent as lt
path, fmt, out = sys.argv[1], sys.argv[2], sys.argv[3]
fs = lt.file_storage()
lt.add_files(fs, path)
ct = lt.create_torrent(fs, 32768, flags={"v2": lt.create_torrent.v2_only, "hybrid": 0}[fmt])
lt.set_piece_hashes(ct, os.path.dirname(path))
open(out, "wb").write(lt.bencode(ct.generate()))
EOF
}

# magnet_of TORRENT [PEER]: the torrent's magnet link: btmh (and btih for a hybrid), x.pe PEER.
magnet_of() {
	"$DP" info --json "$1" | /usr/bin/python3 -c '
import json, sys
i = json.load(sys.stdin)
m = "magnet:?xt=urn:btmh:1220" + i["info_hash_v2"]
if i.get("info_hash"):
    m += "&xt=urn:btih:" + i["info_hash"]
if len(sys.argv) > 1:
    m += "&x.pe=" + sys.argv[1]
print(m)' "${@:2}" || sl_fail "info $1"
}

# same_layers SAVED ORIGINAL: the saved .torrent has libtorrent's info dictionary and piece
# layers (every file longer than a piece has one).
same_layers() {
	/usr/bin/python3 - "$1" "$2" <<'EOF'
import sys, libtorrent as lt
saved = lt.bdecode(open(sys.argv[1], "rb").read())
orig = lt.bdecode(open(sys.argv[2], "rb").read())
if saved.get(b"info") != orig[b"info"]:
    sys.exit("the saved torrent has another info dictionary")
want = orig.get(b"piece layers", {})
got = saved.get(b"piece layers")
if not want:
    sys.exit("libtorrent's torrent has no piece layers to compare with")
if got != want:
    sys.exit("piece layers: %d saved, %d in libtorrent's torrent, equal: %s"
             % (len(got or {}), len(want), got == want))
print("%d piece layers" % len(got))
EOF
}

HP_PIDS=()
for fmt in v2 hybrid; do
	lt_make $fmt "$SL_W/lt-$fmt.torrent"
	LT_PORT=$(sl_free_port)
	sl_bg lt-seed-$fmt "$SL_W/lt-seed-$fmt.log" /usr/bin/python3 "$SL_DIR/lt_magnet.py" seed \
	    "$SL_W/lt-$fmt.torrent" "$SL_W/src" --port "$LT_PORT" \
	    --ready-file "$SL_W/lt-seed-$fmt.ready"
	LT_PID=$SL_BG_PID
	SL_WAIT_PID=$LT_PID sl_wait 120 "the libtorrent $fmt seeder" test -f "$SL_W/lt-seed-$fmt.ready"
	MAGNET=$(magnet_of "$SL_W/lt-$fmt.torrent")

	# 1. downpour get MAGNET --peer: nothing but the link and the seeder's address.
	sl_dp_get dp-get-$fmt "$MAGNET" "$SL_W/dp-$fmt" 180 --peer "127.0.0.1:$LT_PORT"
	sl_same "$SL_W/src/tree" "$SL_W/dp-$fmt/tree" || sl_fail "downpour's $fmt copy differs"
	LOG=$SL_W/dp-get-$fmt.log
	grep -q "metadata received and verified" "$LOG" || sl_fail "$fmt: no metadata line"
	grep -q "every piece layer is verified" "$LOG" || sl_fail "$fmt: the piece layers never came"
	grep -q "failed the hash check" "$LOG" && sl_fail "$fmt: a piece failed"
	grep -q "fail their merkle proof" "$LOG" && sl_fail "$fmt: an answer failed its proof"
	NL=$(grep -c "piece layer of '.*' verified" "$LOG")
	sl_say "libtorrent -> downpour by $fmt magnet: $NL piece layers verified, data identical" \
	    "in $SL_WALL s"
	# Again by the magnet onto the finished copy: once the metadata (and for v2-only the layers,
	# without which no piece could pass) is in, the data on disk is checked and found whole.
	LOG=$SL_W/dp-again-$fmt.log
	timeout -k 5 120 "$DP" get --config "$SL_W/dp-get-$fmt.conf" -o "$SL_W/dp-$fmt" \
	    --port "$(sl_free_port)" --peer "127.0.0.1:$LT_PORT" "$MAGNET" >"$LOG" 2>&1 ||
	    sl_fail "downpour get by $fmt magnet onto the finished copy exited $?"
	grep -q "checked: \([0-9]*\) of \1 pieces verified" "$LOG" ||
	    sl_fail "$fmt: the finished copy did not check whole: $(grep checked: "$LOG")"
	grep -q "checked: 0 of" "$LOG" && sl_fail "$fmt: checked before the layers could verify"
	if [ $fmt = v2 ]; then
		grep -q "piece layers in: checking the data already on disk" "$LOG" ||
		    sl_fail "v2: the check did not wait for the piece layers"
	fi
	sl_same "$SL_W/src/tree" "$SL_W/dp-$fmt/tree" || sl_fail "the rechecked $fmt copy differs"
	sl_say "by $fmt magnet onto the finished copy: checked whole once the hashes were known"

	# 4. libtorrent's torrent file with its piece layers cut out: they come from the seeder.
	/usr/bin/python3 - "$SL_W/lt-$fmt.torrent" "$SL_W/bare-$fmt.torrent" <<'EOF' ||
import sys, libtorrent as lt
t = lt.bdecode(open(sys.argv[1], "rb").read())
del t[b"piece layers"]
open(sys.argv[2], "wb").write(lt.bencode(t))
EOF
	    sl_fail "could not strip the piece layers"
	sl_dp_get dp-bare-$fmt "$SL_W/bare-$fmt.torrent" "$SL_W/dp-bare-$fmt" 180 \
	    --peer "127.0.0.1:$LT_PORT"
	sl_same "$SL_W/src/tree" "$SL_W/dp-bare-$fmt/tree" || sl_fail "the copy from bare-$fmt differs"
	grep -q "every piece layer is verified" "$SL_W/dp-bare-$fmt.log" ||
	    sl_fail "bare-$fmt: the layers never came"
	sl_say "libtorrent -> downpour, $fmt torrent file without piece layers: identical"

	# 3 (v2-only). Beside the seeder, three peers that claim every piece: one refuses each
	# hash request, one answers with random hashes, one never answers. Their runs go to the
	# seeder (after a refusal at once, from the silent one after 3 s: another peer could answer),
	# the liar is closed, and no piece is taken before its layer is verified.
	if [ $fmt = v2 ]; then
		H2=$("$DP" info --json "$SL_W/lt-v2.torrent" | /usr/bin/python3 -c \
		    'import json, sys; print(json.load(sys.stdin)["info_hash_v2"])') || sl_fail "info"
		# A v2-only link has no v1 info-hash to show.
		"$DP" info --json "$MAGNET" | /usr/bin/python3 -c '
import json, sys
i = json.load(sys.stdin)
sys.exit(0 if i["info_hash"] is None and i["btmh"] == "1220" + sys.argv[1] else 1)' "$H2" ||
		    sl_fail "info of the v2 magnet: $("$DP" info --json "$MAGNET")"
		BAD=()
		for mode in reject lie silent; do
			P=$(sl_free_port)
			sl_bg hp-$mode "$SL_W/hp-$mode.log" /usr/bin/python3 "$SL_DIR/v2_hash_peer.py" \
			    $mode "$H2" --port "$P" --ready-file "$SL_W/hp-$mode.ready" --timeout 300
			SL_WAIT_PID=$SL_BG_PID sl_wait 30 "the $mode peer" test -f "$SL_W/hp-$mode.ready"
			BAD+=(--peer "127.0.0.1:$P")
			HP_PIDS+=("$SL_BG_PID")
		done
		SL_DP_EXTRA_CONF='encryption = "tolerated";' sl_dp_get dp-bad "$MAGNET" \
		    "$SL_W/dp-bad" 180 "${BAD[@]}" --peer "127.0.0.1:$LT_PORT"
		sl_same "$SL_W/src/tree" "$SL_W/dp-bad/tree" || sl_fail "the copy beside bad peers differs"
		LOG=$SL_W/dp-bad.log
		grep -q "every piece layer is verified" "$LOG" || sl_fail "bad peers: no layers"
		grep -q "refused the hash request" "$LOG" || sl_fail "the rejecting peer was never asked"
		grep -q "that fail their merkle proof" "$LOG" || sl_fail "the liar was never caught"
		grep -q "did not answer the hash request" "$LOG" || sl_fail "no hash request timed out"
		grep -q "failed the hash check" "$LOG" && sl_fail "bad peers: a piece failed"
		for pid in "${HP_PIDS[@]}"; do sl_stop "$pid" 10; done
		sl_say "beside a refusing, a lying and a silent peer: $(grep -c 'refused the hash' "$LOG")" \
		    "refusals, $(grep -c 'fail their merkle proof' "$LOG") lies caught," \
		    "$(grep -c 'did not answer the hash' "$LOG") timeouts; identical in $SL_WALL s"
	fi

	# 2. A daemon from its watch directory: the session's .torrent gets the layers.
	# For v2-only a silent peer is in the link too: for the 3 s before its requests move to the
	# seeder, the fetch is a task the monitor shows with what it waits for.
	S=$SL_W/sess-$fmt
	mkdir -p "$S/watch" "$S/dl"
	XPE=
	if [ $fmt = v2 ]; then
		P=$(sl_free_port)
		sl_bg hp-silent-d "$SL_W/hp-silent-d.log" /usr/bin/python3 "$SL_DIR/v2_hash_peer.py" \
		    silent "$H2" --port "$P" --ready-file "$SL_W/hp-silent-d.ready" --timeout 300
		HP_PIDS+=("$SL_BG_PID")
		SL_WAIT_PID=$SL_BG_PID sl_wait 30 "the silent peer" test -f "$SL_W/hp-silent-d.ready"
		XPE="&x.pe=127.0.0.1:$P"
	fi
	SL_DP_EXTRA_CONF='encryption = "tolerated";' sl_dp_conf "$S/d.conf"
	sl_bg daemon-$fmt "$S/daemon.log" "$DP" daemon --foreground --config "$S/d.conf" \
	    --session "$S/s" --download-dir "$S/dl" --watch-dir "$S/watch" --port "$(sl_free_port)"
	D_PID=$SL_BG_PID
	echo "$(magnet_of "$SL_W/lt-$fmt.torrent" "127.0.0.1:$LT_PORT")$XPE" >"$S/watch/m.tmp"
	mv "$S/watch/m.tmp" "$S/watch/m.magnet"
	if [ $fmt = v2 ]; then
		SL_WAIT_PID=$D_PID sl_wait 30 "the piece-layer task in the monitor" sh -c \
		    "timeout 10 \"$DP\" monitor --session \"$S/s\" ps >\"$S/ps.out\" 2>&1 &&
		    grep -q 'waiting for the piece layer of file' \"$S/ps.out\""
		sl_say "the monitor shows: $(grep -o 'piece layers.*' "$S/ps.out" | head -n 1 | cut -c1-150)"
	fi
	SL_WAIT_PID=$D_PID sl_wait 180 "the daemon's $fmt download" \
	    grep -q "download complete" "$S/s/downpour.log"
	sl_same "$SL_W/src/tree" "$S/dl/tree" || sl_fail "the daemon's $fmt copy differs"
	grep -q "failed the hash check" "$S/s/downpour.log" && sl_fail "daemon $fmt: a piece failed"
	SAVED=$(ls "$S"/s/torrents/*.torrent 2>/dev/null | head -n 1)
	[ -n "$SAVED" ] || sl_fail "daemon $fmt: no .torrent in the session directory"
	OUT=$(same_layers "$SAVED" "$SL_W/lt-$fmt.torrent") || sl_fail "daemon $fmt: $OUT"
	sl_stop "$D_PID" 15 || sl_fail "daemon ($fmt) exited $? on SIGTERM"
	sl_say "daemon by $fmt magnet: identical; its saved .torrent has libtorrent's $OUT"
	sl_stop "$LT_PID" 10 || sl_fail "libtorrent seeder exited $? on SIGTERM"
done
echo "PASS v2_magnet: v2-only and hybrid magnets, piece layers by hash requests, saved with" \
    "the torrent"
exit 0
