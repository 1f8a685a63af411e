#!/bin/bash
# utp.sh: benchmark (prints figures, asserts nothing but byte-identical copies): one torrent on
# loopback over uTP libtorrent->libtorrent, libtorrent->downpour and downpour->libtorrent (in
# plaintext, as libtorrent's own pair negotiates it, and downpour's default RC4), and over TCP
# libtorrent->downpour with encryption off and on; wall, MiB/s and CPU seconds per GiB of the
# leecher and of the seeder (during the transfer) for each, in the same run.
# usage: tests/bench/utp.sh [SIZE_MIB (1024)]   (from the repository top; DP_BIN=path/to/downpour)
set -u
cd "$(dirname "$0")/../.."
size=${1:-1024}
dp=${DP_BIN:-$PWD/build/downpour}
case $dp in /*) ;; *) dp=$PWD/$dp ;; esac
. tests/interop/swarm_lib.sh
sl_init bench-utp "$dp"
sl_need_lt
LT_UTP=(--set enable_incoming_tcp=false --set enable_outgoing_tcp=false
    --set enable_incoming_utp=true --set enable_outgoing_utp=true)
LT_TCP=()
HZ=$(getconf CLK_TCK)

mkdir -p "$SL_W/src"
sl_make_file "$SL_W/src/payload.bin" $((size * 1048576))
"$DP" create -o "$SL_W/p.torrent" -s 1048576 "$SL_W/src/payload.bin" >"$SL_W/create.log" 2>&1 ||
    sl_fail "downpour create"
cat >"$SL_W/dp.conf" <<CONF
listen_address = "127.0.0.1";
download_dir = "$SL_W";
session_dir = "$SL_W/dp-session";
log_level = "warn";
CONF

# cpu_of PID: user+system seconds so far (clock ticks to seconds).
cpu_of() {
	awk -v hz="$HZ" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# seed_lt NAME ARGS...: a libtorrent seeder ($SEED_PID, $SEED_PORT).
seed_lt() {
	rm -f "$SL_W/seed.ready"
	SEED_PORT=$(sl_free_port)
	sl_bg seed "$SL_W/$1-seed.log" /usr/bin/python3 "$SL_DIR/lt_seed.py" "$SL_W/p.torrent" \
	    "$SL_W/src" --port "$SEED_PORT" --no-tracker --ready-file "$SL_W/seed.ready" "${@:2}"
	SEED_PID=$SL_BG_PID
	SL_WAIT_PID=$SEED_PID sl_wait 300 "the libtorrent seeder" test -s "$SL_W/seed.ready"
}

# seed_dp NAME OPTIONS...: a downpour seeder.
seed_dp() {
	SEED_PORT=$(sl_free_port)
	rm -rf "$SL_W/dp-session"
	sl_bg seed "$SL_W/$1-seed.log" "$DP" seed --config "$SL_W/dp.conf" -o "$SL_W/src" \
	    --port "$SEED_PORT" "${@:2}" "$SL_W/p.torrent"
	SEED_PID=$SL_BG_PID
	SL_WAIT_PID=$SEED_PID sl_wait 300 "the downpour seeder to verify" \
	    grep -q "checked: " "$SL_W/$1-seed.log"
}

# leech NAME KIND ARGS...: the leecher (kind lt or dp) runs to completion; one result line.
leech() {
	local name=$1 kind=$2 t0 t1 s0 s1 rc
	shift 2
	rm -rf "$SL_W/out" "$SL_W/dp-session"
	mkdir -p "$SL_W/out"
	sync
	s0=$(cpu_of "$SEED_PID")
	t0=$(date +%s.%N)
	if [ "$kind" = lt ]; then
		/usr/bin/time -o "$SL_W/time" -f "%U %S" /usr/bin/python3 "$SL_DIR/lt_leech.py" \
		    "$SL_W/p.torrent" "$SL_W/out" --port "$(sl_free_port)" \
		    --connect "127.0.0.1:$SEED_PORT" --timeout 900 "$@" >"$SL_W/$name.log" 2>&1
	else
		/usr/bin/time -o "$SL_W/time" -f "%U %S" timeout 900 "$DP" get --config "$SL_W/dp.conf" \
		    -o "$SL_W/out" --port "$(sl_free_port)" --peer "127.0.0.1:$SEED_PORT" "$@" \
		    "$SL_W/p.torrent" >"$SL_W/$name.log" 2>&1
	fi
	rc=$?
	t1=$(date +%s.%N)
	s1=$(cpu_of "$SEED_PID")
	[ $rc -eq 0 ] || sl_fail "$name: the leecher exited $rc"
	cmp -s "$SL_W/src/payload.bin" "$SL_W/out/payload.bin" || sl_fail "$name: the copy differs"
	read -r u s <"$SL_W/time"
	awk -v n="$name" -v m="$size" -v a="$t0" -v b="$t1" -v u="$u" -v s="$s" -v s0="$s0" \
	    -v s1="$s1" 'BEGIN { w = b - a; g = m / 1024;
		printf "%-34s %7.2f %8.1f %11.2f %11.2f\n", n, w, m / w, (u + s) / g, (s1 - s0) / g }'
}

printf "%-34s %7s %8s %11s %11s\n" "$size MiB on loopback" "wall s" "MiB/s" "leech CPU/GiB" \
    "seed CPU/GiB"
seed_lt lt-utp "${LT_UTP[@]}"
leech "uTP libtorrent -> libtorrent" lt "${LT_UTP[@]}"
leech "uTP libtorrent -> downpour" dp --encryption tolerated
leech "uTP+RC4 libtorrent -> downpour" dp
sl_stop "$SEED_PID" 10
seed_dp dp-utp --encryption tolerated
leech "uTP downpour -> libtorrent" lt "${LT_UTP[@]}"
sl_stop "$SEED_PID" 10
seed_lt lt-tcp ${LT_TCP[@]+"${LT_TCP[@]}"}
leech "TCP libtorrent -> downpour" dp --encryption tolerated --no-utp
leech "TCP+RC4 libtorrent -> downpour" dp --no-utp
sl_stop "$SEED_PID" 10
exit 0
