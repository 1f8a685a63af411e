#!/bin/bash
# listen_ipv4_only.sh: listen_address = "0.0.0.0" with listen_ipv6 = false listens on IPv4
# alone, as the socket table (ss) shows (issue 13: it also listened on [::] though the config
# said IPv4). TCP and UDP (uTP) on the peer port: 0.0.0.0 and nothing on [::]. With the default
# listen_ipv6 = true and a 127.x address the same port is on [::1] too, as the key's help says.
# Each daemon runs for a second or two and is stopped by its PID. $1 = the downpour binary.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: listen_ipv4_only.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
W=$(mktemp -d /tmp/dp-listen4.XXXXXX)
DPID=
cleanup() {
	stop_pid "$DPID" 10
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	tail -n 20 "$W/s/downpour.log" >&2 2>/dev/null
	exit 1
}
# run ADDRESS IPV6: a daemon on ADDRESS with listen_ipv6 = IPV6; $PORT its peer port; sockets
# in $W/ss ("tcp|udp LOCAL_ADDRESS:PORT" from ss -tuln, for the port).
run() {
	rm -rf "$W/s"
	PORT=$(free_port)
	printf 'listen_address = "%s";\nlisten_ipv6 = %s;\ndht = false;\nlsd = false;\n' "$1" "$2" \
		>"$W/d.conf"
	"$DP" daemon --foreground --config "$W/d.conf" --session "$W/s" --download-dir "$W/dl" \
	    --port "$PORT" >"$W/daemon.out" 2>&1 &
	DPID=$!
	wait_log "running (PID" 10 || fail "the daemon ($1) does not start"
	ss -Htuln "sport = :$PORT" | awk '{ print $1, $5 }' >"$W/ss" || fail "ss"
	stop_pid "$DPID" 10
	DPID=
}
mkdir -p "$W/dl"

run 0.0.0.0 false
grep -qE '^tcp 0\.0\.0\.0:'"$PORT"'$' "$W/ss" || fail "no IPv4 TCP listener: $(cat "$W/ss")"
grep -qE '^udp 0\.0\.0\.0:'"$PORT"'$' "$W/ss" || fail "no IPv4 UDP socket: $(cat "$W/ss")"
grep -qE '\[::' "$W/ss" && fail "listen_ipv6 = false still listens on IPv6: $(cat "$W/ss")"

run 127.0.0.1 true
grep -qE '^tcp 127\.0\.0\.1:'"$PORT"'$' "$W/ss" || fail "no 127.0.0.1 listener: $(cat "$W/ss")"
grep -qE '^tcp \[::1\]:'"$PORT"'$' "$W/ss" ||
	fail "listen_ipv6 = true: no [::1] listener beside 127.0.0.1: $(cat "$W/ss")"
grep -qE '\[::\]:' "$W/ss" && fail "a 127.x address listens on every IPv6 address: $(cat "$W/ss")"

echo "PASS: listen_ipv6 = false: IPv4 only (TCP and UDP); true beside 127.0.0.1: [::1] too"
