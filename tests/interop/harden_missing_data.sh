#!/bin/bash
# harden_missing_data.sh: data that went missing while the daemon was down (issue 11, finding
# 10). A daemon seeds a torrent of three files; stopped, one file is deleted: the restart shows
# the torrent below 100 % in the error state naming the file, and `start` does not make it 100 %
# while the file is missing (it downloads). A file truncated while down: below 100 % with the
# reason after the recheck. A file only touched: its pieces alone are rechecked and the torrent
# seeds at 100 %. A file deleted while seeding: the first read fails, the torrent names it and
# its pieces are no longer claimed. Before: the restart showed 100 % and seeded, the error came
# only when a peer asked, and `start` put it back to 100 % with the file still missing.
# $1 = the downpour binary.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: harden_missing_data.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/dp-harden-missing.XXXXXX)
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
# field NAME: the torrent's field (id 1).
field() {
	rpc torrent-get '{"ids": [1], "fields": ["'"$1"'"]}' | /usr/bin/python3 -c '
import json, sys
t = json.load(sys.stdin)["arguments"]["torrents"]
v = t[0][sys.argv[1]] if t else ""
print(int(v) if isinstance(v, float) and v.is_integer() else v)' "$1"
}
LOG0=1
start() {
	LOG0=$(( $(cat "$W/s/downpour.log" 2>/dev/null | wc -l) + 1 ))
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
# settle: waits (bounded) until the torrent is neither checking (1, 2) nor waiting to.
settle() {
	local st
	for _ in $(seq 1 100); do
		st=$(field status)
		case "$st" in 0|4|6) return 0 ;; esac
		sleep 0.1
	done
	fail "the torrent stays in status $st"
}
done_pct() { field percentDone | awk '{ printf "%d", $1 * 100 }'; }

printf 'listen_address = "127.0.0.1";\nrpc = { allowed_dirs = ["%s"]; };\n' "$W" >"$W/d.conf"
mkdir -p "$W/dl/set"
head -c 300000 /dev/urandom >"$W/dl/set/a.bin"
head -c 300000 /dev/urandom >"$W/dl/set/b.bin"
head -c 300000 /dev/urandom >"$W/dl/set/c.bin"
cp -a "$W/dl/set" "$W/orig"
"$DP" create -o "$W/t.torrent" -s 32768 "$W/dl/set" >/dev/null 2>&1 || fail "create"

# Seeding, complete.
start
rpc torrent-add "{\"filename\": \"$W/t.torrent\"}" >/dev/null || fail "torrent-add"
settle
[ "$(field status)" = 6 ] || fail "the complete torrent does not seed (status $(field status))"
stop

# 1. b.bin deleted while the daemon was down.
rm "$W/dl/set/b.bin"
start
settle
PCT=$(done_pct)
[ "$PCT" -lt 100 ] || fail "b.bin is gone, yet the torrent shows $PCT %"
ERR=$(field errorString)
case "$ERR" in *b.bin*) ;; *) fail "the torrent does not say b.bin is missing: '$ERR'" ;; esac
[ "$(field error)" != 0 ] || fail "no error state for the missing file"
[ "$(field status)" = 0 ] || fail "the torrent with missing data runs (status $(field status))"
echo "restart with b.bin missing: $PCT %, error '$ERR'"
# start does not make it 100 % while b.bin is missing.
rpc torrent-start '{"ids": [1]}' >/dev/null || fail "torrent-start"
settle
PCT2=$(done_pct)
[ "$PCT2" -lt 100 ] || fail "start put the torrent back to $PCT2 % with b.bin missing"
[ "$(field status)" = 4 ] || fail "started, the torrent does not download (status $(field status))"
stop

# 2. b.bin back and complete (as a peer would have sent it), a.bin truncated while down.
cp -p "$W/orig/b.bin" "$W/dl/set/b.bin"
start
settle
rpc torrent-verify '{"ids": [1]}' >/dev/null || fail "torrent-verify"
sleep 0.5
settle
[ "$(done_pct)" = 100 ] || fail "b.bin restored and verified, yet $(done_pct) %"
rpc torrent-start '{"ids": [1]}' >/dev/null
settle
stop
truncate -s 100000 "$W/dl/set/a.bin"
start
settle
PCT=$(done_pct)
[ "$PCT" -lt 100 ] || fail "a.bin is truncated, yet the torrent shows $PCT %"
ERR=$(field errorString)
[ -n "$ERR" ] || fail "the torrent does not say why it lost data (a.bin truncated)"
echo "restart with a.bin truncated: $PCT %, error '$ERR'"
stop

# 3. Everything back; then c.bin only touched while down: its pieces alone are rechecked.
cp -p "$W/orig/a.bin" "$W/dl/set/a.bin"
start
settle
rpc torrent-verify '{"ids": [1]}' >/dev/null || fail "torrent-verify"
sleep 0.5
settle
rpc torrent-start '{"ids": [1]}' >/dev/null
settle
[ "$(done_pct)" = 100 ] || fail "all files restored and verified, yet $(done_pct) %"
stop
touch -d '2020-01-01 00:00:00' "$W/dl/set/c.bin"
start
settle
wait_log "1 file changed since the last save: rechecking" 5 ||
	fail "touching c.bin did not trigger a recheck of its pieces"
NR=$(sed -n "$LOG0,\$p" "$W/s/downpour.log" | grep -o 'changed since the last save: rechecking [0-9]*' |
    awk '{ print $NF }' | tail -n 1)
# c.bin is 300,000 bytes from offset 600,000: pieces 18 to 27 of 32 KiB (10).
[ "$NR" = 10 ] || fail "$NR pieces rechecked for the touched c.bin, not its 10"
[ "$(done_pct)" = 100 ] || fail "touched only, yet $(done_pct) %"
[ "$(field status)" = 6 ] || fail "touched only: not seeding (status $(field status))"
[ "$(field error)" = 0 ] || fail "touched only: an error '$(field errorString)'"

# 4. c.bin deleted while seeding: a peer's request fails, the torrent names it, its pieces go.
rm "$W/dl/set/c.bin"
/usr/bin/python3 - "$PORT" "$W/t.torrent" "$DP" <<'PY' || fail "the leecher could not ask for a piece"
import hashlib, json, socket, struct, subprocess, sys, time
port, tpath, dp = int(sys.argv[1]), sys.argv[2], sys.argv[3]
info = json.loads(subprocess.run([dp, "info", "--json", tpath], capture_output=True, text=True).stdout)
ih = bytes.fromhex(info["info_hash"])
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"\x13BitTorrent protocol" + bytes(8) + ih + b"-XX0001-" + bytes(12))
def recv(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit(0)   # the seeder closed: it failed to read, as expected
        b += c
    return b
recv(68)
s.sendall(struct.pack(">IB", 1, 2))   # interested
deadline = time.time() + 10
asked = False
while time.time() < deadline:
    try:
        n = struct.unpack(">I", recv(4))[0]
    except socket.timeout:
        break
    msg = recv(n) if n else b""
    if msg[:1] == b"\x01" and not asked:   # unchoke: ask for a block of piece 20 (c.bin)
        s.sendall(struct.pack(">IBIII", 13, 6, 20, 0, 16384))
        asked = True
PY
for _ in $(seq 1 50); do [ "$(field error)" != 0 ] && break; sleep 0.1; done
ERR=$(field errorString)
case "$ERR" in *c.bin*) ;; *) fail "the failed read does not name c.bin: '$ERR'" ;; esac
PCT=$(done_pct)
[ "$PCT" -lt 100 ] || fail "c.bin failed to read, yet the torrent shows $PCT %"
rpc torrent-start '{"ids": [1]}' >/dev/null
settle
[ "$(done_pct)" -lt 100 ] || fail "start put the torrent back to 100 % with c.bin missing"
echo "deleted while seeding: $PCT %, error '$ERR'"
echo "PASS: harden_missing_data"
