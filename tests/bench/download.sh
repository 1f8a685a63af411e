#!/usr/bin/env bash
# download.sh: benchmark (prints figures, asserts nothing): downloads one torrent on loopback from
# the same libtorrent seeder with downpour, aria2c, transmission and libtorrent in the same run,
# using the shared peerlab; prints wall s, CPU s, peak RSS, MiB/s (medians) and downpour's ratios.
# "downpour" is the plaintext TCP path (--encryption tolerated: what this benchmark has always
# measured); "downpour-rc4" is the default (encryption preferred: RC4 with this seeder).
# usage: tests/bench/download.sh [SIZE_MIB (1024)] [RUNS (3)]   (from the repository top)
# env: DP_BIN=path/to/downpour (default build/downpour; measure an optimised, non-debug build),
#      CLIENTS="aria2 transmission libtorrent" (the other leechers; empty = downpour alone).
set -euo pipefail
cd "$(dirname "$0")/../.."
size=${1:-1024}
runs=${2:-3}
lab=${PEERLAB:-$(cd .. && pwd)/shared/peerlab/lab.sh}
[ -x "$lab" ] || { echo "download.sh: peerlab not found at $lab (set PEERLAB)" >&2; exit 1; }
dp=${DP_BIN:-$PWD/build/downpour}
case $dp in /*) ;; *) dp=$PWD/$dp ;; esac
[ -x "$dp" ] || { echo "download.sh: no downpour at $dp: build it first (tests/quickstart.sh)" >&2; exit 1; }
read -r -a clients <<<"${CLIENTS-aria2 transmission libtorrent}"
data=/tmp/peerlab/bench-${size}m
if [ ! -f "$data/payload.bin.torrent" ]; then
	"$lab" make-data "$data" "$size" >/dev/null
fi
torrent=$data/payload.bin.torrent
trap '"$lab" stop-all >/dev/null 2>&1 || true' EXIT
out=$(mktemp)
# On loopback like the lab's seeders: the DHT then reaches loopback nodes only and LSD stays off.
conf=$(mktemp)
printf 'listen_address = "127.0.0.1";\n' >"$conf"
"$lab" compare "$torrent" libtorrent ${clients[@]+"${clients[@]}"} \
	"cmd@downpour:$dp get --config $conf --encryption tolerated -o {out} --port {port} {torrent}" \
	"cmd@downpour-rc4:$dp get --config $conf -o {out} --port {port} {torrent}" --runs "$runs" |
	tee "$out"
rm -f "$conf"
raw=$(ls -t /tmp/peerlab/results/compare-*.tsv | head -n 1)
/usr/bin/python3 - "$raw" <<'PY'
import csv, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]), delimiter="\t") if r["ok"] == "1"]
by = {}
for r in rows:
    by.setdefault(r["client"], []).append(r)
med = lambda c, k: statistics.median(float(r[k]) for r in by[c])
dp = "downpour" if "downpour" in by else None
if dp is None:
    print("downpour: no successful run"); sys.exit(1)
others = [c for c in by if not c.startswith("downpour")]
if not others:
    sys.exit(0)
fastest = max(others, key=lambda c: med(c, "mib_s"))
leanest = min(others, key=lambda c: med(c, "cpu_s"))
print(f"\ndownpour throughput / fastest ({fastest}): {med(dp, 'mib_s') / med(fastest, 'mib_s'):.2f}")
print(f"downpour CPU s / leanest ({leanest}): {med(dp, 'cpu_s') / med(leanest, 'cpu_s'):.2f}")
PY
