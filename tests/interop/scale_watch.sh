#!/bin/bash
# scale_watch.sh: a daemon keeps answering while 2,000 torrents are dropped into its watch
# directory at once (issue 10): during the adds every RPC session-get is answered within 5 s,
# and SIGTERM once half of them are listed ends the daemon within 30 s with exit 0; the restart
# lists every torrent that was added, each seeding (complete data: none waits for a download
# slot), none hashed but those whose first check the SIGTERM overtook (the stop says how many:
# their resume files say "not checked", not "no piece", so they are checked, not downloaded).
# The bounds are liveness (the old loop did not answer for minutes), not speed figures: those
# are tests/bench/scale.sh's. $1 = the downpour binary.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: scale_watch.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
W=$(mktemp -d /tmp/dp-scale-watch.XXXXXX)
DPID=
cleanup() {
	stop_pid "$DPID" 15
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	for f in "$W"/daemon.err "$W"/s/downpour.log; do
		[ -f "$f" ] && { echo "== $f"; tail -n 30 "$f"; }
	done >&2
	exit 1
}

RP=$(free_port); PP=$(free_port)
mkdir -p "$W/s" "$W/data" "$W/watch" "$W/staging"
cat > "$W/d.conf" <<CONF
listen_address = "127.0.0.1";
dht = false;
lsd = false;
CONF
start_daemon() {
	"$DP" daemon --foreground --config "$W/d.conf" --session "$W/s" --download-dir "$W/data" \
	    --port "$PP" --rpc --rpc-port "$RP" --rpc-auth u:p --watch-dir "$W/watch" \
	    >>"$W/daemon.err" 2>&1 &
	DPID=$!
}
start_daemon
# The torrents (one 16 KiB file each, no tracker, data in place) are made first.
/usr/bin/python3 "$(dirname "$0")/scale_watch.py" make "$W" 2000 || fail "making the torrents"
/usr/bin/python3 "$(dirname "$0")/scale_watch.py" adds "$W" "$RP" 2000 "$DPID" ||
    fail "the RPC while adding, SIGTERM during the adds"
wait "$DPID"
rc=$?
DPID=
[ "$rc" = 0 ] || fail "the daemon exited with $rc after SIGTERM"
added=$(grep -c "watch: added" "$W/s/downpour.log")
start_daemon
/usr/bin/python3 "$(dirname "$0")/scale_watch.py" restart "$W" "$RP" "$added" "$DPID" ||
    fail "restart (all $added listed, none hashed)"
echo "PASS: scale_watch"
