#!/bin/bash
# harden_magnet_peers.sh: a magnet's peer hints (x.pe) outlive a restart after its metadata came
# (issue 11, finding 14). A daemon gets a magnet whose only source is its x.pe peer (no tracker;
# DHT and LSD find nothing on loopback), fetches the metadata and part of the data under a speed
# limit, and is stopped; the restart, limit lifted, still knows the peer and completes
# byte-identical. Before: the link file (with x.pe) gave way to the .torrent when the metadata
# came, so the restart had no source and sat below 100 %.
# $1 = the downpour binary.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: harden_magnet_peers.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/dp-harden-xpe.XXXXXX)
DPID= SEED_PID=
cleanup() {
	stop_pid "$DPID" 10
	stop_pid "$SEED_PID" 10
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	tail -n 30 "$W/s/downpour.log" >&2 2>/dev/null
	exit 1
}
RP=$(free_port); PORT=$(free_port); SP=$(free_port)
rpc() { /usr/bin/python3 "$HERE/rpc_call.py" "$RP" "$@"; }
field() {
	rpc torrent-get '{"ids": [1], "fields": ["'"$1"'"]}' | /usr/bin/python3 -c '
import json, sys
t = json.load(sys.stdin)["arguments"]["torrents"]
v = t[0][sys.argv[1]] if t else ""
print(int(v) if isinstance(v, float) and v.is_integer() else v)' "$1"
}
pct() { field percentDone | awk '{ printf "%d", $1 * 100 }'; }
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

printf 'listen_address = "127.0.0.1";\n' >"$W/d.conf"
mkdir -p "$W/seed" "$W/dl"
head -c 4000000 /dev/urandom >"$W/seed/payload.bin"
"$DP" create -o "$W/t.torrent" -s 32768 "$W/seed/payload.bin" >/dev/null 2>&1 || fail "create"
HASH=$("$DP" info --json "$W/t.torrent" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["info_hash"])')
"$DP" seed --config <(echo 'listen_address = "127.0.0.1";') -o "$W/seed" --port "$SP" \
    "$W/t.torrent" >"$W/seed.log" 2>&1 &
SEED_PID=$!

start
rpc session-set '{"speed-limit-down": 200, "speed-limit-down-enabled": true}' >/dev/null ||
	fail "session-set speed-limit-down"
rpc torrent-add "{\"filename\": \"magnet:?xt=urn:btih:$HASH&dn=payload.bin&x.pe=127.0.0.1:$SP\"}" \
    >/dev/null || fail "torrent-add magnet"
for _ in $(seq 1 300); do [ -f "$W/s/torrents/$HASH.torrent" ] && break; sleep 0.1; done
[ -f "$W/s/torrents/$HASH.torrent" ] || fail "no metadata from the x.pe peer in 30 s"
for _ in $(seq 1 300); do [ "$(pct)" -ge 10 ] && break; sleep 0.1; done
P1=$(pct)
[ "$P1" -ge 10 ] && [ "$P1" -lt 100 ] || fail "the limited download is at $P1 %, not partway"
stop
[ -f "$W/s/torrents/$HASH.magnet" ] && fail "the magnet's link file is still there"

start
rpc session-set '{"speed-limit-down-enabled": false}' >/dev/null || fail "session-set"
for _ in $(seq 1 400); do [ "$(pct)" = 100 ] && break; sleep 0.1; done
P2=$(pct)
[ "$P2" = 100 ] || fail "after the restart the download sits at $P2 %: the x.pe peer was forgotten"
cmp -s "$W/seed/payload.bin" "$W/dl/payload.bin" || fail "the data differs from the seed's"
stop
echo "PASS: harden_magnet_peers (stopped at $P1 %, completed after the restart from the x.pe peer)"
