#!/bin/bash
# harden_rpc_flood.sh: idle connections flooding the RPC port (issue 11, finding 7). The daemon
# raises its soft descriptor limit to the hard one at start; with the hard limit too low for the
# flood, failing accepts pause the listener instead of spinning: a few log lines, not thousands,
# and the RPC answers again once the flood is gone; the peer port's listener does the same.
# Then, under the usual limit of 1024, 1,100 idle connections each to the RPC, the monitor and
# the attach socket (reopened as the daemon closes them) and slowloris clients on the RPC and the
# monitor: the caps close the connections waiting longest, the request and line deadlines close
# the slow ones, a real RPC client and `downpour monitor` are answered meanwhile, the daemon's
# CPU stays under half a core and its log under 20 lines. Prints the daemon's CPU seconds during
# the floods (figures). Before: the soft limit stayed and the accept loop spun; then the peer
# listener logged every failed accept (409,567 lines in 5 s), the RPC took connections until
# the descriptors ran out (a real client was not answered), the monitor refused everyone past
# 16 idle connections, and a client sending a header byte a second kept its connection for good.
# $1 = the downpour binary.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: harden_rpc_flood.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/dp-harden-flood.XXXXXX)
DPID=
FPID=
cleanup() {
	stop_pid "$FPID"
	stop_pid "$DPID"
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	tail -n 20 "$W/daemon.log" >&2 2>/dev/null
	exit 1
}
command -v prlimit >/dev/null || fail "prlimit is missing"
printf 'listen_address = "127.0.0.1";\n' >"$W/d.conf"
RP=$(free_port)
PP=$(free_port)
rpc() { /usr/bin/python3 "$HERE/rpc_call.py" "$RP" "$@"; }
start() {   # start SOFT HARD
	: >"$W/daemon.log"
	prlimit --nofile="$1:$2" "$DP" daemon --foreground --config "$W/d.conf" --session "$W/s" \
	    --download-dir "$W/dl" --port "$PP" --rpc-no-auth --rpc-port "$RP" \
	    >"$W/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 1 100); do rpc session-get >/dev/null 2>&1 && return 0; sleep 0.1; done
	fail "the daemon's RPC does not answer"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
flood() {   # flood N [PORT]: N idle connections (to the RPC port) held until killed
	/usr/bin/python3 -c '
import socket, sys, time
socks = []
for _ in range(int(sys.argv[2])):
    s = socket.socket()
    s.settimeout(0.02)
    try:
        s.connect(("127.0.0.1", int(sys.argv[1])))
        socks.append(s)
    except OSError:
        s.close()
print("flood: %d connected" % len(socks), flush=True)
time.sleep(300)' "${2:-$RP}" "$1" >"$W/flood.log" 2>&1 &
	FPID=$!
	for _ in $(seq 1 300); do grep -q connected "$W/flood.log" && return 0; sleep 0.1; done
	fail "the flood did not connect"
}

# 1. A soft limit of 100 under a hard one of 4096 is raised: 300 idle connections are taken and
# the RPC still answers beside them.
start 100 4096
SOFT=$(awk '/^Max open files/ { print $4 }' "/proc/$DPID/limits")
[ "$SOFT" = 4096 ] || fail "the soft descriptor limit is $SOFT, not raised to the hard 4096"
flood 300
rpc session-get >/dev/null || fail "the RPC does not answer beside 300 idle connections"
stop_pid "$FPID"; FPID=
stop_pid "$DPID"; DPID=

# 2. A hard limit of 100: the flood runs the daemon out of descriptors for 5 s.
start 100 100
flood 300
T0=$(cpu_ticks "$DPID")
sleep 5
T1=$(cpu_ticks "$DPID")
LINES=$(grep -ci "accept" "$W/daemon.log")
[ "$LINES" -ge 1 ] || fail "no accept failure logged: the flood did not reach the limit"
[ "$LINES" -le 3 ] || fail "$LINES log lines about accept in 5 s (one per 10 s wanted)"
stop_pid "$FPID"; FPID=
OK=
for _ in $(seq 1 50); do rpc session-get >/dev/null 2>&1 && { OK=1; break; }; sleep 0.1; done
[ -n "$OK" ] || fail "the RPC does not answer after the flood"
kill -0 "$DPID" || fail "the daemon died"
CPU2="$(( T1 - T0 ))/$(getconf CLK_TCK)"
stop_pid "$DPID"; DPID=

# 2b. The same against the peer port: its listener pauses too (it logged every failed accept).
start 100 100
flood 300 "$PP"
T0=$(cpu_ticks "$DPID")
sleep 5
T1=$(cpu_ticks "$DPID")
PLINES=$(grep -c "listener: accept failed" "$W/daemon.log")
[ "$PLINES" -ge 1 ] || fail "no accept failure on the peer port logged: the flood did not reach the limit"
[ "$PLINES" -le 3 ] || fail "$PLINES log lines about the peer port's accept in 5 s"
stop_pid "$FPID"; FPID=
kill -0 "$DPID" || fail "the daemon died"
CPUP="$(( T1 - T0 ))/$(getconf CLK_TCK)"
stop_pid "$DPID"; DPID=

# 3. The usual limit of 1024: 1,100 idle connections each to the RPC, the monitor and the attach
# socket, reopened as they are closed, and 20 slowloris clients each on the RPC and the monitor,
# for 30 s. The RPC's request deadline is 3 s here (rpc.request_timeout; the monitor's line
# deadline is 10 s).
printf 'listen_address = "127.0.0.1";\nrpc = { request_timeout = 3; };\n' >"$W/d.conf"
start 1024 1024
CAP=$(awk '/^Max open files/ { print $4 }' "/proc/$DPID/limits")
L0=$(wc -l <"$W/daemon.log")
prlimit --nofile=8192:8192 /usr/bin/python3 "$HERE/harden_flood.py" "$RP" "$W/s" 1100 20 30 \
    "$W/flood.out" >"$W/flood.log" 2>&1 &
FPID=$!
sleep 5
T0=$(cpu_ticks "$DPID")
rpc session-get >/dev/null || fail "the RPC does not answer a real client during the flood"
timeout 20 "$DP" monitor --session "$W/s" ps >"$W/ps.out" 2>&1 ||
	fail "downpour monitor is not answered during the flood: $(head -c 300 "$W/ps.out")"
grep -q "rpc server" "$W/ps.out" || fail "monitor ps during the flood: $(head -c 300 "$W/ps.out")"
sleep 10
rpc session-get >/dev/null || fail "the RPC does not answer a real client later in the flood"
T1=$(cpu_ticks "$DPID")
for _ in $(seq 1 300); do [ -s "$W/flood.out" ] && break; sleep 0.1; done
[ -s "$W/flood.out" ] || fail "the flood did not report: $(tail -c 300 "$W/flood.log")"
FPID=
kill -0 "$DPID" || fail "the daemon died"
LINES3=$(( $(wc -l <"$W/daemon.log") - L0 ))
[ "$LINES3" -le 20 ] || fail "$LINES3 log lines during a 30 s flood"
TICKS=$(( T1 - T0 ))
HZ=$(getconf CLK_TCK)
# 10 s of flood: a spinning loop is 10 s of CPU; half a core is the bound.
[ "$TICKS" -le $(( 5 * HZ )) ] || fail "the daemon used $TICKS/$HZ s of CPU in 10 s of flood"
awk '$1 == "slow" && $2 == "rpc" && ($3 < 0 || $3 > 6) { bad++ } END { exit bad > 0 }' \
    "$W/flood.out" || fail "slowloris RPC connections outlived the 3 s deadline: $(grep 'slow rpc' \
    "$W/flood.out" | sort | uniq -c | head -5)"
awk '$1 == "slow" && $2 == "monitor" && ($3 < 0 || $3 > 14) { bad++ } END { exit bad > 0 }' \
    "$W/flood.out" || fail "slowloris monitor connections outlived the 10 s line deadline"
SLOWN=$(grep -c '^slow' "$W/flood.out")
[ "$SLOWN" -ge 20 ] || fail "only $SLOWN slowloris connections were made"

# 4. Slowloris alone (no cap reached): the deadlines themselves close them.
prlimit --nofile=8192:8192 /usr/bin/python3 "$HERE/harden_flood.py" "$RP" "$W/s" 0 20 14 \
    "$W/slow.out" >"$W/flood.log" 2>&1 &
FPID=$!
for _ in $(seq 1 200); do [ -s "$W/slow.out" ] && break; sleep 0.1; done
[ -s "$W/slow.out" ] || fail "the slowloris run did not report: $(tail -c 300 "$W/flood.log")"
FPID=
awk '$1 == "slow" && $2 == "rpc" && ($3 < 2.5 || $3 > 6) { bad++ } END { exit bad > 0 }' \
    "$W/slow.out" || fail "slowloris RPC connections not closed at the 3 s deadline:" \
    "$(grep 'slow rpc' "$W/slow.out" | sort | uniq -c | head -5)"
awk '$1 == "slow" && $2 == "monitor" && ($3 < 9 || $3 > 13) { bad++ } END { exit bad > 0 }' \
    "$W/slow.out" || fail "slowloris monitor connections not closed at the 10 s line deadline:" \
    "$(grep 'slow monitor' "$W/slow.out" | sort | uniq -c | head -5)"
[ "$(grep -c '^slow' "$W/slow.out")" -ge 40 ] || fail "the slowloris clients did not connect"
rpc session-get >/dev/null || fail "the RPC does not answer after the floods"
echo "PASS: harden_rpc_flood (soft limit raised to 4096; at a hard 100: $LINES accept log" \
    "line(s) in 5 s, daemon CPU $CPU2 s; peer port: $PLINES line(s), CPU $CPUP s; at 1024: 3 x 1,100 idle + 40 slowloris for 30 s:" \
    "$LINES3 log lines, daemon CPU $TICKS/$HZ s over 10 s, real clients answered; slowloris" \
    "closed at the 3 s and 10 s deadlines)"
