#!/bin/bash
# hostile_peers.sh: downpour against hostile peers (hostile_peer.py) in real downloads from a
# libtorrent seeder on loopback (issue 11, findings 1-4). Each part must end with the download
# byte-identical, only the attacker banned (never the seeder), and downpour's peak RSS bounded
# (VmHWM, printed).
#  1. unrequested: a peer that we never unchoke sends one unaligned block of every piece, in a
#     loop, that nobody asked for; first alone, then beside the seeder. Before: piece buffers for
#     every piece (RSS grew by the torrent's size) and corrupt pieces that got the honest seeder
#     banned (the download stalled).
#  2. metaliar: a peer that offers ut_metadata with a wrong size and refuses every request.
#     Before: the first size heard was kept and peers naming another skipped: the magnet stayed at
#     0 % with an honest seeder connected.
#  3. flood: idle handshaked connections from a few hosts. Before: 80 from one address filled the
#     torrent's peer limit and the seeder was refused: the download sat at 0 %.
#  4. pex: PEX messages of 200 addresses, some that cannot be peers, in a quick series; and
#     pex = false. Before: the key was not read, every address was taken and dialled.
# $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_init hostile_peers "${1:-}"
sl_need_lt
HP_PY=$SL_DIR/hostile_peer.py
# The plain build stays under 96 MiB; ASan's quarantine keeps freed piece buffers a while.
RSS_LIMIT_KB=$((96 * 1024))
[ "${DP_ASAN:-0}" = 1 ] && RSS_LIMIT_KB=$((384 * 1024))
# hp_conf FILE: a loopback downpour configuration for these tests: plaintext TCP first
# (hostile_peer.py speaks nothing else), $HP_HOST_CAP connections per address (default 16: the
# seeder and the attackers are all on 127.0.0.x), then $HP_EXTRA_CONF.
hp_conf() {
	cat >"$1" <<CONF
listen_address = "127.0.0.1";
download_dir = "$SL_W";
session_dir = "$SL_W/dp-session";
log_level = "${SL_DP_LOG_LEVEL:-info}";
encryption = "tolerated";
utp = false;
max_peers_per_address = ${HP_HOST_CAP:-16};
${HP_EXTRA_CONF:-}
CONF
}

# hp_peak_rss PID VAR: raises VAR to PID's peak RSS (VmHWM, KiB) if that is higher.
hp_peak_rss() {
	local kb
	kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
	[ -n "$kb" ] && [ "$kb" -gt "${!2}" ] && printf -v "$2" '%s' "$kb"
	return 0
}

# hp_start NAME TORRENT OUT ARGS...: `downpour get` in the background ($HP_GET_PID), on port
# $HP_PORT when set.
hp_start() {
	local name=$1 torrent=$2 out=$3
	shift 3
	hp_conf "$SL_W/$name.conf"
	mkdir -p "$out"
	"$DP" get --config "$SL_W/$name.conf" -o "$out" --port "${HP_PORT:-$(sl_free_port)}" "$@" \
	    "$torrent" >"$SL_W/$name.log" 2>&1 &
	HP_GET_PID=$!
	HP_GET_NAME=$name
}

# hp_wait SECS: until the started `downpour get` completes, its peak RSS (VmHWM) sampled into
# $HP_RSS_KB; fails unless it completes in time.
hp_wait() {
	local secs=$1 pid=$HP_GET_PID name=$HP_GET_NAME rc end
	HP_RSS_KB=0
	end=$((SECONDS + secs))
	while sl_alive "$pid" && [ $SECONDS -lt $end ]; do
		hp_peak_rss "$pid" HP_RSS_KB
		sleep 0.2
	done
	if sl_alive "$pid"; then
		sl_stop "$pid" 5
		sl_fail "downpour get ($name) did not finish in ${secs}s (peak RSS $((HP_RSS_KB / 1024)) MiB)"
	fi
	wait "$pid"
	rc=$?
	[ $rc -eq 0 ] || sl_fail "downpour get ($name) exited $rc"
	grep -q "download complete" "$SL_W/$name.log" || sl_fail "downpour get ($name): no completion line"
}

# hp_get NAME TORRENT OUT SECS ARGS...: hp_start, then hp_wait SECS.
hp_get() {
	local name=$1 torrent=$2 out=$3 secs=$4
	shift 4
	hp_start "$name" "$torrent" "$out" "$@"
	hp_wait "$secs"
}

SIZE=$((128 * 1048576 + 4321))
mkdir -p "$SL_W/src"
sl_make_file "$SL_W/src/payload.bin" $SIZE
"$DP" create -o "$SL_W/t.torrent" -s 1048576 "$SL_W/src/payload.bin" >"$SL_W/create.log" 2>&1 ||
    sl_fail "downpour create"
LT_PORT=$(sl_free_port)
sl_bg lt-seed "$SL_W/lt-seed.log" /usr/bin/python3 "$SL_DIR/lt_seed.py" "$SL_W/t.torrent" \
    "$SL_W/src" --port "$LT_PORT" --no-tracker --ready-file "$SL_W/lt-seed.ready" \
    --upload-limit 33554432
LT_PID=$SL_BG_PID
SL_WAIT_PID=$LT_PID sl_wait 120 "the libtorrent seeder" test -f "$SL_W/lt-seed.ready"
sl_say "libtorrent seeder on :$LT_PORT (32 MiB/s), 128 MiB in 1 MiB pieces"

# ---- 1. unrequested blocks ----
# 1a. The attacker alone for 8 s on a 512 MiB torrent of 16 KiB pieces (sparse zeros: only the
# attacker has "data"): nothing it sends may grow downpour's memory.
mkdir -p "$SL_W/zeros"
truncate -s 512M "$SL_W/zeros/zeros.bin"
"$DP" create -o "$SL_W/zeros.torrent" -s 16384 "$SL_W/zeros/zeros.bin" >>"$SL_W/create.log" 2>&1 ||
    sl_fail "downpour create (zeros)"
UP=$(sl_free_port)
sl_bg unrequested "$SL_W/unrequested.log" /usr/bin/python3 "$HP_PY" unrequested \
    "$SL_W/zeros.torrent" --port "$UP" --ready-file "$SL_W/unrequested.ready" --timeout 300
U_PID=$SL_BG_PID
SL_WAIT_PID=$U_PID sl_wait 20 "hostile_peer.py unrequested" test -f "$SL_W/unrequested.ready"
hp_conf "$SL_W/dp-alone.conf"
"$DP" get --config "$SL_W/dp-alone.conf" -o "$SL_W/out-alone" --port "$(sl_free_port)" \
    --peer "127.0.0.1:$UP" "$SL_W/zeros.torrent" >"$SL_W/dp-alone.log" 2>&1 &
A_PID=$!
ALONE_KB=0
for _ in $(seq 1 40); do
	hp_peak_rss "$A_PID" ALONE_KB
	sleep 0.2
done
sl_stop "$A_PID" 10
[ "$ALONE_KB" -le "$RSS_LIMIT_KB" ] ||
    sl_fail "peak RSS $((ALONE_KB / 1024)) MiB with the attacker alone (limit $((RSS_LIMIT_KB / 1024)) MiB)"
grep -q "banned 127.0.0.1:$UP: sent .* blocks .* never asked for" "$SL_W/dp-alone.log" ||
    sl_fail "the peer sending unrequested blocks was not banned (alone; peak RSS $((ALONE_KB / 1024)) MiB)"
sl_say "1a. the attacker alone for 8 s: banned, peak RSS $((ALONE_KB / 1024)) MiB"
sl_stop "$U_PID" 10
rm -rf "$SL_W/zeros" "$SL_W/out-alone"
sl_bg unrequested2 "$SL_W/unrequested.log" /usr/bin/python3 "$HP_PY" unrequested "$SL_W/t.torrent" \
    --port "$UP" --ready-file "$SL_W/unrequested2.ready" --timeout 300
U_PID=$SL_BG_PID
SL_WAIT_PID=$U_PID sl_wait 20 "hostile_peer.py unrequested" test -f "$SL_W/unrequested2.ready"
# 1b. With the seeder: the unaligned blocks must not reach its pieces.
hp_get dp-unrequested "$SL_W/t.torrent" "$SL_W/out1" 120 --peer "127.0.0.1:$UP" \
    --peer "127.0.0.1:$LT_PORT"
sl_same "$SL_W/src/payload.bin" "$SL_W/out1/payload.bin" || sl_fail "the copy differs (unrequested blocks)"
sl_stop "$U_PID" 10
grep -q "^hostile: unrequested " "$SL_W/unrequested.log" || sl_fail "hostile_peer.py printed no summary"
UBLOCKS=$(sed -n 's/^hostile: unrequested .*blocks=\([0-9]*\).*/\1/p' "$SL_W/unrequested.log")
[ "${UBLOCKS:-0}" -gt 0 ] || sl_fail "the hostile peer sent no block: nothing was tested"
grep -q "banned 127.0.0.1:$UP: sent .* blocks .* never asked for" "$SL_W/dp-unrequested.log" ||
    sl_fail "the peer sending unrequested blocks was not banned for it"
grep -q "banned 127.0.0.1:$LT_PORT" "$SL_W/dp-unrequested.log" && sl_fail "the libtorrent seeder was banned"
grep -q "failed the hash check" "$SL_W/dp-unrequested.log" && sl_fail "pieces failed: unrequested data reached them"
[ "$HP_RSS_KB" -le "$RSS_LIMIT_KB" ] ||
    sl_fail "peak RSS $((HP_RSS_KB / 1024)) MiB with unrequested blocks (limit $((RSS_LIMIT_KB / 1024)) MiB)"
sl_say "1. unrequested: $UBLOCKS blocks sent, attacker banned, seeder kept, peak RSS $((HP_RSS_KB / 1024)) MiB"

sl_stop "$LT_PID" 10 || sl_fail "libtorrent seeder exited $? on SIGTERM"
RSS1=$HP_RSS_KB

# ---- 2. a metadata-size liar ----
# It offers ut_metadata with a wrong size, refuses every request and stays 60 s. downpour hears
# it first (the honest libtorrent seeder dials in only once the liar has refused): the magnet
# must still complete from the seeder well before the liar leaves.
HASH=$(sl_infohash "$SL_W/t.torrent")
MP=$(sl_free_port)
sl_bg metaliar "$SL_W/metaliar.log" /usr/bin/python3 "$HP_PY" metaliar "$HASH" --port "$MP" \
    --size 123456 --leave-after 60 --ready-file "$SL_W/metaliar.ready" --timeout 300
M_PID=$SL_BG_PID
SL_WAIT_PID=$M_PID sl_wait 20 "hostile_peer.py metaliar" test -f "$SL_W/metaliar.ready"
HP_PORT=$(sl_free_port)
hp_start dp-magnet "magnet:?xt=urn:btih:$HASH" "$SL_W/out2" --peer "127.0.0.1:$MP"
SL_WAIT_PID=$HP_GET_PID sl_wait 30 "downpour to ask the liar for metadata" \
    grep -q "rejected a request" "$SL_W/metaliar.log"
sl_bg lt-magnet "$SL_W/lt-magnet.log" /usr/bin/python3 "$SL_DIR/lt_magnet.py" seed \
    "$SL_W/t.torrent" "$SL_W/src" --port "$(sl_free_port)" --connect "127.0.0.1:$HP_PORT" \
    --timeout 300
LTM_PID=$SL_BG_PID
hp_wait 40
HP_PORT=
sl_same "$SL_W/src/payload.bin" "$SL_W/out2/payload.bin" || sl_fail "the copy differs (metadata liar)"
grep -q "banned 127.0.0.1:.*libtorrent\|closed: banned" "$SL_W/dp-magnet.log" &&
    sl_fail "a peer was banned in the magnet download"
sl_alive "$M_PID" || sl_fail "the liar left before the download completed: it proved nothing"
sl_stop "$M_PID" 10
sl_stop "$LTM_PID" 10
sl_say "2. metadata liar (123456 bytes, refusing): metadata from the seeder, 128 MiB identical," \
    "peak RSS $((HP_RSS_KB / 1024)) MiB"

RSS2=$HP_RSS_KB

# ---- 3. one address takes every slot ----
# The default of 2 connections per address and a torrent limit of 8: five hosts (127.0.0.2-6)
# open 20 idle handshaked connections each, then the seeder dials in from 127.0.0.1. Each host
# gets 2 (the torrent is full at 8); the seeder, dialling in after the idle ones' 10 s grace, is
# let in by evicting one of them, and the download completes.
HP_PORT=$(sl_free_port)
HP_HOST_CAP=2 HP_EXTRA_CONF='max_connections_per_torrent = 8;' \
    hp_start dp-flood "$SL_W/t.torrent" "$SL_W/out3"
SL_WAIT_PID=$HP_GET_PID sl_wait 20 "downpour get to listen" grep -q "listening on port" "$SL_W/dp-flood.log"
F_PIDS=()
for h in 2 3 4 5 6; do
	sl_bg flood$h "$SL_W/flood$h.log" /usr/bin/python3 "$HP_PY" flood "$SL_W/t.torrent" \
	    --connect "127.0.0.1:$HP_PORT" --bind "127.0.0.$h" --count 20 \
	    --ready-file "$SL_W/flood$h.ready" --timeout 300
	F_PIDS+=("$SL_BG_PID")
	SL_WAIT_PID=$SL_BG_PID sl_wait 60 "flood from 127.0.0.$h" test -f "$SL_W/flood$h.ready"
done
OPEN=0
for h in 2 3 4 5 6; do
	n=$(sed -n 's/^hostile: flood-connected open=\([0-9]*\).*/\1/p' "$SL_W/flood$h.log")
	[ "${n:-99}" -le 2 ] || sl_fail "127.0.0.$h got ${n:-?} connections (max_peers_per_address 2)"
	OPEN=$((OPEN + n))
done
[ "$OPEN" -le 8 ] || sl_fail "$OPEN flood connections accepted (the torrent's limit is 8)"
# A newcomer may take the place of a connection that has been of no use past its 10 s grace.
sleep 11
sl_bg lt-seed3 "$SL_W/lt-seed3.log" /usr/bin/python3 "$SL_DIR/lt_seed.py" "$SL_W/t.torrent" \
    "$SL_W/src" --port "$(sl_free_port)" --no-tracker --connect "127.0.0.1:$HP_PORT" \
    --upload-limit 33554432
LT3_PID=$SL_BG_PID
hp_wait 60
HP_PORT=
sl_same "$SL_W/src/payload.bin" "$SL_W/out3/payload.bin" || sl_fail "the copy differs (flood)"
grep -q "closed: evicted: no use to us" "$SL_W/dp-flood.log" || sl_fail "no idle connection was evicted"
grep -q "banned" "$SL_W/dp-flood.log" && sl_fail "a peer was banned in the flood test"
for p in "${F_PIDS[@]}"; do sl_stop "$p" 10; done
sl_stop "$LT3_PID" 10
sl_say "3. flood: 100 connections from 5 hosts, $OPEN accepted (2 each, 8 in all), one evicted for" \
    "the seeder; identical, peak RSS $((HP_RSS_KB / 1024)) MiB"

RSS3=$HP_RSS_KB

# ---- 4. PEX floods and addresses that cannot be peers ----
# A peer sends 10 PEX messages of 200 addresses, 0.2 s apart: port 0, multicast, broadcast,
# 0.0.0.0, downpour's own listening address, and 194 ports on 127.0.0.3 where it counts the
# connections it gets. One message is heeded (the rest come too soon), and of it 50 addresses;
# none that cannot be a peer is dialled. With pex = false downpour does not even offer ut_pex.
sl_bg lt-seed4 "$SL_W/lt-seed4.log" /usr/bin/python3 "$SL_DIR/lt_seed.py" "$SL_W/t.torrent" \
    "$SL_W/src" --port "$LT_PORT" --no-tracker --ready-file "$SL_W/lt-seed4.ready" \
    --upload-limit 16777216
LT4_PID=$SL_BG_PID
SL_WAIT_PID=$LT4_PID sl_wait 120 "the libtorrent seeder (part 4)" test -f "$SL_W/lt-seed4.ready"
for mode in on off; do
	PP=$(sl_free_port)
	HP_PORT=$(sl_free_port)
	OWN=$HP_PORT
	sl_bg pex-$mode "$SL_W/pex-$mode.log" /usr/bin/python3 "$HP_PY" pex "$SL_W/t.torrent" \
	    --port "$PP" --self-addr "127.0.0.1:$HP_PORT" --messages 10 --gap 0.2 \
	    --ready-file "$SL_W/pex-$mode.ready" --timeout 300
	P_PID=$SL_BG_PID
	SL_WAIT_PID=$P_PID sl_wait 20 "hostile_peer.py pex" test -f "$SL_W/pex-$mode.ready"
	extra=
	[ $mode = off ] && extra='pex = false;'
	# 300 per address: only the PEX caps may limit what is dialled on 127.0.0.3.
	SL_DP_LOG_LEVEL=debug HP_HOST_CAP=300 HP_EXTRA_CONF=$extra \
	    hp_start dp-pex-$mode "$SL_W/t.torrent" "$SL_W/out4$mode" --peer "127.0.0.1:$PP" \
	    --peer "127.0.0.1:$LT_PORT"
	hp_wait 60
	HP_PORT=
	sleep 1
	sl_stop "$P_PID" 10
	sl_same "$SL_W/src/payload.bin" "$SL_W/out4$mode/payload.bin" || sl_fail "the copy differs (pex $mode)"
	rm -rf "$SL_W/out4$mode"
	sum=$(grep "^hostile: pex " "$SL_W/pex-$mode.log") || sl_fail "hostile_peer.py pex printed no summary"
	offered=$(echo "$sum" | sed -n 's/.* offered_pex=\([0-9]*\).*/\1/p')
	msgs=$(echo "$sum" | sed -n 's/.* messages=\([0-9]*\).*/\1/p')
	dialled=$(echo "$sum" | sed -n 's/.* dialled_ports=\([0-9]*\).*/\1/p')
	if [ $mode = off ]; then
		[ "$offered" = 0 ] || sl_fail "pex = false, yet downpour offered ut_pex ($sum)"
		[ "$dialled" = 0 ] || sl_fail "pex = false, yet $dialled PEX addresses were dialled"
		sl_say "4b. pex = false: ut_pex not offered, nothing dialled; identical"
		continue
	fi
	[ "$offered" = 1 ] && [ "$msgs" -ge 5 ] || sl_fail "the PEX attack did not run ($sum)"
	[ "$dialled" -le 50 ] || sl_fail "$dialled PEX addresses dialled (50 a message at most)"
	[ "$dialled" -gt 0 ] || sl_fail "no PEX address dialled: peer exchange does not work"
	for bad in "127.0.0.3:0" "224.0.0.1" "239.255.255.250" "255.255.255.255" "0.0.0.0:" \
	    "peer 127.0.0.1:$OWN:"; do
		grep -q "$bad" "$SL_W/dp-pex-$mode.log" && sl_fail "downpour dialled $bad (from PEX)"
	done
	grep -q "banned" "$SL_W/dp-pex-$mode.log" && sl_fail "a peer was banned in the PEX test"
	sl_say "4a. PEX: $msgs messages of 200 addresses, $dialled dialled (none that cannot be a" \
	    "peer); identical, peak RSS $((HP_RSS_KB / 1024)) MiB"
done
sl_stop "$LT4_PID" 10

echo "PASS hostile_peers: unrequested blocks dropped (peak RSS $((RSS1 / 1024)) MiB, attacker" \
    "banned, seeder never); a metadata-size liar did not stall a magnet (peak RSS" \
    "$((RSS2 / 1024)) MiB); a connection flood took no more than its share (peak RSS" \
    "$((RSS3 / 1024)) MiB); PEX floods were capped and pex = false honoured (peak RSS" \
    "$((HP_RSS_KB / 1024)) MiB)"
exit 0
