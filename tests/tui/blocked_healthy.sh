#!/bin/bash
# blocked_healthy.sh: the blocked view lists real stalls only (issue 13: a healthy download's
# own task showed there, "24 s READ_WAIT downloading from 3 peers"). A rate-limited downpour
# seeder feeds the TUI's download on loopback: past the 5 s threshold the torrent's task is not
# in the blocked view (the Tasks screen still shows it downloading). Then the seeder is frozen
# (SIGSTOP: connected, sending nothing): the torrent's task appears there as a stall, "no data
# from 1 peer". Loopback only, every wait bounded, the seeder stopped by its PID.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-blocked-healthy-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-blocked-healthy.XXXXXX")
seeder=""
cleanup() {
	$T kill-server 2>/dev/null
	if [ -n "$seeder" ]; then
		kill -CONT "$seeder" 2>/dev/null
		kill -KILL "$seeder" 2>/dev/null
		wait "$seeder" 2>/dev/null
	fi
	rm -rf "$tmp"
}
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tui_lib.sh"

mkdir -p "$tmp/seed" "$tmp/dl" "$tmp/session"
head -c 4000000 /dev/urandom >"$tmp/seed/flow.bin"
"$dp" create -o "$tmp/flow.torrent" -s 32768 "$tmp/seed/flow.bin" >/dev/null 2>&1 ||
	fail "downpour create"
sp=$(free_port)
# 40 KiB/s: about 100 s for the whole file, so it is still downloading when the test looks
printf 'listen_address = "127.0.0.1";\ndht = false;\nlsd = false;\nupload_rate_limit = "40K";\n' \
	>"$tmp/seed.conf"
"$dp" seed --config "$tmp/seed.conf" -o "$tmp/seed" --port "$sp" "$tmp/flow.torrent" \
	>"$tmp/seed.log" 2>&1 &
seeder=$!
for ((i = 0; i < 100; i++)); do grep -q "checked:" "$tmp/seed.log" && break; sleep 0.1; done
grep -q "checked:" "$tmp/seed.log" || fail "the seeder did not verify its data"
cat >"$tmp/ui.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_port = 0;
dht = false;
lsd = false;
CONF

$T new-session -d -x 160 -y 40 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/ui.conf' '$tmp/flow.torrent'; echo EXIT=\$? > '$tmp/exit'; sleep 30" || fail "tmux"
wait_for 'flow\.bin +downloading' 40 || fail "the torrent is not listed as downloading"
$T send-keys -t 0 A; wait_for 'connect #1 to peer' || fail "add-peer prompt"
$T send-keys -t 0 "127.0.0.1:$sp" Enter

# data arrives (the status bar's download rate), and the Tasks screen lists the torrent's task
wait_for '↓ +[1-9][0-9.]* KiB/s' 30 || fail "the torrent never downloads from the seeder"
$T send-keys -t 0 2; wait_for 'Tasks:' || fail "tasks screen"
wait_for 'torrent +READ_WAIT .*torrent flow\.bin' 10 || fail "tasks screen lacks the torrent's task"

# blocked view, past the 5 s threshold: the healthy download is not there
$T send-keys -t 0 3; wait_for 'Loop lag' || fail "blocked view header"
sleep 8
screen | grep -q 'waiting longer than 5s' || fail "the threshold is not 5 s"
screen | grep -q 'torrent flow\.bin' && fail "the blocked view lists the healthy download"
screen | grep -qE '↓ +[1-9][0-9.]* KiB/s' || fail "it stopped downloading"

# the seeder freezes: connected, nothing arrives; a stall is listed (20 s + the 5 s threshold)
kill -STOP "$seeder"
$T send-keys -t 0 3; wait_for 'Loop lag' || fail "blocked view header (2)"
wait_for 'PEER_WAIT +torrent flow\.bin.*no data from 1 peer for [0-9]+ s' 160 ||
	fail "the stalled download is not in the blocked view"
kill -CONT "$seeder"

$T send-keys -t 0 q; wait_for '\(y/n\)' 20 && $T send-keys -t 0 y
for ((i = 0; i < 60; i++)); do [ -s "$tmp/exit" ] && break; sleep 0.25; done
[ "$(cat "$tmp/exit" 2>/dev/null)" = "EXIT=0" ] || fail "did not quit cleanly: $(cat "$tmp/exit" 2>/dev/null)"
stop_pid "$seeder" 10
seeder=""
cleanup
echo "PASS: tui blocked view: a healthy download is not listed, a stalled one is"
