#!/bin/bash
# d2d.sh: benchmark (prints figures, asserts nothing but byte-identical copies): downpour seeds to
# downpour on loopback (--peer, plaintext TCP: encryption tolerated and no uTP on both ends, the
# path that may avoid user-space copies), libtorrent -> libtorrent for reference, and one core's
# `openssl sha1` over the same file, each in every run; per run and as medians: wall, when the
# leecher said "download complete" (done: the rest of its wall is the fsync that makes the data
# durable and the exit), MiB/s, CPU seconds per GiB of the leecher and of the seeder (during the
# transfer), and the ratios of the
# wall time and of the leecher's CPU to that SHA-1 time (the leecher must hash every byte); also
# TCP segments, the leecher's context switches and its page faults (first touches of its heap)
# per MiB, which the machine's load moves little, and the leecher's peak RSS (MiB): its piece
# buffers are most of it, bounded by the disk write queue (disk_write_queue_bytes).
# It runs in a network namespace of its own, so the segments counted are the transfer's.
# usage: tests/bench/d2d.sh [SIZE_MIB (1024)] [RUNS (3)]   (from the repository top)
# env: DP_BIN=path/to/downpour (default build/downpour; measure an optimised, non-debug build),
#      DP_BIN_B=path/to/other/downpour adds a paired comparison: that binary seeds to itself too,
#      each run times both, alternating which goes first (the machine's load hits both alike),
#      D2D_LT=0 skips the libtorrent reference, D2D_PERF=DIR records each downpour leecher and
#      the seeder during it with `perf record -g` into DIR (CPU figures then include perf's),
#      DOWNPOUR_NO_SPLICE=1 has the seeder send by libevent's sendfile instead of its pipes,
#      D2D_ONE_SEED=1 has DP_BIN_B's leecher download from DP_BIN's seeder too: the pair then
#      compares the leechers alone (a faster seeder changes how its leecher is fed).
set -u
cd "$(dirname "$0")/../.."
size=${1:-1024}
runs=${2:-3}
dp=${DP_BIN:-$PWD/build/downpour}
case $dp in /*) ;; *) dp=$PWD/$dp ;; esac
dpb=${DP_BIN_B:-}
case $dpb in /* | "") ;; *) dpb=$PWD/$dpb ;; esac
[ -z "$dpb" ] || [ -x "$dpb" ] || { echo "FAIL bench-d2d: $dpb is not an executable" >&2; exit 1; }
. tests/interop/swarm_lib.sh
sl_netns "$PWD/tests/bench/d2d.sh" "$@"
sl_init bench-d2d "$dp"
sl_need openssl openssl
with_lt=${D2D_LT:-1}
[ "$with_lt" = 0 ] || sl_need_lt
HZ=$(getconf CLK_TCK)

mkdir -p "$SL_W/src"
sl_make_file "$SL_W/src/payload.bin" $((size * 1048576))
"$DP" create -o "$SL_W/p.torrent" -s 1048576 "$SL_W/src/payload.bin" >"$SL_W/create.log" 2>&1 ||
    sl_fail "downpour create"
# Plaintext TCP on both ends: MSE would force the read-and-encrypt path, uTP a packet path.
for who in seed leech; do
	cat >"$SL_W/$who.conf" <<CONF
listen_address = "127.0.0.1";
download_dir = "$SL_W";
session_dir = "$SL_W/$who-session";
log_level = "warn";
encryption = "tolerated";
utp = false;
CONF
done

# cpu_of PID: user+system seconds so far (clock ticks to seconds).
cpu_of() {
	awk -v hz="$HZ" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# The seeders run through every run; each leecher starts afresh.
# dp_seed NAME BINARY: a seeder of the file; its port and pid in SEED_PORT and SEED_PID.
dp_seed() {
	sed "s|$SL_W/seed-session|$SL_W/$1-session|" "$SL_W/seed.conf" >"$SL_W/$1.conf"
	SEED_PORT=$(sl_free_port)
	sl_bg "$1" "$SL_W/$1.log" "$2" seed --config "$SL_W/$1.conf" -o "$SL_W/src" \
	    --port "$SEED_PORT" --encryption tolerated --no-utp "$SL_W/p.torrent"
	SEED_PID=$SL_BG_PID
	SL_WAIT_PID=$SEED_PID sl_wait 300 "the downpour seeder ($1) to verify" \
	    grep -q "checked: " "$SL_W/$1.log"
}
dp_seed dp-seed "$DP"
DP_PORT=$SEED_PORT DP_SEED=$SEED_PID
if [ -n "$dpb" ] && [ "${D2D_ONE_SEED:-0}" = 1 ]; then
	DPB_PORT=$DP_PORT DPB_SEED=$DP_SEED     # both leechers from DP_BIN's seeder
elif [ -n "$dpb" ]; then
	dp_seed dpb-seed "$dpb"
	DPB_PORT=$SEED_PORT DPB_SEED=$SEED_PID
fi
if [ "$with_lt" != 0 ]; then
	LT_PORT=$(sl_free_port)
	sl_bg lt-seed "$SL_W/lt-seed.log" /usr/bin/python3 "$SL_DIR/lt_seed.py" "$SL_W/p.torrent" \
	    "$SL_W/src" --port "$LT_PORT" --no-tracker --ready-file "$SL_W/lt-seed.ready"
	LT_SEED=$SL_BG_PID
	SL_WAIT_PID=$LT_SEED sl_wait 300 "the libtorrent seeder" test -s "$SL_W/lt-seed.ready"
fi

# sha1_run: one core's `openssl sha1` over the (cached) file; "wall cpu" to $SL_W/results.
sha1_run() {
	local t0 t1 u s
	cat "$SL_W/src/payload.bin" >/dev/null
	t0=$(date +%s.%N)
	/usr/bin/time -o "$SL_W/time" -f "%U %S" openssl sha1 "$SL_W/src/payload.bin" \
	    >"$SL_W/sha1.out" 2>&1 || sl_fail "openssl sha1"
	t1=$(date +%s.%N)
	read -r u s <"$SL_W/time"
	awk -v a="$t0" -v b="$t1" -v u="$u" -v s="$s" 'BEGIN { printf "sha1 %.3f %.3f 0 0 0 0 0 0\n",
	    b - a, u + s }' >>"$SL_W/results"
}

# tcp_segs: TCP segments sent in this namespace so far (both directions of loopback).
tcp_segs() {
	awk '$1 == "Tcp:" && $12 ~ /^[0-9]+$/ { print $12 }' /proc/net/snmp
}

# stamp FILE: copies its input through and writes the time the line "download complete"
# came to FILE (downpour flushes that line when the last piece is written and verified; what
# follows it is the exit: the fsync of the data, the last saves).
stamp() {
	local line
	while IFS= read -r line; do
		[[ $line == "download complete"* ]] && echo "$EPOCHREALTIME" >"$1"
		printf '%s\n' "$line"
	done
}

# leech NAME KIND SEED_PID SEED_PORT [BINARY]: the leecher (kind lt or dp, downpour's BINARY or
# $DP) runs to completion; its wall, leecher CPU and seeder CPU (seconds), TCP segments, the
# leecher's context switches and minor page faults, when it said "download complete" (downpour;
# 0 for libtorrent) and its peak RSS in KiB go to $SL_W/results as
# "NAME wall lcpu scpu segs cs faults done rss".
leech() {
	local name=$1 kind=$2 spid=$3 sport=$4 bin=${5:-$DP} t0 t1 s0 s1 g0 g1 rc u s w c d=0
	rm -rf "$SL_W/out" "$SL_W/leech-session"
	mkdir -p "$SL_W/out"
	sync
	s0=$(cpu_of "$spid")
	g0=$(tcp_segs)
	t0=$(date +%s.%N)
	if [ "$kind" = lt ]; then
		/usr/bin/time -o "$SL_W/time" -f "%U %S %w %c %R %M" /usr/bin/python3 "$SL_DIR/lt_leech.py" \
		    "$SL_W/p.torrent" "$SL_W/out" --port "$(sl_free_port)" \
		    --connect "127.0.0.1:$sport" --timeout 900 >"$SL_W/$name-leech.log" 2>&1
	else
		if [ -n "${D2D_PERF:-}" ]; then
			mkdir -p "$D2D_PERF"
			perf_n=$((perf_n + 1))
			perf record -q -g -o "$D2D_PERF/$name-seed-$perf_n.data" -p "$spid" \
			    >/dev/null 2>&1 &
			perf_pid=$!
			set -- perf record -q -g -o "$D2D_PERF/$name-leech-$perf_n.data" --
		else
			set --
		fi
		rm -f "$SL_W/done"
		/usr/bin/time -o "$SL_W/time" -f "%U %S %w %c %R %M" "$@" timeout -k 5 900 "$bin" get \
		    --config "$SL_W/leech.conf" -o "$SL_W/out" --port "$(sl_free_port)" \
		    --encryption tolerated --no-utp --peer "127.0.0.1:$sport" "$SL_W/p.torrent" \
		    2>&1 | stamp "$SL_W/done" >"$SL_W/$name-leech.log"
		rc=${PIPESTATUS[0]}
		[ -s "$SL_W/done" ] && d=$(<"$SL_W/done")
	fi
	[ "$kind" = lt ] && rc=$?
	t1=$(date +%s.%N)
	s1=$(cpu_of "$spid")
	g1=$(tcp_segs)
	if [ -n "${perf_pid:-}" ]; then
		kill -INT "$perf_pid"
		wait "$perf_pid"
		perf_pid=
	fi
	[ $rc -eq 0 ] || sl_fail "$name: the leecher exited $rc"
	cmp -s "$SL_W/src/payload.bin" "$SL_W/out/payload.bin" || sl_fail "$name: the copy differs"
	read -r u s w c f rss <"$SL_W/time"
	awk -v n="$name" -v a="$t0" -v b="$t1" -v u="$u" -v s="$s" -v s0="$s0" -v s1="$s1" \
	    -v g="$((g1 - g0))" -v cs="$((w + c))" -v f="$f" -v d="$d" -v rss="$rss" \
	    'BEGIN { printf "%s %.3f %.3f %.3f %d %d %d %.3f %d\n", n, b - a, u + s, s1 - s0, g, cs, f,
	    (d > 0 ? d - a : 0), rss }' >>"$SL_W/results"
}

# report LABEL ROWS...: medians of the rows named; per GiB and against sha1 of the same runs.
report() {
	awk -v m="$size" -v label="$1" '
	function med(a, n,   i, j, t) {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) {
			t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{ k = $1; n[k]++; w[k, n[k]] = $2; l[k, n[k]] = $3; s[k, n[k]] = $4; sg[k, n[k]] = $5
	  c[k, n[k]] = $6; pf[k, n[k]] = $7; dn[k, n[k]] = $8; rs[k, n[k]] = $9 }
	END {
		g = m / 1024
		for (k in n) {
			for (i = 1; i <= n[k]; i++) { x[i] = w[k, i]; y[i] = l[k, i]; z[i] = s[k, i]
				q[i] = sg[k, i]; v[i] = c[k, i]; y2[i] = pf[k, i]; d2[i] = dn[k, i]
				r2[i] = rs[k, i] }
			W[k] = med(x, n[k]); L[k] = med(y, n[k]); S[k] = med(z, n[k])
			G[k] = med(q, n[k]); C[k] = med(v, n[k]); F[k] = med(y2, n[k])
			D[k] = med(d2, n[k]); R[k] = med(r2, n[k])
		}
		printf "%-22s %7s %7s %8s %9s %9s %10s %10s %10s %8s %7s %8s %7s\n", label, "wall s",
		    "done s", "MiB/s", "leech/GiB", "seed/GiB", "wall/sha1", "done/sha1", "leech/sha1",
		    "segs/MiB", "cs/MiB", "flt/MiB", "RSS MiB"
		printf "%-22s %7.2f %7s %8.1f %9.2f %9s %10s %10s %10s %8s %7s %8s %7s\n",
		    "openssl sha1 (1 core)", W["sha1"], "-", m / W["sha1"], L["sha1"] / g, "-", "1.00",
		    "1.00", "1.00", "-", "-", "-", "-"
		split("dp dpb lt", order, " ")
		name["dp"] = "downpour -> downpour"
		name["dpb"] = "B: downpour -> downp."
		name["lt"] = "libtorrent -> libtorr."
		for (o = 1; o <= 3; o++) {
			k = order[o]
			if (!(k in n)) continue
			printf "%-22s %7.2f %7s %8.1f %9.2f %9.2f %10.2f %10s %10s %8.1f %7.1f %8.1f %7.0f\n",
			    name[k], W[k], (D[k] > 0 ? sprintf("%.2f", D[k]) : "-"), m / W[k], L[k] / g,
			    S[k] / g, W[k] / W["sha1"],
			    (D[k] > 0 ? sprintf("%.2f", D[k] / W["sha1"]) : "-"),
			    (L["sha1"] > 0 ? sprintf("%.2f", L[k] / L["sha1"]) : "-"), G[k] / m, C[k] / m,
			    F[k] / m, R[k] / 1024
		}
	}' "${@:2}"
}

: >"$SL_W/results"
perf_n=0
perf_pid=
for ((r = 1; r <= runs; r++)); do
	sha1_run
	if [ -n "$dpb" ] && ((r % 2 == 0)); then
		leech dpb dp "$DPB_SEED" "$DPB_PORT" "$dpb"
		leech dp dp "$DP_SEED" "$DP_PORT"
	else
		leech dp dp "$DP_SEED" "$DP_PORT"
		[ -z "$dpb" ] || leech dpb dp "$DPB_SEED" "$DPB_PORT" "$dpb"
	fi
	[ "$with_lt" = 0 ] || leech lt lt "$LT_SEED" "$LT_PORT"
	tail -n $((2 + (with_lt != 0) + (${#dpb} > 0))) "$SL_W/results" >"$SL_W/run"
	report "run $r/$runs, $size MiB" "$SL_W/run"
done
echo
report "median of $runs" "$SL_W/results"
sl_alive "$DP_SEED" || sl_fail "the downpour seeder died"
sl_stop "$DP_SEED" 10
if [ -n "$dpb" ] && [ "$DPB_SEED" != "$DP_SEED" ]; then
	sl_alive "$DPB_SEED" || sl_fail "the downpour seeder (B) died"
	sl_stop "$DPB_SEED" 10
fi
[ "$with_lt" = 0 ] || sl_stop "$LT_SEED" 10
exit 0
