#!/bin/bash
# ops_daemon.sh: the seedbox daemon end to end on loopback: second instance refused with the
# PID, watch directory (add and .invalid), a download from `downpour seed` via opentracker, the
# move to completed_dir and the completion hook's environment, SIGUSR1/SIGHUP, SIGTERM exit 0,
# a restart that rehashes nothing, and a damaged resume file answered by its backup.
# $1 = the downpour binary.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: ops_daemon.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
W=$(mktemp -d /tmp/dp-ops-daemon.XXXXXX)
SEED_PID= TRACKER_PID=
daemon_pid() { cat "$W/s/downpour.pid" 2>/dev/null; }
cleanup() {
	stop_pid "$(daemon_pid)"
	stop_pid "$SEED_PID"
	stop_pid "$TRACKER_PID"
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	for f in "$W"/*.log "$W"/s/downpour.log; do [ -f "$f" ] && { echo "== $f"; tail -n 40 "$f"; }; done >&2
	exit 1
}

command -v opentracker >/dev/null || { echo "FAIL: opentracker is not installed"; exit 1; }
# Three distinct ports: free_port can hand out a port it gave a moment ago (the full suite once
# saw the seeder refused "Address already in use" beside opentracker).
TP=$(free_port); SP=$(free_port); DPORT=$(free_port)
for _ in 1 2 3 4 5 6 7 8; do
	[ "$SP" != "$TP" ] && [ "$DPORT" != "$TP" ] && [ "$DPORT" != "$SP" ] && break
	SP=$(free_port); DPORT=$(free_port)
done
mkdir -p "$W/seed" "$W/dl" "$W/done" "$W/watch" "$W/s"
head -c 3000000 /dev/urandom > "$W/seed/payload.bin"
"$DP" create -o "$W/t.torrent" -s 32768 -t "http://127.0.0.1:$TP/announce" "$W/seed/payload.bin" \
    >/dev/null 2>"$W/create.log" || fail "create"
HASH=$("$DP" info --json "$W/t.torrent" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["info_hash"])')
# The Debian opentracker only serves whitelisted hashes; it chroots to -d and drops root.
mkdir -p "$W/trk" && echo "$HASH" > "$W/trk/whitelist.txt" && chmod 755 "$W" "$W/trk"
opentracker -i 127.0.0.1 -p "$TP" -P "$TP" -d "$W/trk" -w whitelist.txt >"$W/tracker.log" 2>&1 &
TRACKER_PID=$!
cat > "$W/seed.conf" <<CONF
listen_address = "127.0.0.1";
CONF
"$DP" seed --config "$W/seed.conf" -o "$W/seed" --port "$SP" "$W/t.torrent" >"$W/seed.log" 2>&1 &
SEED_PID=$!
cat > "$W/hook.sh" <<'HOOK'
#!/bin/sh
env | grep '^DOWNPOUR_' | sort > "$HOOK_OUT"
echo "hook says hello"
HOOK
chmod +x "$W/hook.sh"
cat > "$W/d.conf" <<CONF
listen_address = "127.0.0.1";
completed_dir = "$W/done";
completion_hook = "$W/hook.sh";
hook_timeout = 10;
CONF
export HOOK_OUT="$W/hook.env"

"$DP" daemon --config "$W/d.conf" --session "$W/s" --download-dir "$W/dl" \
    --watch-dir "$W/watch" --port "$DPORT" 2>"$W/daemon1.err" || fail "daemon did not start"
PID=$(daemon_pid)
[ -n "$PID" ] && kill -0 "$PID" || fail "no daemon process after start"

# A second instance on the same session is refused, exit 1, naming the PID.
"$DP" daemon --config "$W/d.conf" --session "$W/s" --port "$(free_port)" 2>"$W/second.err"
RC=$?
[ "$RC" -eq 1 ] || fail "second instance exited $RC, want 1"
grep -q "PID $PID" "$W/second.err" || fail "second instance's message lacks PID $PID: $(cat "$W/second.err")"
"$DP" daemon --foreground --config "$W/d.conf" --session "$W/s" --port "$(free_port)" \
    2>"$W/second-fg.err"
[ $? -eq 1 ] && grep -q "PID $PID" "$W/second-fg.err" || fail "second --foreground instance not refused"

# The watch directory: an invalid file, then the torrent (written elsewhere, moved in).
echo "not a torrent" > "$W/watch/junk.torrent"
cp "$W/t.torrent" "$W/watch.tmp" && mv "$W/watch.tmp" "$W/watch/good.torrent"
for _ in $(seq 1 50); do [ -f "$W/watch/good.torrent.added" ] && break; sleep 0.1; done
[ -f "$W/watch/good.torrent.added" ] || fail "watched torrent not renamed .added"
[ -f "$W/watch/junk.torrent.invalid" ] || fail "invalid file not renamed .invalid"
grep -q "junk.torrent is invalid" "$W/s/downpour.log" || fail "no reason logged for the invalid file"

# The download completes (peers through opentracker), moves, and the hook runs.
wait_log "moved to $W/done" 60 || fail "no completion and move within 60 s"
wait_log "completed hook for payload.bin: exited with status 0" 15 || fail "hook did not finish"
cmp -s "$W/seed/payload.bin" "$W/done/payload.bin" || fail "moved data differs from the seed's"
[ -e "$W/dl/payload.bin" ] && fail "data still in the download dir after the move"
grep -q "completed hook for payload.bin: hook says hello" "$W/s/downpour.log" || fail "hook output not logged"
grep -qx "DOWNPOUR_DIR=$W/done" "$W/hook.env" || fail "hook env DOWNPOUR_DIR: $(cat "$W/hook.env")"
grep -qx "DOWNPOUR_NAME=payload.bin" "$W/hook.env" || fail "hook env DOWNPOUR_NAME"
grep -qx "DOWNPOUR_SIZE=3000000" "$W/hook.env" || fail "hook env DOWNPOUR_SIZE"
grep -qx "DOWNPOUR_HASH=$HASH" "$W/hook.env" || fail "hook env DOWNPOUR_HASH"
grep -q "^DOWNPOUR_ID=[0-9]" "$W/hook.env" || fail "hook env DOWNPOUR_ID"

# SIGUSR1 writes the task table; SIGHUP reloads and reopens the log.
kill -USR1 "$PID"
wait_log "SIGUSR1: pieces hashed" 5 || fail "SIGUSR1 wrote no task table"
grep -q "task [0-9]* torrent" "$W/s/downpour.log" || fail "task table lacks the torrent task"
mv "$W/s/downpour.log" "$W/s/downpour.log.1"
kill -HUP "$PID"
wait_log "SIGHUP: configuration reloaded" 5 || fail "SIGHUP did not reload into a new log file"

# SIGTERM: clean stop, exit 0 (seen through the PID file removal and the log).
kill -TERM "$PID"
wait_gone "$PID" 10 || fail "daemon still running 10 s after SIGTERM"
grep -q "resume data of 1 torrent saved" "$W/s/downpour.log" || fail "no resume flush at stop"
grep -q "^stopped\|\] stopped$" "$W/s/downpour.log" || fail "no clean stop in the log"
[ -f "$W/s/downpour.pid" ] && fail "PID file left behind"
ls "$W"/s/resume/*.resume >/dev/null 2>&1 || fail "no resume file"

# Restart in the foreground: the torrent is back, seeding from done/, nothing rehashed (only
# this run's lines of the log count).
L0=$(($(wc -l <"$W/s/downpour.log") + 1))
run_log() { tail -n "+$L0" "$W/s/downpour.log"; }
# restored PID WHAT: the session loads after the loop starts, so the task table is asked for
# again (SIGUSR1) until the torrent is listed; it must be seeding with nothing rehashed.
restored() {
	for _ in $(seq 1 30); do
		run_log | grep -q "torrent 1 seeding payload.bin 100.0%" && break
		kill -USR1 "$1"
		sleep 1
	done
	run_log | grep -q "torrent 1 seeding payload.bin 100.0%" || fail "$2: not seeding at 100%"
	H=$(run_log | grep -o 'pieces hashed since start: [0-9]*' | tail -1)
	[ "$H" = "pieces hashed since start: 0" ] || fail "$2 rehashed: $H"
}
"$DP" daemon --foreground --config "$W/d.conf" --session "$W/s" --port "$DPORT" \
    >"$W/fg.log" 2>&1 &
FG=$!
# A signal sent before the handlers exist waits (it used to kill a daemon still starting under
# ASan on a loaded machine); the wait for the answer allows for that start.
for _ in $(seq 1 300); do [ -f "$W/s/downpour.pid" ] && break; sleep 0.1; done
kill -USR1 "$FG"
LOG0=$L0 wait_log "SIGUSR1: pieces hashed" 30 || fail "no task table after an early SIGUSR1"
restored "$FG" "foreground restart"
kill -TERM "$FG"
wait_gone "$FG" 10 || fail "foreground daemon did not stop"
wait "$FG"; RC=$?
[ "$RC" -eq 0 ] || fail "foreground daemon exited $RC after SIGTERM, want 0"

# A damaged main resume file: the backup is used (logged with the reason), still no rehash.
R=$(ls "$W"/s/resume/*.resume)
[ -f "$R.bak" ] || fail "no backup resume file"
printf 'garbage' > "$R"
L0=$(($(wc -l <"$W/s/downpour.log") + 1))
"$DP" daemon --config "$W/d.conf" --session "$W/s" --port "$DPORT" 2>"$W/daemon3.err" || fail "restart 3"
PID=$(daemon_pid)
LOG0=$L0 wait_log "resume file unusable (.*): using the backup" 30 ||
	fail "backup not used or not logged"
restored "$PID" "backup restart"
kill -TERM "$PID"
wait_gone "$PID" 10 || fail "daemon 3 did not stop"
echo "PASS: ops_daemon"
