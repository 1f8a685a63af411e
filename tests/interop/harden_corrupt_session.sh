#!/bin/bash
# harden_corrupt_session.sh: a corrupt .torrent in the session directory (issue 11, finding 15).
# A daemon keeps two torrents; stopped, one's copy in SESSION/torrents is overwritten with
# garbage. The restart lists both: the good one as before, the corrupt one in the error state
# with the reason, so the user sees it; removing it removes its session files, and the next
# restart lists the good one alone, with no error. Before: the corrupt torrent vanished from the
# list with one log line, its files left behind.
# $1 = the downpour binary.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: harden_corrupt_session.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/dp-harden-corrupt.XXXXXX)
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
RP=$(free_port); PORT=$(free_port)
rpc() { /usr/bin/python3 "$HERE/rpc_call.py" "$RP" "$@"; }
# list: "hashString error errorString" per torrent, sorted by hash.
list() {
	rpc torrent-get '{"fields": ["hashString", "error", "errorString"]}' | /usr/bin/python3 -c '
import json, sys
for t in sorted(json.load(sys.stdin)["arguments"]["torrents"], key=lambda t: t["hashString"]):
    print(t["hashString"], t["error"], t["errorString"])'
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
hash_of() { "$DP" info --json "$1" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["info_hash"])'; }

printf 'listen_address = "127.0.0.1";\nrpc = { allowed_dirs = ["%s"]; };\n' "$W" >"$W/d.conf"
mkdir -p "$W/dl" "$W/src"
head -c 100000 /dev/urandom >"$W/src/good.bin"
head -c 100000 /dev/urandom >"$W/src/bad.bin"
"$DP" create -o "$W/good.torrent" -s 16384 "$W/src/good.bin" >/dev/null 2>&1 || fail "create"
"$DP" create -o "$W/bad.torrent" -s 16384 "$W/src/bad.bin" >/dev/null 2>&1 || fail "create"
GOOD=$(hash_of "$W/good.torrent"); BAD=$(hash_of "$W/bad.torrent")

start
rpc torrent-add "{\"filename\": \"$W/good.torrent\", \"paused\": true}" >/dev/null || fail "add good"
rpc torrent-add "{\"filename\": \"$W/bad.torrent\", \"paused\": true}" >/dev/null || fail "add bad"
for _ in $(seq 1 50); do [ -f "$W/s/torrents/$BAD.torrent" ] && break; sleep 0.1; done
stop
[ -f "$W/s/torrents/$BAD.torrent" ] || fail "no session copy of bad.torrent"
printf 'd4:infod6:lengthi-5e4:name' >"$W/s/torrents/$BAD.torrent"

start
L=$(list)
[ "$(echo "$L" | wc -l)" = 2 ] || fail "the corrupt torrent is not listed: $L"
echo "$L" | grep -q "^$GOOD 0 $" || fail "the good torrent changed: $L"
LINE=$(echo "$L" | grep "^$BAD ")
[ -n "$LINE" ] || fail "the corrupt torrent is listed under another hash: $L"
case "$LINE" in "$BAD 0 "*) fail "the corrupt torrent is not in the error state: $LINE" ;; esac
case "$LINE" in *"$BAD.torrent unusable"*) ;; *) fail "no reason given: $LINE" ;; esac
echo "listed: $LINE"
ID=$(rpc torrent-get '{"fields": ["id", "hashString"]}' | /usr/bin/python3 -c '
import json, sys
print([t["id"] for t in json.load(sys.stdin)["arguments"]["torrents"] if t["hashString"] == sys.argv[1]][0])' "$BAD")
rpc torrent-remove "{\"ids\": [$ID]}" >/dev/null || fail "torrent-remove"
for _ in $(seq 1 50); do [ -f "$W/s/torrents/$BAD.torrent" ] || break; sleep 0.1; done
[ -f "$W/s/torrents/$BAD.torrent" ] && fail "removing the listed torrent left its corrupt file"
stop

start
L=$(list)
[ "$L" = "$GOOD 0 " ] || fail "after the removal and a restart the list is: $L"
stop
echo "PASS: harden_corrupt_session"
