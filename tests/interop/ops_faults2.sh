#!/bin/bash
# ops_faults2.sh: disk faults beyond ENOSPC for a daemon run as user nobody, driven over the RPC:
# a download directory nobody may write (EACCES), a missing download directory that can't be
# created, and a read-only filesystem (a tmpfs remounted ro; EROFS). Each torrent enters the
# error state with the reason while another torrent completes; after the cause is fixed an RPC
# torrent-start resumes it to a byte-identical finish; a daemon restart before the fix keeps
# each torrent in error with its message. Then session-set
# changes survive a daemon restart and a SIGHUP (settings.conf in the session directory).
# $1 = the downpour binary. Needs root (setpriv, mount) and opentracker.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: ops_faults2.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
W=$(mktemp -d /tmp/dp-ops-faults2.XXXXXX)
PIDS=() MOUNTED=
daemon_pid() { cat "$W/s/downpour.pid" 2>/dev/null; }
cleanup() {
	stop_pid "$(daemon_pid)"
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	[ -n "$MOUNTED" ] && umount "$W/ro" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	tail -n 40 "$W/s/downpour.log" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root (setpriv, mount)"; exit 1; }
command -v opentracker >/dev/null || { echo "FAIL: opentracker is not installed"; exit 1; }
command -v setpriv >/dev/null || { echo "FAIL: setpriv is not installed"; exit 1; }

TP=$(free_port) DPORT=$(free_port) RP=$(free_port)
chmod 755 "$W"
mkdir -p "$W/seed" "$W/trk" "$W/s" "$W/dl" "$W/locked" "$W/mnt" "$W/ro"
chown nobody:nogroup "$W/s" "$W/dl"
chmod 755 "$W/trk" "$W/seed" "$W/locked" "$W/mnt"
for f in ok locked missing ro; do
	head -c 1500000 /dev/urandom > "$W/seed/$f.bin"
	"$DP" create -o "$W/$f.torrent" -s 32768 -t "http://127.0.0.1:$TP/announce" \
	    "$W/seed/$f.bin" >/dev/null 2>&1 || fail "create $f"
	hash_of "$W/$f.torrent" >> "$W/trk/whitelist.txt"
done
chmod 644 "$W"/*.torrent
# A copy nobody can run wherever the build tree lives.
install -m 755 "$DP" "$W/downpour"
opentracker -i 127.0.0.1 -p "$TP" -P "$TP" -d "$W/trk" -w whitelist.txt >"$W/tracker.log" 2>&1 &
PIDS+=($!)
printf 'listen_address = "127.0.0.1";\nupload_rate_limit = 2000000;\n' > "$W/seed.conf"
for f in ok locked missing ro; do
	"$DP" seed --config "$W/seed.conf" -o "$W/seed" --port "$(free_port)" "$W/$f.torrent" \
	    >"$W/seed-$f.out" 2>&1 &
	PIDS+=($!)
done
# The read-only filesystem: a small tmpfs, mounted ro before the torrent writes to it.
mount -t tmpfs -o size=8m,mode=1777 tmpfs "$W/ro" || fail "mount tmpfs"
MOUNTED=1
mount -o remount,ro "$W/ro" || fail "remount ro"

cat > "$W/d.conf" <<CONF
listen_address = "127.0.0.1";
download_dir = "$W/dl";
max_active_downloads = 5;
# The .torrent files and the other download directories are in $W (RPC paths are confined).
rpc = { allowed_dirs = ["$W"]; };
CONF
chmod 644 "$W/d.conf"
rpc() { /usr/bin/python3 "$(dirname "$0")/rpc_call.py" "$RP" "$@"; }
# field NAME ID FIELD: one torrent-get field of one torrent.
field() {
	rpc torrent-get "{\"ids\":[$1],\"fields\":[\"$2\"]}" |
	    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["arguments"]["torrents"][0][sys.argv[1]])' "$2"
}
start_daemon() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$W/downpour" daemon --config "$W/d.conf" --session "$W/s" --port "$DPORT" --rpc-no-auth --rpc-port "$RP" \
	    2>>"$W/daemon.err" || fail "daemon start: $(cat "$W/daemon.err")"
}
add() {   # add NAME DIR -> prints the id
	rpc torrent-add "{\"filename\":\"$W/$1.torrent\",\"download-dir\":\"$2\"}" |
	    /usr/bin/python3 -c 'import json,sys; a=json.load(sys.stdin)["arguments"]; print((a.get("torrent-added") or a["torrent-duplicate"])["id"])'
}

start_daemon
[ "$(stat -c %U "/proc/$(daemon_pid)")" = nobody ] || fail "the daemon does not run as nobody"
ID_OK=$(add ok "$W/dl") || fail "add ok"
ID_LOCKED=$(add locked "$W/locked") || fail "add locked"
ID_MISSING=$(add missing "$W/mnt/dl") || fail "add missing"
ID_RO=$(add ro "$W/ro") || fail "add ro"

# Each faulty torrent: the error state with the reason, seen in the RPC and the log.
wait_log "locked.bin: .*Permission denied" 30 || fail "locked: no EACCES error"
wait_log "missing.bin: .*$W/mnt/dl.*Permission denied" 30 || fail "missing: no error"
wait_log "ro.bin: .*Read-only file system" 30 || fail "ro: no EROFS error"
for id in "$ID_LOCKED" "$ID_MISSING" "$ID_RO"; do
	[ "$(field "$id" error)" = 3 ] || fail "torrent $id: RPC error is not 3 (local error)"
	[ -n "$(field "$id" errorString)" ] || fail "torrent $id: empty errorString"
done
field "$ID_RO" errorString | grep -q "Read-only file system" || fail "ro: errorString"
# The others continue: ok completes byte-identical.
wait_log "ok.bin: download complete" 30 || fail "ok did not complete beside the errors"
cmp -s "$W/seed/ok.bin" "$W/dl/ok.bin" || fail "ok data differs"
[ "$(field "$ID_LOCKED" status)" = 0 ] || fail "locked is not stopped"

# A daemon restart keeps each error state and its message (it came back as downloading until it
# failed again): the resume file carries the error. Ids may change: found again by info-hash.
id_of() {
	rpc torrent-get "{\"ids\":[\"$(hash_of "$W/$1.torrent")\"],\"fields\":[\"id\"]}" |
	    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["arguments"]["torrents"][0]["id"])'
}
stop_pid "$(daemon_pid)"
: > "$W/s/downpour.log"
start_daemon
wait_log "ro.bin: still in the error state" 10 || fail "restart: ro is not restored in error"
ID_LOCKED=$(id_of locked) && ID_MISSING=$(id_of missing) && ID_RO=$(id_of ro) ||
    fail "restart: torrents not found by hash"
sleep 2
for id in "$ID_LOCKED" "$ID_MISSING" "$ID_RO"; do
	[ "$(field "$id" error)" = 3 ] || fail "restart: torrent $id left the error state"
	[ "$(field "$id" status)" = 0 ] || fail "restart: torrent $id is not stopped"
done
field "$ID_RO" errorString | grep -q "Read-only file system" || fail "restart: ro errorString"
field "$ID_LOCKED" errorString | grep -q "Permission denied" || fail "restart: locked errorString"
echo "restart: the three torrents are still in error with their messages"

# Fix each cause and start the torrent over the RPC: it resumes and completes.
chown nobody:nogroup "$W/locked"
mkdir -p "$W/mnt/dl" && chown nobody:nogroup "$W/mnt/dl"
mount -o remount,rw "$W/ro" || fail "remount rw"
rpc torrent-start "{\"ids\":[$ID_LOCKED,$ID_MISSING,$ID_RO]}" >/dev/null || fail "torrent-start"
wait_log "locked.bin: download complete" 40 || fail "locked did not complete after the fix"
wait_log "missing.bin: download complete" 40 || fail "missing did not complete after the fix"
wait_log "ro.bin: download complete" 40 || fail "ro did not complete after the fix"
cmp -s "$W/seed/locked.bin" "$W/locked/locked.bin" || fail "locked data differs"
cmp -s "$W/seed/missing.bin" "$W/mnt/dl/missing.bin" || fail "missing data differs"
cmp -s "$W/seed/ro.bin" "$W/ro/ro.bin" || fail "ro data differs"
for id in "$ID_LOCKED" "$ID_MISSING" "$ID_RO"; do
	[ "$(field "$id" error)" = 0 ] || fail "torrent $id still reports an error"
	[ "$(field "$id" percentDone)" = 1.0 ] || fail "torrent $id is not done"
done
echo "faults: EACCES, missing dir and EROFS each errored and completed after torrent-start"

# session-set survives a restart and a SIGHUP reload of a config that says otherwise.
rpc session-set '{"speed-limit-down":700,"speed-limit-down-enabled":true,"download-queue-size":3,"download-queue-enabled":true,"seedRatioLimit":4,"seedRatioLimited":true,"start-added-torrents":false}' \
    >/dev/null || fail "session-set"
for _ in $(seq 1 50); do grep -q 'start_paused' "$W/s/settings.conf" 2>/dev/null && break; sleep 0.1; done
grep -q 'download_rate_limit = "700000"' "$W/s/settings.conf" || fail "settings.conf not written"
[ "$(stat -c %U "$W/s/settings.conf")" = nobody ] || fail "settings.conf owner"
stop_pid "$(daemon_pid)"
start_daemon
S=$(rpc session-get '{"fields":["speed-limit-down","speed-limit-down-enabled","download-queue-size","seedRatioLimit","start-added-torrents"]}') ||
    fail "session-get"
echo "$S" | /usr/bin/python3 -c '
import json, sys
a = json.load(sys.stdin)["arguments"]
want = {"speed-limit-down": 700, "speed-limit-down-enabled": True, "download-queue-size": 3,
        "seedRatioLimit": 4.0, "start-added-torrents": False}
bad = {k: a.get(k) for k in want if a.get(k) != want[k]}
sys.exit("after restart: %s" % bad if bad else 0)' || fail "settings lost in the restart"
sed -i 's/^max_active_downloads = .*/max_active_downloads = 1;/' "$W/d.conf"
printf 'download_rate_limit = 1000;\n' >> "$W/d.conf"
: > "$W/s/downpour.log"
kill -HUP "$(daemon_pid)"
wait_log "SIGHUP: configuration reloaded" 5 || fail "no reload"
S=$(rpc session-get '{"fields":["speed-limit-down","download-queue-size"]}') || fail "session-get"
echo "$S" | grep -q '"speed-limit-down": 700' || fail "SIGHUP lost speed-limit-down: $S"
echo "$S" | grep -q '"download-queue-size": 3' || fail "SIGHUP lost download-queue-size: $S"
# torrent-get's time fields from the session.
T=$(rpc torrent-get "{\"ids\":[$ID_OK],\"fields\":[\"secondsDownloading\",\"secondsSeeding\",\"startDate\",\"dateCreated\",\"creator\"]}") ||
    fail "torrent-get"
echo "$T" | /usr/bin/python3 -c '
import json, sys, time
t = json.load(sys.stdin)["arguments"]["torrents"][0]
ok = (t["secondsDownloading"] >= 0 and t["secondsSeeding"] >= 1 and
      abs(t["startDate"] - time.time()) < 120 and abs(t["dateCreated"] - time.time()) < 600 and
      t["creator"].startswith("downpour"))
sys.exit(0 if ok else "time fields: %s" % t)' || fail "torrent-get time fields"
stop_pid "$(daemon_pid)"
echo "PASS: ops_faults2"
