#!/bin/bash
# harden_rpc_auth.sh: the RPC on a shared machine (issue 11, finding 5). A daemon started with
# --rpc and no credentials makes a random password once, keeps it in SESSION/rpc-credentials
# (0600) and asks for it: another local user (nobody) gets 401 and cannot read the file; the
# file's credentials work, and the same ones after a restart; 300 guessed passwords are refused
# with at most 3 log lines (finding 7: one line per guess before); a readable credentials file
# stops the start. Only --rpc-no-auth (rpc.authentication = false) serves everyone, with a warning,
# and even then nobody's download-dir outside the configured directories is refused and nothing
# is written there. Before: no password, and nobody replaced a file of root's.
# $1 = the downpour binary.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: harden_rpc_auth.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
W=$(mktemp -d /tmp/dp-harden-auth.XXXXXX)
chmod 755 "$W"
HERE=$(cd "$(dirname "$0")" && pwd)
DPID=
cleanup() {
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	tail -n 20 "$W/daemon.log" >&2 2>/dev/null
	exit 1
}
RP=$(free_port)
# The helper as root with the file, or as nobody without it.
rpc() { /usr/bin/python3 "$HERE/rpc_call.py" "$RP" "$@"; }
rpc_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 "$HERE/rpc_call.py" \
	    "$RP" "$@"
}
start() {   # start EXTRA...: the daemon on $RP, session $W/s
	: >"$W/daemon.log"
	"$DP" daemon --foreground --config "$W/d.conf" --session "$W/s" --download-dir "$W/dl" \
	    --port "$(free_port)" --rpc-port "$RP" "$@" >"$W/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 1 100); do
		grep -q "daemon running" "$W/daemon.log" 2>/dev/null && return 0
		kill -0 "$DPID" 2>/dev/null || return 1
		sleep 0.1
	done
	fail "the daemon did not start"
}
stop() {
	kill -TERM "$DPID"
	wait_gone "$DPID" 15 || fail "the daemon did not stop"
	wait "$DPID" 2>/dev/null
	DPID=
}
printf 'listen_address = "127.0.0.1";\n' >"$W/d.conf"
id nobody >/dev/null 2>&1 || fail "no user nobody"
command -v setpriv >/dev/null || fail "setpriv is missing"
"$DP" create -o "$W/t.torrent" "$0" >/dev/null 2>&1 || fail "create"
B64=$(base64 -w0 "$W/t.torrent")

# 1. No credentials configured: made once, 0600, logged; no request gets in without them.
start --rpc || fail "start: $(cat "$W/daemon.log")"
C="$W/s/rpc-credentials"
[ -f "$C" ] || fail "no $C: the RPC runs without authentication"
[ "$(stat -c %a "$C")" = 600 ] || fail "$C has mode $(stat -c %a "$C"), not 600"
grep -q "rpc-credentials" "$W/daemon.log" || fail "the log does not say where the password is"
grep -q "^downpour:[0-9a-f]\{36\}$" "$C" || fail "$C is not downpour:<36 hex digits>"
ANS=$(rpc session-get) && fail "root without credentials got in: $ANS"
[ "$ANS" = "HTTP 401" ] || fail "root without credentials: $ANS (want HTTP 401)"
ANS=$(rpc_nobody torrent-add "{\"metainfo\":\"$B64\",\"download-dir\":\"$W/victim\"}") &&
    fail "nobody added a torrent: $ANS"
[ "$ANS" = "HTTP 401" ] || fail "nobody: $ANS (want HTTP 401)"
setpriv --reuid=nobody --regid=nogroup --clear-groups cat "$C" >/dev/null 2>&1 &&
    fail "nobody can read $C"
DP_RPC_CREDENTIALS=$C rpc session-get >/dev/null || fail "the file's credentials are refused"
FIRST=$(cat "$C")
# 300 wrong passwords in a loop: all refused, and a few log lines, not one per guess.
R0=$(grep -c "rpc: refused" "$W/daemon.log")
/usr/bin/python3 - "$RP" <<'PY' || fail "a guessed password was not refused"
import base64, http.client, sys
for i in range(300):
    c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
    auth = base64.b64encode(b"downpour:guess%d" % i).decode()
    c.request("POST", "/transmission/rpc", body="{}", headers={"Authorization": "Basic " + auth})
    if c.getresponse().status != 401:
        sys.exit(1)
    c.close()
PY
R1=$(grep -c "rpc: refused" "$W/daemon.log")
[ $((R1 - R0)) -le 3 ] || fail "$((R1 - R0)) log lines for 300 refused requests"
DP_RPC_CREDENTIALS=$C rpc session-get >/dev/null || fail "the credentials are refused after the guesses"
stop

# 2. A restart keeps them; a file others may read stops the start.
start --rpc || fail "restart: $(cat "$W/daemon.log")"
[ "$(cat "$C")" = "$FIRST" ] || fail "the password changed on restart"
DP_RPC_CREDENTIALS=$C rpc session-get >/dev/null || fail "the kept credentials are refused"
stop
chmod 644 "$C"
start --rpc && fail "the daemon started with a credentials file others may read"
grep -q "rpc-credentials must be a regular file of ours" "$W/daemon.log" ||
    fail "no reason for the refused start: $(tail -3 "$W/daemon.log")"
DPID=

# 3. --rpc-no-auth: open, warned; paths are still confined.
start --rpc-no-auth || fail "start without authentication: $(cat "$W/daemon.log")"
grep -q "warn: rpc: authentication is off" "$W/daemon.log" || fail "no warning without authentication"
mkdir -p "$W/victim" && echo original >"$W/victim/t.torrent.keep"
ANS=$(rpc_nobody torrent-add "{\"metainfo\":\"$B64\",\"download-dir\":\"$W/victim\"}") &&
    fail "nobody added a torrent into $W/victim: $ANS"
echo "$ANS" | grep -q "outside the directories" || fail "download-dir outside: $ANS"
ANS=$(rpc_nobody torrent-add "{\"filename\":\"/etc/shadow\"}") && fail "/etc/shadow added: $ANS"
echo "$ANS" | grep -q "outside the directories" || fail "filename /etc/shadow: $ANS"
echo "$ANS" | grep -q "byte" && fail "the answer quotes the file: $ANS"
ANS=$(rpc_nobody free-space '{"path":"/root"}') && fail "free-space of /root answered: $ANS"
[ "$(ls "$W/victim")" = t.torrent.keep ] || fail "something was written into $W/victim"
rpc_nobody torrent-add "{\"metainfo\":\"$B64\",\"download-dir\":\"$W/dl/sub\"}" >/dev/null ||
    fail "torrent-add under the download directory refused"
stop
echo "PASS: harden_rpc_auth"
