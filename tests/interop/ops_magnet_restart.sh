#!/bin/bash
# ops_magnet_restart.sh: magnets that survive restarts. A daemon gets a magnet (watch dir) whose
# x.pe peer is not up yet, then a .torrent (RPC); SIGTERM and restart keep both with their ids
# and queue order, the magnet still fetching. A `downpour seed` then comes up on the x.pe port:
# the magnet completes byte-identical, its link file gives way to a .torrent, and after one more
# restart it is a normal torrent that rehashes nothing. A .torrent found next to its link (a
# crash between the two) wins and keeps the magnet's settings. The RPC's torrent-add of a fetching
# magnet's .torrent supplies the metadata (answered torrent-duplicate), and removing torrents
# removes their session files. $1 = the downpour binary. Exit 0 = pass.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: ops_magnet_restart.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
W=$(mktemp -d /tmp/dp-ops-magnet.XXXXXX)
SEED_PID= DAEMON_PID=
cleanup() {
	stop_pid "$DAEMON_PID" 10
	stop_pid "$SEED_PID" 10
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	for f in "$W"/*.log "$W"/s/downpour.log; do [ -f "$f" ] && { echo "== $f"; tail -n 40 "$f"; }; done >&2
	exit 1
}

# wait_log (lib.sh) looks at this run's log only: from line LOG0 on.
LOG0=1

# rpc METHOD JSON-ARGS: prints the reply's arguments as JSON (exit 1 unless "success").
cat > "$W/rpc.py" <<'PY'
import json, sys, urllib.request, urllib.error
port, method, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
url = "http://127.0.0.1:%s/transmission/rpc" % port
sid = ""
for _ in range(3):
    req = urllib.request.Request(url, data=json.dumps({"method": method, "arguments": args}).encode(),
                                 headers={"X-Transmission-Session-Id": sid})
    try:
        reply = json.load(urllib.request.urlopen(req, timeout=5))
    except urllib.error.HTTPError as e:
        if e.code == 409:
            sid = e.headers["X-Transmission-Session-Id"]
            continue
        raise
    print(json.dumps(reply.get("arguments", {})))
    sys.exit(0 if reply.get("result") == "success" else 1)
sys.exit(1)
PY
rpc() { /usr/bin/python3 "$W/rpc.py" "$RP" "$1" "$2"; }
# field ID FIELD: one field of torrent ID ("" when there is no such torrent).
field() {
	rpc torrent-get "{\"ids\": [$1], \"fields\": [\"$2\"]}" | /usr/bin/python3 -c '
import json, sys
t = json.load(sys.stdin)["torrents"]
v = t[0][sys.argv[1]] if t else ""
print(int(v) if isinstance(v, float) and v.is_integer() else v)' "$2"
}
start_daemon() {
	LOG0=$(( $(cat "$W/s/downpour.log" 2>/dev/null | wc -l) + 1 ))
	"$DP" daemon --foreground --config "$W/d.conf" --session "$W/s" --download-dir "$W/dl" \
	    --watch-dir "$W/watch" --port "$DPORT" --rpc --rpc-no-auth --rpc-port "$RP" >"$W/daemon$1.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 1 50); do rpc session-get '{}' >/dev/null 2>&1 && return 0; sleep 0.1; done
	fail "daemon run $1: the RPC does not answer"
}
stop_daemon() {
	kill -TERM "$DAEMON_PID"
	for _ in $(seq 1 100); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$DAEMON_PID" 2>/dev/null && fail "daemon still running 10 s after SIGTERM"
	wait "$DAEMON_PID"; local rc=$?
	[ "$rc" -eq 0 ] || fail "daemon exited $rc after SIGTERM"
	DAEMON_PID=
}

SP=$(free_port); DPORT=$(free_port); RP=$(free_port)
mkdir -p "$W/seed" "$W/dl" "$W/watch" "$W/other"
head -c 3000000 /dev/urandom > "$W/seed/payload.bin"
head -c 200000 /dev/urandom > "$W/other/other.bin"
head -c 300000 /dev/urandom > "$W/other/third.bin"
"$DP" create -o "$W/t.torrent" -s 32768 "$W/seed/payload.bin" >/dev/null 2>"$W/create.log" || fail "create"
"$DP" create -o "$W/o.torrent" -s 32768 "$W/other/other.bin" >/dev/null 2>>"$W/create.log" || fail "create o"
"$DP" create -o "$W/x.torrent" -s 32768 "$W/other/third.bin" >/dev/null 2>>"$W/create.log" || fail "create x"
hash_of() { "$DP" info --json "$1" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["info_hash"])'; }
HASH=$(hash_of "$W/t.torrent"); OHASH=$(hash_of "$W/o.torrent"); XHASH=$(hash_of "$W/x.torrent")
# o.torrent and dl2 are in $W: RPC paths must lie under an allowed directory.
cat > "$W/d.conf" <<CONF
listen_address = "127.0.0.1";
rpc = { allowed_dirs = ["$W"]; };
CONF

# Run 1: the magnet first (id 1, from the watch dir), then a .torrent (id 2, over the RPC).
start_daemon 1
echo "magnet:?xt=urn:btih:$HASH&dn=payload.bin&x.pe=127.0.0.1:$SP" > "$W/watch/m.tmp"
mv "$W/watch/m.tmp" "$W/watch/m.magnet"
for _ in $(seq 1 50); do [ -f "$W/watch/m.magnet.added" ] && break; sleep 0.1; done
[ -f "$W/watch/m.magnet.added" ] || fail "watched magnet not renamed .added"
rpc torrent-add "{\"filename\": \"$W/o.torrent\", \"paused\": true}" >/dev/null || fail "torrent-add o.torrent"
for _ in $(seq 1 50); do [ -f "$W/s/torrents/$HASH.magnet" ] && break; sleep 0.1; done
[ -f "$W/s/torrents/$HASH.magnet" ] || fail "no $HASH.magnet in the session directory"
grep -q "x.pe=127.0.0.1:$SP" "$W/s/torrents/$HASH.magnet" || fail "the link file lacks the magnet's peer"
[ -f "$W/s/torrents/$HASH.torrent" ] && fail "a .torrent for a magnet without metadata"
[ "$(field 1 hashString)" = "$HASH" ] || fail "run 1: id 1 is not the magnet"
[ "$(field 1 metadataPercentComplete)" = "0" ] || fail "run 1: the magnet has metadata?"
stop_daemon
[ -f "$W/s/resume/$HASH.resume" ] || fail "no resume file for the magnet"

# Run 2: both are back, in the same order, the magnet still fetching.
start_daemon 2
wait_log "session: 2 torrents loaded" 5 || fail "run 2: two torrents not loaded"
[ "$(field 1 hashString)" = "$HASH" ] || fail "run 2: id 1 is not the magnet: $(field 1 hashString)"
[ "$(field 2 hashString)" = "$OHASH" ] || fail "run 2: id 2 is not o.torrent"
[ "$(field 1 queuePosition)" = "0" ] || fail "run 2: the magnet's queue position $(field 1 queuePosition)"
[ "$(field 1 name)" = "payload.bin" ] || fail "run 2: the magnet's name $(field 1 name)"
[ "$(field 1 downloadDir)" = "$W/dl" ] || fail "run 2: the magnet's download dir $(field 1 downloadDir)"
[ "$(field 1 status)" = "4" ] || fail "run 2: the magnet is not running (status $(field 1 status))"
[ "$(field 2 status)" = "0" ] || fail "run 2: the paused torrent runs (status $(field 2 status))"
ADDED1=$(field 1 addedDate)
[ "$ADDED1" -gt 0 ] || fail "run 2: no added date"

# The .torrent of a fetching magnet over the RPC: torrent-duplicate, and the metadata is used.
rpc torrent-add "{\"filename\": \"magnet:?xt=urn:btih:$XHASH&dn=third\", \"paused\": true}" >/dev/null ||
    fail "torrent-add magnet x"
for _ in $(seq 1 50); do [ -f "$W/s/torrents/$XHASH.magnet" ] && break; sleep 0.1; done
[ -f "$W/s/torrents/$XHASH.magnet" ] || fail "no link file for the second magnet"
[ "$(field 3 totalSize)" = "0" ] || fail "magnet x knows its size before the metadata"
MI=$(base64 -w0 "$W/x.torrent")
rpc torrent-add "{\"metainfo\": \"$MI\"}" > "$W/dup.json" || fail "torrent-add x.torrent: $(cat "$W/dup.json")"
grep -q '"torrent-duplicate"' "$W/dup.json" || fail "not reported as a duplicate: $(cat "$W/dup.json")"
grep -q "\"hashString\": \"$XHASH\"" "$W/dup.json" || fail "duplicate names another torrent"
[ "$(field 3 totalSize)" = "300000" ] || fail "the .torrent did not supply the metadata (size $(field 3 totalSize))"
[ "$(field 3 status)" = "0" ] || fail "the paused magnet started when supplied"
for _ in $(seq 1 50); do [ -f "$W/s/torrents/$XHASH.magnet" ] || break; sleep 0.1; done
[ -f "$W/s/torrents/$XHASH.magnet" ] && fail "link file kept after the metadata arrived"
[ -f "$W/s/torrents/$XHASH.torrent" ] || fail "no .torrent after the metadata arrived"
# Removing it removes its session files.
rpc torrent-remove '{"ids": [3]}' >/dev/null || fail "torrent-remove 3"
for _ in $(seq 1 50); do [ -f "$W/s/torrents/$XHASH.torrent" ] || break; sleep 0.1; done
[ -f "$W/s/torrents/$XHASH.torrent" ] && fail ".torrent kept after removal"
[ -f "$W/s/resume/$XHASH.resume" ] && fail "resume file kept after removal"
# A magnet removed while fetching: its link and resume file go.
rpc torrent-add "{\"filename\": \"magnet:?xt=urn:btih:$XHASH\"}" >/dev/null || fail "torrent-add magnet x again"
for _ in $(seq 1 50); do [ -f "$W/s/torrents/$XHASH.magnet" ] && break; sleep 0.1; done
[ -f "$W/s/torrents/$XHASH.magnet" ] || fail "no link file for the re-added magnet"
sleep 3.5   # its resume file is written within the debounce time
[ -f "$W/s/resume/$XHASH.resume" ] || fail "no resume file for the re-added magnet"
rpc torrent-remove '{"ids": [4]}' >/dev/null || fail "torrent-remove 4"
for _ in $(seq 1 50); do [ -f "$W/s/torrents/$XHASH.magnet" ] || break; sleep 0.1; done
[ -f "$W/s/torrents/$XHASH.magnet" ] && fail "link file kept after removal"
[ -f "$W/s/resume/$XHASH.resume" ] && fail "magnet resume file kept after removal"

# The x.pe peer comes up: metadata, then the data.
"$DP" seed --config <(echo 'listen_address = "127.0.0.1";') -o "$W/seed" --port "$SP" \
    "$W/t.torrent" >"$W/seed.log" 2>&1 &
SEED_PID=$!
wait_log "payload.bin: metadata received and verified" 60 || fail "no metadata from the seeder within 60 s"
for _ in $(seq 1 600); do [ "$(field 1 percentDone)" = "1" ] && break; sleep 0.1; done
[ "$(field 1 percentDone)" = "1" ] || fail "the magnet did not complete (percentDone $(field 1 percentDone))"
cmp -s "$W/seed/payload.bin" "$W/dl/payload.bin" || fail "downloaded data differs from the seed's"
[ -f "$W/s/torrents/$HASH.torrent" ] || fail "no .torrent after the metadata"
[ -f "$W/s/torrents/$HASH.magnet" ] && fail "link file kept after the metadata"
[ "$(field 1 addedDate)" = "$ADDED1" ] || fail "added date changed: $(field 1 addedDate) vs $ADDED1"
stop_daemon
stop_pid "$SEED_PID" 10; SEED_PID=

# Run 3: a normal torrent, seeding, nothing rehashed.
start_daemon 3
wait_log "session: 2 torrents loaded" 5 || fail "run 3: two torrents not loaded"
[ "$(field 1 hashString)" = "$HASH" ] || fail "run 3: id 1 is not payload.bin"
[ "$(field 1 percentDone)" = "1" ] || fail "run 3: not complete"
[ "$(field 1 status)" = "6" ] || fail "run 3: not seeding (status $(field 1 status))"
[ "$(field 1 addedDate)" = "$ADDED1" ] || fail "run 3: added date changed"
kill -USR1 "$DAEMON_PID"
wait_log "pieces hashed since start: 0" 5 ||
    fail "restart rehashed: $(grep 'pieces hashed' "$W/s/downpour.log" | tail -1)"
ls "$W"/s/torrents/*.magnet >/dev/null 2>&1 && fail "link files left: $(ls "$W"/s/torrents)"
# A paused magnet with its own download dir, then a crash right after its .torrent was written:
# the .torrent, the link and the magnet's resume file are all there at the next start.
mkdir -p "$W/dl2"
rpc torrent-add "{\"filename\": \"magnet:?xt=urn:btih:$XHASH\", \"paused\": true, \"download-dir\": \"$W/dl2\"}" \
    >/dev/null || fail "torrent-add magnet x with a download dir"
for _ in $(seq 1 50); do [ -f "$W/s/resume/$XHASH.resume" ] && break; sleep 0.1; done
[ -f "$W/s/resume/$XHASH.resume" ] || fail "no resume file for the paused magnet"
stop_daemon
cp "$W/x.torrent" "$W/s/torrents/$XHASH.torrent"
[ -f "$W/s/torrents/$XHASH.magnet" ] || fail "no link file for the paused magnet"

# Run 4: the .torrent wins, the link goes, the magnet's download dir and stopped state hold.
start_daemon 4
wait_log "session: 3 torrents loaded" 5 || fail "run 4: three torrents not loaded"
wait_log "$XHASH.magnet: the metadata was saved as a .torrent; removing the link" 1 ||
    fail "run 4: the link was not given up for the .torrent"
[ -f "$W/s/torrents/$XHASH.magnet" ] && fail "run 4: link file kept next to its .torrent"
[ "$(field 3 hashString)" = "$XHASH" ] || fail "run 4: id 3 is not third.bin"
[ "$(field 3 totalSize)" = "300000" ] || fail "run 4: third.bin's size $(field 3 totalSize)"
[ "$(field 3 downloadDir)" = "$W/dl2" ] || fail "run 4: the magnet's download dir was lost: $(field 3 downloadDir)"
[ "$(field 3 status)" = "0" ] || fail "run 4: the paused magnet runs (status $(field 3 status))"
[ "$(field 1 status)" = "6" ] || fail "run 4: payload.bin is not seeding"
stop_daemon
echo "PASS: ops_magnet_restart"
