#!/bin/bash
# rpc_auth_file.sh: the RPC's credentials without showing them in ps: --rpc-auth-file FILE
# (first line USER:PASS) and DOWNPOUR_RPC_AUTH in the environment; each daemon refuses a
# request without them (401), takes one with them, and its command line does not hold the
# password. A file without USER:PASS stops the daemon at once with the reason.
# $1 = the downpour binary. Exit 0 = pass.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: rpc_auth_file.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
W=$(mktemp -d /tmp/dp-rpc-auth.XXXXXX)
PID=
cleanup() {
	stop_pid "$PID" 5
	rm -rf "$W"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$W/daemon.log" ] && tail -n 20 "$W/daemon.log" >&2; exit 1; }

# start_daemon NAME ARGS...: a daemon with its own session on fresh ports; sets PID and RP.
start_daemon() {
	local name=$1
	shift
	LP=$(free_port); RP=$(free_port)
	cat > "$W/$name.conf" <<CONF
session_dir = "$W/$name-sess";
download_dir = "$W/$name-dl";
listen_address = "127.0.0.1";
listen_port = $LP;
dht = false;
lsd = false;
CONF
	"$DP" daemon --foreground --config "$W/$name.conf" --rpc-port "$RP" "$@" >"$W/daemon.log" 2>&1 &
	PID=$!
	for _ in $(seq 1 50); do
		/usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $RP), 1)" 2>/dev/null && break
		sleep 0.1
	done
	kill -0 "$PID" 2>/dev/null || fail "$name: daemon did not start"
}

# check_auth USER PASS: 401 without credentials and with a wrong password, 409 or 200 with them.
check_auth() {
	timeout 30 /usr/bin/python3 - "$RP" "$1" "$2" <<'PY'
import base64, sys, urllib.request, urllib.error
port, user, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def code(auth):
    req = urllib.request.Request("http://127.0.0.1:%d/transmission/rpc" % port,
                                 data=b'{"method":"session-get"}', method="POST")
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
got = (code(None), code(user + ":nope"), code(user + ":" + pw))
ok = got[0] == 401 and got[1] == 401 and got[2] in (200, 409)
print("%s credentials %s: %s" % ("ok  " if ok else "FAIL", user, got))
sys.exit(0 if ok else 1)
PY
}

printf 'alice:s3cret-file\n' > "$W/auth"
chmod 600 "$W/auth"
start_daemon file --rpc-auth-file "$W/auth"
check_auth alice s3cret-file || fail "--rpc-auth-file"
tr '\0' ' ' < "/proc/$PID/cmdline" | grep -q 's3cret' && fail "the password is on the command line"
stop_pid "$PID" 5; PID=

DOWNPOUR_RPC_AUTH=carol:env-pass start_daemon env --rpc
check_auth carol env-pass || fail "DOWNPOUR_RPC_AUTH"
stop_pid "$PID" 5; PID=

printf 'no colon here\n' > "$W/bad"
chmod 600 "$W/bad"
timeout 10 "$DP" daemon --foreground --config "$W/file.conf" --rpc-auth-file "$W/bad" >"$W/bad.log" 2>&1
rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "a file without USER:PASS was accepted (exit $rc)"
grep -q 'USER:PASSWORD' "$W/bad.log" || fail "no reason given: $(cat "$W/bad.log")"
echo "PASS: RPC credentials from a file and from the environment"
