#!/bin/bash
# harden_session_perms.sh: the session directory is private (issue 11): made 0700, and every
# file the daemon writes in it (log, lock, PID file, RPC credentials, resume files, .torrent
# copies, settings, DHT nodes) is 0600, so other users of a shared seedbox read nothing. A
# session directory made 0755 beforehand, with a 0644 log, is tightened to 0700 and 0600 with a
# warning. Before: the log, lock and PID file were 0644, and a loose directory stayed loose.
# $1 = the downpour binary.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: harden_session_perms.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/dp-harden-perms.XXXXXX)
DPID=
cleanup() {
	stop_pid "$DPID" 10
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	tail -n 20 "$W/daemon.out" >&2 2>/dev/null
	exit 1
}
RP=$(free_port); PORT=$(free_port)
export DP_RPC_CREDENTIALS=
rpc() { /usr/bin/python3 "$HERE/rpc_call.py" "$RP" "$@"; }
# A usual umask: the modes must not depend on it being strict.
umask 022
start() {   # start SESSION
	"$DP" daemon --foreground --config "$W/d.conf" --session "$1" --download-dir "$W/dl" \
	    --port "$PORT" --rpc --rpc-port "$RP" >"$W/daemon.out" 2>&1 &
	DPID=$!
	for _ in $(seq 1 100); do
		[ -s "$1/rpc-credentials" ] && DP_RPC_CREDENTIALS=$1/rpc-credentials rpc session-get \
		    >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "the daemon's RPC does not answer"
}
stop() {
	kill -TERM "$DPID"
	for _ in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
	wait "$DPID"
	DPID=
}
# loose DIR: every path under DIR that others may read, write or enter (sockets are 0600 too).
loose() { find "$1" -perm /077 -printf '%m %p\n'; }

printf 'listen_address = "127.0.0.1";\nrpc = { allowed_dirs = ["%s"]; };\n' "$W" >"$W/d.conf"
mkdir -p "$W/dl" "$W/src"
head -c 100000 /dev/urandom >"$W/src/a.bin"
"$DP" create -o "$W/a.torrent" -s 16384 "$W/src/a.bin" >/dev/null 2>&1 || fail "create"

# 1. A new session directory.
start "$W/s"
export DP_RPC_CREDENTIALS=$W/s/rpc-credentials
rpc torrent-add "{\"filename\": \"$W/a.torrent\", \"paused\": true}" >/dev/null || fail "torrent-add"
rpc session-set '{"speed-limit-up": 77}' >/dev/null || fail "session-set"
for _ in $(seq 1 50); do ls "$W"/s/resume/*.resume >/dev/null 2>&1 && break; sleep 0.1; done
stop
[ "$(stat -c %a "$W/s")" = 700 ] || fail "the new session directory is $(stat -c %a "$W/s")"
for f in downpour.log lock rpc-credentials; do
	[ -e "$W/s/$f" ] || fail "no $f in the session directory"
done
ls "$W"/s/torrents/*.torrent >/dev/null 2>&1 || fail "no .torrent copy"
ls "$W"/s/resume/*.resume >/dev/null 2>&1 || fail "no resume file"
L=$(loose "$W/s")
[ -z "$L" ] || fail "others may read in the new session directory: $L"
echo "new session: $(find "$W/s" | wc -l) paths, none open to others"

# 2. A session directory made 0755 beforehand, with a 0644 log.
mkdir -m 0755 "$W/old"
: >"$W/old/downpour.log"
chmod 0644 "$W/old/downpour.log"
DP_RPC_CREDENTIALS=
start "$W/old"
export DP_RPC_CREDENTIALS=$W/old/rpc-credentials
stop
[ "$(stat -c %a "$W/old")" = 700 ] || fail "the 0755 session directory is still $(stat -c %a "$W/old")"
[ "$(stat -c %a "$W/old/downpour.log")" = 600 ] || fail "the old log is still $(stat -c %a "$W/old/downpour.log")"
grep -q "was mode 0755, now 0700" "$W/old/downpour.log" || fail "no warning about the loose directory"
L=$(loose "$W/old")
[ -z "$L" ] || fail "others may read in the tightened session directory: $L"
echo "PASS: harden_session_perms"
