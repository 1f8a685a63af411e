#!/bin/bash
# utp_lossy.sh: benchmark (prints figures, asserts nothing but what the test asserts): uTP under
# 50 ms delay and 1 % loss each way (tests/interop/utp_lossy.sh with DP_LOSSY_REF=1), RUNS times:
# in each run TCP without loss through the same wire (its ceiling), TCP with loss, and uTP
# downpour -> downpour, downpour -> libtorrent, libtorrent -> libtorrent, libtorrent -> downpour;
# then the median MiB/s of each row and the ratios uTP/TCP and downpour/libtorrent.
# usage: tests/bench/utp_lossy.sh [RUNS (3)]   (from the repository top, as root;
# DP_BIN=path/to/downpour, DP_LOSSY_MIB=size)
set -u
cd "$(dirname "$0")/../.."
runs=${1:-3}
dp=${DP_BIN:-$PWD/build/downpour}
out=$(mktemp /tmp/dp-bench-utp-lossy.XXXXXX) || exit 1
trap 'rm -f "$out"' EXIT
for ((i = 1; i <= runs; i++)); do
	echo "== run $i of $runs"
	DP_LOSSY_REF=1 tests/interop/utp_lossy.sh "$dp" >"$out.run" 2>&1
	rc=$?
	grep -E '^(tcp|utp)' "$out.run" | sort -u | tee -a "$out"
	[ $rc -eq 0 ] || { tail -n 30 "$out.run"; rm -f "$out.run"; exit $rc; }
done
rm -f "$out.run"
# Rows: NAME WALL s RATE MiB/s ...; medians of RATE per NAME.
awk '{ r[$1] = r[$1] " " $4 }
END {
	for (n in r) {
		k = split(substr(r[n], 2), v, " ")
		for (i = 1; i <= k; i++)
			for (j = i + 1; j <= k; j++)
				if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
		m[n] = k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
		printf "median %-12s %6.2f MiB/s  (%s)\n", n, m[n], substr(r[n], 2)
	}
	printf "uTP/TCP: downpour %.2f, libtorrent %.2f (TCP with loss); TCP with loss / without %.2f\n",
	    m["utp"] / m["tcp"], m["utp-lt-lt"] / m["tcp"], m["tcp"] / m["tcp-noloss"]
	printf "downpour/libtorrent (uTP): dp->dp %.2f, dp->lt %.2f, lt->dp %.2f against lt->lt\n",
	    m["utp"] / m["utp-lt-lt"], m["utp-dp-lt"] / m["utp-lt-lt"], m["utp-lt-dp"] / m["utp-lt-lt"]
}' "$out" | sort
