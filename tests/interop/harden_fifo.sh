#!/bin/bash
# harden_fifo.sh: FIFOs and other non-regular files where the daemon expects files (issue 11,
# finding 8): a torrent-add of a FIFO, a FIFO planted among a torrent's data files during its
# check, and one in the watch directory each end in an error naming it, promptly, and the disk
# pool keeps serving other torrents; SIGTERM still stops the daemon. A daemon whose loop is stuck
# (its stderr a full pipe nobody reads) ends on the second SIGTERM, its PID file removed.
# $1 = the downpour binary.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: harden_fifo.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
W=$(mktemp -d /tmp/dp-harden-fifo.XXXXXX)
PIDS=()
daemon_pid() { cat "$W/s/downpour.pid" 2>/dev/null; }
cleanup() {
	local p
	p=$(daemon_pid)
	[ -n "$p" ] && kill -9 "$p" 2>/dev/null
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	# Anything still blocked on one of our FIFOs is released by opening its other end.
	for f in "$W"/dl/M/a.bin "$W"/fifo.torrent "$W"/watch/*.torrent; do
		[ -p "$f" ] && timeout 1 sh -c ": <> '$f'" 2>/dev/null
	done
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	tail -n 40 "$W/s/downpour.log" >&2 2>/dev/null
	exit 1
}
RP=$(free_port)
rpc() { /usr/bin/python3 "$(dirname "$0")/rpc_call.py" "$RP" "$@"; }
# field ID NAME: one field of torrent ID from torrent-get.
field() {
	rpc torrent-get "{\"ids\":[$1],\"fields\":[\"$2\"]}" | /usr/bin/python3 -c \
	    "import json,sys; t=json.load(sys.stdin)['arguments']['torrents']; print(t[0]['$2'] if t else '')"
}

mkdir -p "$W/s" "$W/dl/M" "$W/data/M" "$W/watch" "$W/ok"
head -c 300000 /dev/urandom > "$W/data/M/a.bin"
head -c 300000 /dev/urandom > "$W/data/M/b.bin"
head -c 200000 /dev/urandom > "$W/ok/ok.bin"
"$DP" create -o "$W/m.torrent" -s 32768 "$W/data/M" >/dev/null 2>&1 || fail "create m"
"$DP" create -o "$W/ok.torrent" -s 32768 "$W/ok/ok.bin" >/dev/null 2>&1 || fail "create ok"
# The .torrent files and dl2 are in $W: RPC paths must lie under an allowed directory.
printf 'listen_address = "127.0.0.1";\nrpc = { allowed_dirs = ["%s"]; };\n' "$W" > "$W/d.conf"
"$DP" daemon --config "$W/d.conf" --session "$W/s" --download-dir "$W/dl" \
    --watch-dir "$W/watch" --port "$(free_port)" --rpc-no-auth --rpc-port "$RP" 2>"$W/daemon.err" ||
    fail "daemon start: $(cat "$W/daemon.err")"
PID=$(daemon_pid)
[ -n "$PID" ] || fail "no PID file"

# 1. torrent-add of a FIFO: refused at once, naming it; nothing waits for a writer.
mkfifo "$W/fifo.torrent"
ANS=$(timeout 15 /usr/bin/python3 "$(dirname "$0")/rpc_call.py" "$RP" torrent-add \
    "{\"filename\":\"$W/fifo.torrent\"}")
RC=$?
[ "$RC" -eq 1 ] || fail "torrent-add of a FIFO: exit $RC (124: no answer in 15 s): $ANS"
echo "$ANS" | grep -q "not a regular file" || fail "torrent-add of a FIFO: $ANS"

# 2. A FIFO planted among a torrent's files: b.bin is there, so the torrent is checked, and the
# check of a.bin fails on that torrent instead of blocking a worker for good.
cp "$W/data/M/b.bin" "$W/dl/M/b.bin"
mkfifo "$W/dl/M/a.bin"
ID=$(rpc torrent-add "{\"filename\":\"$W/m.torrent\",\"download-dir\":\"$W/dl\"}" |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["arguments"]["torrent-added"]["id"])') ||
    fail "torrent-add m"
ERR=
for _ in $(seq 1 100); do
	ERR=$(field "$ID" errorString)
	[ -n "$ERR" ] && break
	sleep 0.1
done
echo "$ERR" | grep -q "a.bin.*not a regular file" ||
    fail "a FIFO among the data: error '$ERR' (want one naming a.bin, not a regular file)"
[ -p "$W/dl/M/a.bin" ] || fail "the FIFO was replaced"

# 3. A FIFO in the watch directory is left alone; a torrent put there after it is added.
mkfifo "$W/watch/fifo.torrent"
cp "$W/ok.torrent" "$W/watch/ok.torrent.tmp" && mv "$W/watch/ok.torrent.tmp" "$W/watch/ok.torrent"
for _ in $(seq 1 100); do [ -f "$W/watch/ok.torrent.added" ] && break; sleep 0.1; done
[ -f "$W/watch/ok.torrent.added" ] || fail "the watch directory stalled behind a FIFO"

# 4. The pool still works: a torrent whose data is complete is checked and seeds.
mkdir -p "$W/dl2" && cp "$W/ok/ok.bin" "$W/dl2/"
ID2=$(rpc torrent-add "{\"filename\":\"$W/ok.torrent\",\"download-dir\":\"$W/dl2\"}" |
    /usr/bin/python3 -c 'import json,sys; a=json.load(sys.stdin)["arguments"]; print((a.get("torrent-added") or a.get("torrent-duplicate"))["id"])')
[ -n "$ID2" ] || fail "torrent-add ok"

# 5. One SIGTERM stops it (nothing left to join on a FIFO).
kill -TERM "$PID"
wait_gone "$PID" 15 || fail "the daemon did not stop within 15 s of SIGTERM"

# 6. A stuck loop: stderr is a pipe of one page that nobody reads, and SIGUSR1 task dumps fill it,
# so the loop blocks writing a log line. The first SIGTERM cannot be served; the second ends it.
rm -f "$W/s/downpour.log"
/usr/bin/python3 - "$DP" "$W" "$(free_port)" <<'PY' || fail "second SIGTERM: see above"
import fcntl, os, signal, subprocess, sys, time
dp, w, port = sys.argv[1], sys.argv[2], sys.argv[3]
r, wr = os.pipe()
fcntl.fcntl(wr, 1031, 4096)          # F_SETPIPE_SZ: one page
p = subprocess.Popen([dp, "daemon", "--foreground", "--config", w + "/d.conf", "--session",
                      w + "/s", "--download-dir", w + "/dl2", "--port", port],
                     stdin=subprocess.DEVNULL, stdout=wr, stderr=wr)
os.close(wr)
pidfile, log = w + "/s/downpour.pid", w + "/s/downpour.log"
for _ in range(100):
    if os.path.exists(log) and "daemon running" in open(log).read():
        break
    time.sleep(0.1)
else:
    print("FAIL: the daemon did not start"); p.kill(); sys.exit(1)
# Each dump is a few hundred bytes of log; 200 are far more than one page.
for _ in range(200):
    if p.poll() is not None:
        break
    p.send_signal(signal.SIGUSR1)
    time.sleep(0.01)
time.sleep(0.5)
p.send_signal(signal.SIGTERM)
time.sleep(1.0)
if p.poll() is not None:
    print("FAIL: the daemon was not stuck (exit %s): the test proves nothing" % p.returncode)
    sys.exit(1)
p.send_signal(signal.SIGTERM)
try:
    rc = p.wait(timeout=5)
except subprocess.TimeoutExpired:
    print("FAIL: still running 5 s after the second SIGTERM"); p.kill(); p.wait(); sys.exit(1)
if rc != 128 + signal.SIGTERM and rc != -signal.SIGTERM:
    print("FAIL: exit status %d after the second SIGTERM" % rc); sys.exit(1)
if os.path.exists(pidfile):
    print("FAIL: the PID file was left behind"); sys.exit(1)
print("second SIGTERM: exit %d, PID file removed" % rc)
PY
echo "PASS: harden_fifo"
