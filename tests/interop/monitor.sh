#!/bin/bash
# monitor.sh: `downpour monitor` against a daemon with an active transfer from a `downpour seed`
# peer on loopback: ps, blocked and where show the peer's task (address:port, state, wait), log
# works, a bad id exits 1, bad usage exits 2, and no daemon exits 1. $1 = the downpour binary.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: monitor.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
W=$(mktemp -d /tmp/dp-monitor.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do stop_pid "$p" 5; done; rm -rf "$W"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$W/daemon.log" ] && tail -n 20 "$W/daemon.log" >&2; exit 1; }
M() { timeout 20 "$DP" monitor --session "$W/sess" "$@"; }

# No daemon yet: exit 1 with a message.
mkdir -p "$W/sess" "$W/seed" "$W/dl"
M ps >/dev/null 2>"$W/err.txt"; rc=$?
[ "$rc" = 1 ] || fail "no daemon: exit $rc"
grep -q "no downpour daemon is running" "$W/err.txt" || fail "no daemon: $(cat "$W/err.txt")"
M frobnicate >/dev/null 2>&1; [ $? = 2 ] || fail "bad usage must exit 2"
M where abc >/dev/null 2>&1; [ $? = 2 ] || fail "where abc must exit 2"

head -c 20000000 /dev/urandom > "$W/seed/big.bin"
"$DP" create -o "$W/big.torrent" -s 262144 "$W/seed/big.bin" >/dev/null || fail "create"
LP=$(free_port); SP=$(free_port)
cat > "$W/d.conf" <<CONF
session_dir = "$W/sess";
download_dir = "$W/dl";
listen_address = "127.0.0.1";
listen_port = $LP;
download_rate_limit = "2MiB";
CONF
RP=$(free_port)
# The torrent goes in through the RPC (transmission-remote), the data comes from a downpour seed.
"$DP" daemon --foreground --config "$W/d.conf" --rpc-no-auth --rpc-port "$RP" >"$W/daemon.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do [ -S "$W/sess/monitor.sock" ] && break; sleep 0.1; done
[ -S "$W/sess/monitor.sock" ] || fail "no monitor socket"
[ "$(stat -c %a "$W/sess/monitor.sock")" = 600 ] || fail "socket mode is not 0600"
for _ in $(seq 1 50); do transmission-remote "127.0.0.1:$RP" -l >/dev/null 2>&1 && break; sleep 0.1; done
transmission-remote "127.0.0.1:$RP" -a "$W/big.torrent" | grep -q success || fail "add"
"$DP" seed --config <(echo 'listen_address = "127.0.0.1";') -o "$W/seed" --port "$SP" \
    --peer "127.0.0.1:$LP" "$W/big.torrent" >"$W/seed.log" 2>&1 &
PIDS+=($!)

# Wait (bounded) until the daemon has a peer task for the seed.
for _ in $(seq 1 100); do
	M ps >"$W/ps.txt" 2>&1 && grep -qE '^ *[0-9]+ .* peer .*127\.0\.0\.1:[0-9]+' "$W/ps.txt" && break
	sleep 0.1
done
PEER=$(grep -E '^ *[0-9]+ .* peer .*127\.0\.0\.1:[0-9]+' "$W/ps.txt" | head -1)
[ -n "$PEER" ] || fail "ps shows no peer task: $(cat "$W/ps.txt")"
echo "$PEER" | grep -qE '^ *[0-9]+  [A-Z_]+ ' || fail "ps line does not start with id and state: $PEER"
echo "$PEER" | grep -qE '[0-9.]+(ms|s|m[0-9]+s)' || fail "ps line has no wait time: $PEER"
ID=$(echo "$PEER" | awk '{ print $1 }')
# Every task line starts with its id and holds a state name ('#' lines are notes: the count of
# finished tasks hidden).
awk 'NR > 1 && !/^#/ && !/^ *[0-9]+  [A-Z_]+ /{ bad = 1 } END { exit bad }' "$W/ps.txt" || fail "ps format"
grep -q ' DONE ' "$W/ps.txt" && fail "ps lists finished DONE tasks: $(grep ' DONE ' "$W/ps.txt" | head -3)"

M blocked >"$W/blocked.txt" || fail "blocked exit"
grep -q "^# loop: lag" "$W/blocked.txt" || fail "blocked has no loop health"
grep -qE '^ *[0-9]+  (READ_WAIT|WRITE_WAIT|PEER_WAIT|RATE_WAIT|TIMER_WAIT|DISK_WAIT|QUEUED|CONNECT_WAIT) ' \
    "$W/blocked.txt" || fail "blocked lists no waiting task: $(cat "$W/blocked.txt")"

M where "$ID" >"$W/where.txt" || fail "where $ID exit"
grep -q "^task $ID (peer)" "$W/where.txt" || fail "where header: $(cat "$W/where.txt")"
grep -qE "parked in: [a-z_]+\(\) at [^ ]+\.c:[0-9]+" "$W/where.txt" || \
    grep -q "has not waited yet" "$W/where.txt" || fail "where has no location: $(cat "$W/where.txt")"
grep -q "waits for: " "$W/where.txt" || fail "where has no reason"

M where 999999999 >/dev/null 2>"$W/err.txt"; rc=$?
[ "$rc" = 1 ] || fail "unknown task id: exit $rc"
grep -q "no task 999999999" "$W/err.txt" || fail "unknown id message"
M log 5 >"$W/log.txt" || fail "log exit"
[ "$(wc -l < "$W/log.txt")" -le 5 ] && grep -q "info" "$W/log.txt" || fail "log: $(cat "$W/log.txt")"
# Interactive: commands from stdin on one connection.
printf 'ps\nwhere %s\nbogus\nquit\n' "$ID" | timeout 20 "$DP" monitor --session "$W/sess" \
    >"$W/inter.txt" 2>"$W/inter.err"
grep -q "^task $ID" "$W/inter.txt" && grep -q "unknown command 'bogus'" "$W/inter.err" || \
    fail "interactive: $(cat "$W/inter.txt" "$W/inter.err")"
echo "PASS: downpour monitor ps/blocked/where/log against a daemon with a live peer"
exit 0
