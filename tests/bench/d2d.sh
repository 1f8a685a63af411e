#!/bin/bash
# d2d.sh: benchmark (prints figures, asserts nothing but byte-identical copies): downpour seeds to
# downpour on loopback (--peer, plaintext TCP: encryption tolerated and no uTP on both ends, the
# path that may avoid user-space copies), libtorrent -> libtorrent for reference, and one core's
# `openssl sha1` over the same file, each in every run; per run and as medians: wall, MiB/s, CPU
# seconds per GiB of the leecher and of the seeder (during the transfer), and the ratios of the
# wall time and of the leecher's CPU to that SHA-1 time (the leecher must hash every byte).
# usage: tests/bench/d2d.sh [SIZE_MIB (1024)] [RUNS (3)]   (from the repository top)
# env: DP_BIN=path/to/downpour (default build/downpour; measure an optimised, non-debug build),
#      D2D_LT=0 skips the libtorrent reference.
set -u
cd "$(dirname "$0")/../.."
size=${1:-1024}
runs=${2:-3}
dp=${DP_BIN:-$PWD/build/downpour}
case $dp in /*) ;; *) dp=$PWD/$dp ;; esac
. tests/interop/swarm_lib.sh
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
DP_PORT=$(sl_free_port)
sl_bg dp-seed "$SL_W/dp-seed.log" "$DP" seed --config "$SL_W/seed.conf" -o "$SL_W/src" \
    --port "$DP_PORT" --encryption tolerated --no-utp "$SL_W/p.torrent"
DP_SEED=$SL_BG_PID
SL_WAIT_PID=$DP_SEED sl_wait 300 "the downpour seeder to verify" \
    grep -q "checked: " "$SL_W/dp-seed.log"
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
	awk -v a="$t0" -v b="$t1" -v u="$u" -v s="$s" 'BEGIN { printf "sha1 %.3f %.3f 0\n",
	    b - a, u + s }' >>"$SL_W/results"
}

# leech NAME KIND SEED_PID SEED_PORT: the leecher (kind lt or dp) runs to completion; its wall,
# leecher CPU and seeder CPU (seconds) go to $SL_W/results as "NAME wall MiB/s lcpu scpu".
leech() {
	local name=$1 kind=$2 spid=$3 sport=$4 t0 t1 s0 s1 rc u s
	rm -rf "$SL_W/out" "$SL_W/leech-session"
	mkdir -p "$SL_W/out"
	sync
	s0=$(cpu_of "$spid")
	t0=$(date +%s.%N)
	if [ "$kind" = lt ]; then
		/usr/bin/time -o "$SL_W/time" -f "%U %S" /usr/bin/python3 "$SL_DIR/lt_leech.py" \
		    "$SL_W/p.torrent" "$SL_W/out" --port "$(sl_free_port)" \
		    --connect "127.0.0.1:$sport" --timeout 900 >"$SL_W/$kind-leech.log" 2>&1
	else
		/usr/bin/time -o "$SL_W/time" -f "%U %S" timeout -k 5 900 "$DP" get \
		    --config "$SL_W/leech.conf" -o "$SL_W/out" --port "$(sl_free_port)" \
		    --encryption tolerated --no-utp --peer "127.0.0.1:$sport" "$SL_W/p.torrent" \
		    >"$SL_W/$kind-leech.log" 2>&1
	fi
	rc=$?
	t1=$(date +%s.%N)
	s1=$(cpu_of "$spid")
	[ $rc -eq 0 ] || sl_fail "$name: the leecher exited $rc"
	cmp -s "$SL_W/src/payload.bin" "$SL_W/out/payload.bin" || sl_fail "$name: the copy differs"
	read -r u s <"$SL_W/time"
	awk -v n="$name" -v a="$t0" -v b="$t1" -v u="$u" -v s="$s" -v s0="$s0" -v s1="$s1" \
	    'BEGIN { printf "%s %.3f %.3f %.3f\n", n, b - a, u + s, s1 - s0 }' >>"$SL_W/results"
}

# report LABEL ROWS...: medians of the rows named; per GiB and against sha1 of the same runs.
report() {
	awk -v m="$size" -v label="$1" '
	function med(a, n,   i, j, t) {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) {
			t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{ k = $1; n[k]++; w[k, n[k]] = $2; l[k, n[k]] = $3; s[k, n[k]] = $4 }
	END {
		g = m / 1024
		for (k in n) {
			for (i = 1; i <= n[k]; i++) { x[i] = w[k, i]; y[i] = l[k, i]; z[i] = s[k, i] }
			W[k] = med(x, n[k]); L[k] = med(y, n[k]); S[k] = med(z, n[k])
		}
		printf "%-22s %7s %8s %9s %9s %10s %10s\n", label, "wall s", "MiB/s",
		    "leech/GiB", "seed/GiB", "wall/sha1", "leech/sha1"
		printf "%-22s %7.2f %8.1f %9.2f %9s %10s %10s\n", "openssl sha1 (1 core)",
		    W["sha1"], m / W["sha1"], L["sha1"] / g, "-", "1.00", "1.00"
		split("dp lt", order, " ")
		for (o = 1; o <= 2; o++) {
			k = order[o]
			if (!(k in n)) continue
			printf "%-22s %7.2f %8.1f %9.2f %9.2f %10.2f %10s\n",
			    k == "dp" ? "downpour -> downpour" : "libtorrent -> libtorr.",
			    W[k], m / W[k], L[k] / g, S[k] / g, W[k] / W["sha1"],
			    (L["sha1"] > 0 ? sprintf("%.2f", L[k] / L["sha1"]) : "-")
		}
	}' "${@:2}"
}

: >"$SL_W/results"
for ((r = 1; r <= runs; r++)); do
	sha1_run
	leech dp dp "$DP_SEED" "$DP_PORT"
	[ "$with_lt" = 0 ] || leech lt lt "$LT_SEED" "$LT_PORT"
	tail -n $((with_lt == 0 ? 2 : 3)) "$SL_W/results" >"$SL_W/run"
	report "run $r/$runs, $size MiB" "$SL_W/run"
done
echo
report "median of $runs" "$SL_W/results"
sl_alive "$DP_SEED" || sl_fail "the downpour seeder died"
sl_stop "$DP_SEED" 10
[ "$with_lt" = 0 ] || sl_stop "$LT_SEED" 10
exit 0
