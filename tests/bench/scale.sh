#!/usr/bin/env bash
# scale.sh: benchmark (prints figures, asserts nothing): downpour daemons on loopback holding N
# small complete torrents (one 16 KiB file each, default 10,000), announced to a local
# opentracker. Phases, each bounded by SCALE_PHASE_SECS (a phase that does not finish says how
# far it got):
#   watch    N .torrent files dropped into the watch dir of a running daemon: time until the RPC
#            lists all N, the RPC's worst answer time meanwhile, the loop's worst callback
#   stop     SIGTERM with N torrents: time until the process is gone
#   restart  start on the same session: time until the RPC lists N torrents none of which is
#            checking, pieces hashed (0 expected), worst callback
#   idle     30 s: daemon CPU, RSS, bytes per torrent (RSS over the empty daemon's, per torrent)
#   get      torrent-get of every torrent with the list fields: median of 5 (ms, bytes), the
#            slowest callback of a torrent-get (the loop time it cost)
#   rpc-add  N torrents added through torrent-add on a fresh daemon (4 clients): time, worst
#            callback
#   swarm    SCALE_PEERS light peers (handshake, bitfield, interested, one request a second)
#            connected to one seeding torrent: loop lag p50/p99 and daemon CPU over 30 s
# Each phase's worst callback is given twice, from the loop's health (`monitor health`): the one
# with the most wall time (with its own CPU time) and the one with the most CPU. On a shared
# machine the first may be mostly time the thread was descheduled; the second is the callback's
# own work, the figure the 20 ms budget is about.
# usage: tests/bench/scale.sh [N (10000)]   (from the repository top)
# env: DP_BIN=path/to/downpour (default build/downpour), SCALE_PHASE_SECS (600), SCALE_PEERS
#      (1000), SCALE_PHASES (all: "watch stop restart idle get rpc-add swarm"), SCALE_KEEP=1 keeps
#      the work directory, SCALE_REUSE=DIR runs on a work directory kept before (its torrents and
#      the s-watch session; use with SCALE_PHASES="restart idle get" to skip the watch phase).
#      Everything listens on 127.0.0.1; every process is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-10000}
dp=${DP_BIN:-$PWD/build/downpour}
case $dp in /*) ;; *) dp=$PWD/$dp ;; esac
[ -x "$dp" ] || { echo "scale.sh: no downpour at $dp: build it first" >&2; exit 1; }
command -v opentracker >/dev/null || { echo "scale.sh: opentracker is not installed" >&2; exit 1; }
if [ -n "${SCALE_REUSE:-}" ]; then
	W=$SCALE_REUSE
	[ -d "$W/s-watch" ] || { echo "scale.sh: $W has no kept s-watch session" >&2; exit 1; }
	SCALE_KEEP=1
else
	W=$(mktemp -d /tmp/dp-scale.XXXXXX)
fi
chmod 755 "$W"
cleanup() { if [ "${SCALE_KEEP:-0}" = 1 ]; then echo "scale.sh: kept $W" >&2; else rm -rf "$W"; fi; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
/usr/bin/python3 "$PWD/tests/bench/scale_driver.py" "$dp" "$W" "$n"
