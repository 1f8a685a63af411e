#!/usr/bin/env bash
# recheck.sh: benchmark (prints figures, asserts nothing): a full hash check of one file through
# the disk worker pool (tests/bench/bench_recheck) against `sha1sum` and `openssl sha1` (one core,
# OpenSSL's SHA-1 as downpour uses it) of the same file, and libtorrent's own check of it
# (tests/bench/lt_check.py, python3-libtorrent, the same number of threads), in the same run.
# usage: tests/bench/recheck.sh [SIZE_MIB (1024)] [RUNS (3)]   (from anywhere; BUILD=dir to pick
#        the build directory, default ./build; THREADS=n for the pool, default: all CPUs)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
size=${1:-1024}
runs=${2:-3}
build=${BUILD:-$top/build}
work=${WORK:-/tmp/dp-recheck}
threads=${THREADS:-$(nproc)}

die() { echo "recheck.sh: $*" >&2; exit 1; }
[ -f "$build/Makefile" ] || die "no configured build in $build (set BUILD=...)"
make -s -C "$build" tests/bench/bench_recheck downpour >/dev/null 2>&1 || die "build failed in $build"
bench=$build/tests/bench/bench_recheck

command -v /usr/bin/time >/dev/null || die "/usr/bin/time is needed (apt-get install time)"
command -v openssl >/dev/null || die "openssl is needed (apt-get install openssl)"
mkdir -p "$work"
data=$work/payload-${size}m.bin
torrent=$data.torrent
if [ ! -f "$data" ] || [ "$(stat -c %s "$data")" -ne $((size * 1048576)) ]; then
	echo "making $size MiB of random data in $data" >&2
	head -c $((size * 1048576)) /dev/urandom >"$data.tmp"
	mv "$data.tmp" "$data"
	rm -f "$torrent"
fi
if [ ! -f "$torrent" ]; then
	if "$build/downpour" create -o "$torrent" -s 1M "$data" >/dev/null 2>&1; then
		maker="downpour create"
	elif command -v mktorrent >/dev/null; then
		mktorrent -l 20 -o "$torrent" "$data" >/dev/null || die "mktorrent failed"
		maker=mktorrent
	else
		die "neither 'downpour create' nor mktorrent can make the torrent"
	fi
	echo "torrent made with $maker: $torrent" >&2
fi

# Cold cache when we may drop it (root, not in a restricted container); else warm, and said so.
drop_cache() {
	sync
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
}
if drop_cache; then cache_modes="cold warm"; else cache_modes="warm"; fi

# libtorrent's check: "wall_s cpu_s", the wall from the add to the end of the check (Python's
# start excluded), the CPU of the whole process.
lt=
/usr/bin/python3 -c 'import libtorrent' 2>/dev/null && lt=1 ||
    echo "note: python3-libtorrent is missing: no libtorrent figures" >&2
lt_check() {
	local out
	out=$( { /usr/bin/time -f "TIME %e %U %S" /usr/bin/python3 "$top/tests/bench/lt_check.py" \
	    "$torrent" "$(dirname "$data")" "$threads"; } 2>&1 ) || return 1
	echo "$out" | awk '/^CHECK/ { w = $2 } /^TIME/ { c = $3 + $4 } END { printf "%s %.2f\n", w, c }'
}

# Runs "$@", prints "wall_s cpu_s" (CPU = user + sys of the command and its threads).
time_cmd() {
	local out
	out=$( { /usr/bin/time -f "TIME %e %U %S" "$@" >/dev/null; } 2>&1 ) || return 1
	echo "$out" | awk '/^TIME/ { printf "%s %.2f\n", $2, $3 + $4 }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "file: $size MiB, $(nproc) CPUs, pool threads: $threads, runs: $runs, medians"
printf "%-6s %-12s %8s %9s %8s\n" cache tool wall_s MiB/s cpu_s
for mode in $cache_modes; do
	: >"$work/dp.txt"
	: >"$work/sha.txt"
	: >"$work/ossl.txt"
	: >"$work/lt.txt"
	[ "$mode" = warm ] && cat "$data" >/dev/null
	for _ in $(seq "$runs"); do
		[ "$mode" = cold ] && drop_cache
		time_cmd "$bench" -t "$threads" "$torrent" "$(dirname "$data")" >>"$work/dp.txt" ||
			die "bench_recheck failed (see its output: $bench -t $threads $torrent $(dirname "$data"))"
		[ "$mode" = cold ] && drop_cache
		time_cmd sha1sum "$data" >>"$work/sha.txt" || die "sha1sum failed"
		[ "$mode" = cold ] && drop_cache
		time_cmd openssl sha1 "$data" >>"$work/ossl.txt" || die "openssl sha1 failed"
		if [ -n "$lt" ]; then
			[ "$mode" = cold ] && drop_cache
			lt_check >>"$work/lt.txt" || die "libtorrent's check failed ($top/tests/bench/lt_check.py)"
		fi
	done
	dp_wall=$(awk '{ print $1 }' "$work/dp.txt" | median)
	dp_cpu=$(awk '{ print $2 }' "$work/dp.txt" | median)
	sha_wall=$(awk '{ print $1 }' "$work/sha.txt" | median)
	sha_cpu=$(awk '{ print $2 }' "$work/sha.txt" | median)
	ossl_wall=$(awk '{ print $1 }' "$work/ossl.txt" | median)
	ossl_cpu=$(awk '{ print $2 }' "$work/ossl.txt" | median)
	lt_wall=0 lt_cpu=0
	if [ -n "$lt" ]; then
		lt_wall=$(awk '{ print $1 }' "$work/lt.txt" | median)
		lt_cpu=$(awk '{ print $2 }' "$work/lt.txt" | median)
	fi
	awk -v m="$mode" -v s="$size" -v dw="$dp_wall" -v dc="$dp_cpu" -v sw="$sha_wall" -v sc="$sha_cpu" \
	    -v ow="$ossl_wall" -v oc="$ossl_cpu" -v lw="$lt_wall" -v lc="$lt_cpu" '
	function rate(w) { return w > 0 ? s / w : 0 }
	BEGIN {
		printf "%-6s %-12s %8.2f %9.1f %8.2f\n", m, "downpour", dw, rate(dw), dc
		printf "%-6s %-12s %8.2f %9.1f %8.2f\n", m, "sha1sum", sw, rate(sw), sc
		printf "%-6s %-12s %8.2f %9.1f %8.2f\n", m, "openssl-sha1", ow, rate(ow), oc
		rw = sw > 0 ? dw / sw : 0
		rc = sc > 0 ? dc / sc : 0
		printf "%-6s ratio downpour/sha1sum: wall %.2f (below 1 = faster), cpu %.2f\n", m, rw, rc
		printf "%-6s speed-up over one core of openssl sha1 (its wall / ours): %.2fx\n", m, \
		    (dw > 0 ? ow / dw : 0)
		if (lw > 0) {
			printf "%-6s %-12s %8.2f %9.1f %8.2f  (CPU with Python start)\n", m, "libtorrent", \
			    lw, rate(lw), lc
			printf "%-6s ratio downpour/libtorrent: wall %.2f (below 1 = faster)\n", m, dw / lw
		}
	}'
done
# Other work during checks: 16 torrents' windows in flight (2 x threads pieces each), a no-op job
# (a download's write) queued every 5 ms; how long it waited for a worker.
cat "$data" >/dev/null
echo "warm, $((32 * threads)) checks in flight, other work every 5 ms: $("$bench" -t "$threads" \
    -q $((32 * threads)) -w 5 "$torrent" "$(dirname "$data")" | grep '^probes=')"
[ "$cache_modes" = warm ] && echo "note: page cache could not be dropped: warm-cache figures only"
exit 0
