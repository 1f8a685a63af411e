#!/bin/bash
# monitor_blocked.sh: `downpour monitor blocked` names what is stuck and why, each situation made
# on purpose on loopback: a peer that handshakes, claims every piece and then says nothing (PEER_WAIT
# "choked by peer for N s", then READ_WAIT "peer sent nothing for N s"), an HTTP tracker that
# accepts and never replies (READ_WAIT, host:port, deadline in `where`), a UDP tracker that never
# answers (retransmissions counted), a torrent held to a download limit with a fast seeder
# (RATE_WAIT "throttled: torrent download limit ..."), and a 1 MiB disk write queue against a fast
# seeder (DISK_WAIT "disk write queue full ..."). Each line carries the state name, the reason and
# `where` names the function and line it parked at. $1 = the downpour binary.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: monitor_blocked.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
HERE=$(cd "$(dirname "$0")" && pwd)
LAB="/usr/bin/python3 $HERE/blocked_lab.py"
W=$(mktemp -d /tmp/dp-monblocked.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do stop_pid "$p" 5; done; rm -rf "$W"; }
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	[ -f "$W/blocked.txt" ] && sed 's/^/  | /' "$W/blocked.txt" >&2
	for l in "$W"/*.log; do [ -f "$l" ] && { echo "== $l" >&2; tail -n 15 "$l" >&2; }; done
	exit 1
}
M() { timeout 20 "$DP" monitor --session "$1" blocked 0 >"$W/blocked.txt" 2>&1; }
# poll SESSION TRIES REGEX: `monitor blocked` until a line matches (4 polls a second).
poll() {
	local sess=$1 tries=$2 re=$3
	for _ in $(seq 1 "$tries"); do
		M "$sess" && grep -qE -- "$re" "$W/blocked.txt" && return 0
		sleep 0.25
	done
	return 1
}
# where_ok SESSION REGEX: the task on the first line matching REGEX has a location in `where`.
where_ok() {
	local id
	id=$(grep -E -- "$2" "$W/blocked.txt" | head -1 | awk '{ print $1 }')
	[ -n "$id" ] || return 1
	timeout 20 "$DP" monitor --session "$1" where "$id" >"$W/where.txt" 2>&1 || return 1
	grep -qE "parked in: [a-z_]+\(\) at [^ ]+\.c:[0-9]+" "$W/where.txt"
}
mkdir -p "$W/a/sess" "$W/a/dl" "$W/b/sess" "$W/b/dl" "$W/data"

# The misbehavers, each with a bounded lifetime.
$LAB tcp "$W/http.port" 150 & PIDS+=($!)
$LAB udp "$W/udp.port" 150 "$W/udp.count" & PIDS+=($!)
wait_file "$W/http.port" && wait_file "$W/udp.port" || fail "lab listeners did not start"
HTTPP=$(cat "$W/http.port"); UDPP=$(cat "$W/udp.port")

mk() { # mk NAME MIB [tracker]
	head -c "$(($2 * 1048576))" /dev/urandom >"$W/data/$1.bin"
	"$DP" create -o "$W/$1.torrent" -s 262144 ${3:+-t "$3"} "$W/data/$1.bin" >/dev/null ||
	    fail "create $1"
}
mk http 1 "http://127.0.0.1:$HTTPP/announce"
mk udp 1 "udp://127.0.0.1:$UDPP/announce"
mk mute 2
mk slow 16
mk fast 256
hash_of() { "$DP" info "$1" | awk '/^ *Hash:/ { print $2 }'; }

# Daemon A: trackers, the mute peer and the throttled torrent.
LPA=$(free_port); RPA=$(free_port)
cat >"$W/a.conf" <<CONF
session_dir = "$W/a/sess";
download_dir = "$W/a/dl";
listen_address = "127.0.0.1";
listen_port = $LPA;
dht = false;
lsd = false;
CONF
"$DP" daemon --foreground --config "$W/a.conf" --rpc-no-auth --rpc-port "$RPA" >"$W/daemon_a.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do transmission-remote "127.0.0.1:$RPA" -l >/dev/null 2>&1 && break; sleep 0.1; done
for n in http udp mute slow; do
	transmission-remote "127.0.0.1:$RPA" -a "$W/$n.torrent" | grep -q success || fail "add $n"
done
SLOWID=$(transmission-remote "127.0.0.1:$RPA" -l | awk '/slow\.bin/ { sub(/\*/, "", $1); print $1 }')
[ -n "$SLOWID" ] || fail "no id for slow.bin"
# 64 kB/s (Transmission's k is 1000) on that torrent only.
transmission-remote "127.0.0.1:$RPA" -t "$SLOWID" -d 64 | grep -q success || fail "torrent limit"
$LAB peer "$LPA" "$(hash_of "$W/mute.torrent")" 8 150 "$W/mute.state" & PIDS+=($!)
"$DP" seed --config <(printf 'listen_address = "127.0.0.1";\ndht = false;\n') -o "$W/data" \
    --port "$(free_port)" --peer "127.0.0.1:$LPA" "$W/slow.torrent" >"$W/seed_slow.log" 2>&1 &
PIDS+=($!)

# b. the unanswered HTTP tracker: READ_WAIT with host:port, and a deadline in `where`.
poll "$W/a/sess" 40 "^ *[0-9]+  READ_WAIT .*waiting for announce reply from 127\.0\.0\.1:$HTTPP" ||
    fail "no READ_WAIT for the silent HTTP tracker"
where_ok "$W/a/sess" "waiting for announce reply from 127\.0\.0\.1:$HTTPP" ||
    fail "where: no location for the HTTP tracker task: $(cat "$W/where.txt")"
grep -qE "deadline: +in [0-9.]+s" "$W/where.txt" || fail "where: no deadline: $(cat "$W/where.txt")"
grep -E "announce reply from 127\.0\.0\.1:$HTTPP" "$W/blocked.txt" | grep -qE "deadline in [0-9.]+m?s" ||
    fail "blocked: the HTTP tracker line shows no deadline"
echo "ok: silent HTTP tracker: $(grep -E "127\.0\.0\.1:$HTTPP" "$W/blocked.txt" | grep -v "^#" | head -1 | sed "s/  */ /g")"

# d. throttled torrent: RATE_WAIT naming the torrent's limit.
poll "$W/a/sess" 80 '^ *[0-9]+  RATE_WAIT .*throttled: torrent download limit [0-9.]+ KiB/s' ||
    fail "no RATE_WAIT for the throttled torrent"
where_ok "$W/a/sess" 'RATE_WAIT .*throttled' || fail "where: no location for the throttled peer"
echo "ok: throttled: $(grep -E 'RATE_WAIT' "$W/blocked.txt" | grep -v "^#" | head -1 | sed "s/  */ /g")"

# a. the mute peer: first choked (it never unchokes us), then silent.
[ "$(cat "$W/mute.state" 2>/dev/null)" = "handshake done" ] || sleep 2
[ "$(cat "$W/mute.state" 2>/dev/null)" = "handshake done" ] || fail "mute peer: $(cat "$W/mute.state" 2>/dev/null)"
poll "$W/a/sess" 40 '^ *[0-9]+  PEER_WAIT .*peer 127\.0\.0\.1:[0-9]+.* -- choked by peer for [1-9][0-9]* s' ||
    fail "no PEER_WAIT 'choked by peer' for the mute peer"
where_ok "$W/a/sess" 'choked by peer' || fail "where: no location for the choked peer"
echo "ok: choked: $(grep -E 'choked by peer' "$W/blocked.txt" | grep -v "^#" | head -1 | sed "s/  */ /g")"

# b. the silent UDP tracker: the first retransmission comes after 15 s (BEP 15).
poll "$W/a/sess" 100 "^ *[0-9]+  (CONNECT_WAIT|READ_WAIT) .*UDP .*reply from 127\.0\.0\.1:$UDPP \(unanswered, retransmission [1-9] of [0-9]+" ||
    fail "no retransmission count for the silent UDP tracker"
[ "$(cat "$W/udp.count" 2>/dev/null || echo 0)" -ge 2 ] || fail "the UDP tracker saw no retransmission"
where_ok "$W/a/sess" "reply from 127\.0\.0\.1:$UDPP" || fail "where: no location for the UDP tracker"
echo "ok: silent UDP tracker: $(grep -E "127\.0\.0\.1:$UDPP" "$W/blocked.txt" | grep -v "^#" | head -1 | sed "s/  */ /g")"

# a. the mute peer, 15 s on: READ_WAIT "peer sent nothing for N s".
poll "$W/a/sess" 40 '^ *[0-9]+  READ_WAIT .*peer 127\.0\.0\.1:[0-9]+.* -- peer sent nothing for (1[5-9]|[2-9][0-9]) s' ||
    fail "no READ_WAIT 'peer sent nothing' for the mute peer"
where_ok "$W/a/sess" 'peer sent nothing' || fail "where: no location for the silent peer"
echo "ok: silent peer: $(grep -E 'peer sent nothing' "$W/blocked.txt" | grep -v "^#" | head -1 | sed "s/  */ /g")"

# c. Daemon B: a 1 MiB disk write queue and a fast seeder: peers park in DISK_WAIT.
LPB=$(free_port)
cat >"$W/b.conf" <<CONF
session_dir = "$W/b/sess";
download_dir = "$W/b/dl";
listen_address = "127.0.0.1";
listen_port = $LPB;
disk_write_queue_bytes = "1M";
dht = false;
lsd = false;
CONF
mkdir -p "$W/b/watch"
cp "$W/fast.torrent" "$W/b/watch/"
"$DP" daemon --foreground --config "$W/b.conf" --watch-dir "$W/b/watch" >"$W/daemon_b.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do [ -S "$W/b/sess/monitor.sock" ] && break; sleep 0.1; done
[ -S "$W/b/sess/monitor.sock" ] || fail "daemon B has no monitor socket"
# Backpressure comes and goes in milliseconds: one monitor connection asks `blocked 0` as fast as
# the daemon answers (bounded: 60 s) while the seeder pushes 256 MiB.
$LAB watch "$W/b/sess/monitor.sock" \
    '^ *[0-9]+  DISK_WAIT .*peer 127\.0\.0\.1:[0-9]+.* -- disk write queue full: [0-9.]+ [KMG]iB waiting to be written \(limit 1(\.0+)? MiB\)' \
    60 "$W/blocked.txt" &
WATCH=$!
"$DP" seed --config <(printf 'listen_address = "127.0.0.1";\ndht = false;\n') -o "$W/data" \
    --port "$(free_port)" --peer "127.0.0.1:$LPB" "$W/fast.torrent" >"$W/seed_fast.log" 2>&1 &
PIDS+=($!)
wait "$WATCH" || fail "never saw a peer in DISK_WAIT with a 1 MiB write queue"
echo "ok: disk queue: $(grep -E 'DISK_WAIT .*disk write queue full' "$W/blocked.txt" | grep -v "^#" | head -1 | sed "s/  */ /g")"
echo "PASS: monitor blocked: silent HTTP/UDP trackers, choked and silent peer, throttled torrent, full disk queue"
exit 0
