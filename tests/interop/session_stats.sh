#!/bin/bash
# session_stats.sh: session-stats keeps this run and all runs apart (issue 13: "this session"
# statistics showed all-time figures; cumulative-stats equalled current-stats and was lost at a
# restart). A daemon seeds a torrent to `downpour get` on loopback, is restarted once and seeds
# it again: after the restart current-stats starts at 0 bytes, 0 files added and sessionCount
# 1, cumulative-stats keeps the first run's bytes and files (>= them), counts 2 runs, and grows
# with the second transfer; the torrent's uploadedEver holds both transfers. $1 = downpour.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: session_stats.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/dp-session-stats.XXXXXX)
DPID=
cleanup() {
	stop_pid "$DPID" 10
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	tail -n 30 "$W/s/downpour.log" >&2 2>/dev/null
	exit 1
}
RP=$(free_port)
PORT=$(free_port)
rpc() { /usr/bin/python3 "$HERE/rpc_call.py" "$RP" "$@"; }
# stat WHICH KEY: session-stats' WHICH ("current-stats", "cumulative-stats") KEY.
stat() {
	rpc session-stats | /usr/bin/python3 -c '
import json, sys
print(int(json.load(sys.stdin)["arguments"][sys.argv[1]][sys.argv[2]]))' "$1" "$2"
}
start() {
	"$DP" daemon --foreground --config "$W/d.conf" --session "$W/s" --download-dir "$W/dl" \
	    --port "$PORT" --rpc --rpc-no-auth --rpc-port "$RP" >"$W/daemon.out" 2>&1 &
	DPID=$!
	for _ in $(seq 1 100); do rpc session-get >/dev/null 2>&1 && return 0; sleep 0.1; done
	fail "the daemon's RPC does not answer"
}
stop() {
	kill -TERM "$DPID"
	for _ in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$DPID" 2>/dev/null && fail "the daemon is still running 10 s after SIGTERM"
	wait "$DPID"
	DPID=
}
# seeding: waits (bounded) until torrent 1 seeds.
seeding() {
	local st=
	for _ in $(seq 1 100); do
		st=$(rpc torrent-get '{"ids": [1], "fields": ["status"]}' | /usr/bin/python3 -c '
import json, sys
t = json.load(sys.stdin)["arguments"]["torrents"]
print(t[0]["status"] if t else "")')
		[ "$st" = 6 ] && return 0
		sleep 0.1
	done
	fail "the torrent does not seed (status '$st')"
}
# fetch N: `downpour get` downloads the torrent from the daemon into $W/getN.
fetch() {
	timeout 60 "$DP" get --config "$W/get.conf" -o "$W/get$1" --port "$(free_port)" \
	    --peer "127.0.0.1:$PORT" "$W/t.torrent" >"$W/get$1.log" 2>&1 ||
	    fail "get $1 did not complete: $(tail -n 3 "$W/get$1.log")"
	cmp -s "$W/dl/data.bin" "$W/get$1/data.bin" || fail "get $1: the data differs"
}

SIZE=1500000
printf 'listen_address = "127.0.0.1";\ndht = false;\nlsd = false;\n' >"$W/get.conf"
{ cat "$W/get.conf"; printf 'rpc = { allowed_dirs = ["%s"]; };\n' "$W"; } >"$W/d.conf"
mkdir -p "$W/dl"
head -c "$SIZE" /dev/urandom >"$W/dl/data.bin"
"$DP" create -o "$W/t.torrent" -s 32768 "$W/dl/data.bin" >/dev/null 2>&1 || fail "create"

# Run 1: a torrent added (one file), seeded once.
start
rpc torrent-add "{\"filename\": \"$W/t.torrent\"}" >/dev/null || fail "torrent-add"
seeding
fetch 1
UP1=$(stat current-stats uploadedBytes)
[ "$UP1" -ge "$SIZE" ] || fail "run 1 uploaded $UP1 bytes, less than the torrent ($SIZE)"
[ "$(stat current-stats filesAdded)" = 1 ] || fail "run 1: filesAdded is not 1"
[ "$(stat current-stats sessionCount)" = 1 ] || fail "run 1: current sessionCount is not 1"
[ "$(stat cumulative-stats sessionCount)" = 1 ] || fail "run 1: cumulative sessionCount is not 1"
[ "$(stat cumulative-stats uploadedBytes)" -ge "$UP1" ] || fail "run 1: cumulative < current"
sleep 1.2   # a second of activity to count
stop
[ -s "$W/s/stats" ] || fail "no SESSION/stats after the first run"

# Run 2: the same session directory.
start
seeding
CUR=$(stat current-stats uploadedBytes)
[ "$CUR" = 0 ] || fail "after the restart current-stats starts at $CUR bytes, not 0"
[ "$(stat current-stats filesAdded)" = 0 ] || fail "a restored torrent counted as added"
[ "$(stat current-stats sessionCount)" = 1 ] || fail "run 2: current sessionCount is not 1"
[ "$(stat cumulative-stats sessionCount)" = 2 ] || fail "run 2: cumulative sessionCount is not 2"
CUM=$(stat cumulative-stats uploadedBytes)
[ "$CUM" -ge "$UP1" ] || fail "cumulative uploadedBytes $CUM lost the first run's $UP1"
[ "$(stat cumulative-stats filesAdded)" -ge 1 ] || fail "cumulative filesAdded lost run 1's"
[ "$(stat cumulative-stats secondsActive)" -ge 1 ] || fail "cumulative secondsActive lost run 1's"
fetch 2
UP2=$(stat current-stats uploadedBytes)
[ "$UP2" -ge "$SIZE" ] || fail "run 2 uploaded $UP2 bytes, less than the torrent"
CUM2=$(stat cumulative-stats uploadedBytes)
[ "$CUM2" -ge $(( UP1 + UP2 )) ] || fail "cumulative $CUM2 < run 1's $UP1 + run 2's $UP2"
EVER=$(rpc torrent-get '{"ids": [1], "fields": ["uploadedEver"]}' | /usr/bin/python3 -c '
import json, sys
print(int(json.load(sys.stdin)["arguments"]["torrents"][0]["uploadedEver"]))')
[ "$EVER" -ge $(( 2 * SIZE )) ] || fail "uploadedEver $EVER does not hold both transfers"
stop
echo "PASS: session-stats: run 1 up $UP1, run 2 up $UP2, cumulative $CUM2 over 2 runs"
