#!/bin/bash
# blocked.sh: a peer that accepts the connection and never sends a byte shows up in the blocked
# view with its state, reason and where it parked. The stalling listener is a separate python3
# process (bounded lifetime, killed by PID) added through the UI's add-peer prompt (A); a bad
# address shows the engine's error on the bottom line; the detail's info, trackers and pieces
# tabs render; removal asks first and n keeps the torrent. Loopback only, every wait bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-blocked-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-blocked.XXXXXX")
staller=""
cleanup() {
	$T kill-server 2>/dev/null
	[ -n "$staller" ] && kill "$staller" 2>/dev/null && wait "$staller" 2>/dev/null
	rm -rf "$tmp"
}
. "$(dirname "$0")/tui_lib.sh"

# the stalling peer: accepts, holds the sockets, never writes; exits by itself after 120 s
/usr/bin/python3 - "$tmp/staller.port" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
s.settimeout(0.5)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
end = time.time() + 120
while time.time() < end:
    try:
        c, _ = s.accept()
        held.append(c)
    except socket.timeout:
        pass
PY
staller=$!
for ((i = 0; i < 40; i++)); do [ -s "$tmp/staller.port" ] && break; sleep 0.25; done
[ -s "$tmp/staller.port" ] || fail "the stalling listener did not start"
port=$(cat "$tmp/staller.port")

mkdir -p "$tmp/payload" "$tmp/dl" "$tmp/session"
head -c 3000000 /dev/urandom >"$tmp/payload/stalled.bin"
"$dp" create -o "$tmp/stalled.torrent" -t http://127.0.0.1:1/announce -c "blocked view test" \
	"$tmp/payload/stalled.bin" >/dev/null || fail "downpour create"
cat >"$tmp/ui.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_port = 0;
CONF

$T new-session -d -x 140 -y 36 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/ui.conf' '$tmp/stalled.torrent'; echo EXIT=\$? > '$tmp/exit'; sleep 30" || fail "tmux"
wait_for 'stalled\.bin +downloading' 40 || fail "the torrent is not listed as downloading"

# a bad address: the engine's reason on the bottom line
$T send-keys -t 0 A; wait_for 'connect #1 to peer' || fail "add-peer prompt"
$T send-keys -t 0 'not-an-address' Enter
wait_for 'cannot connect #1 stalled\.bin to not-an-address: .+' || fail "no engine error for a bad peer address"
# the staller, through the same prompt
$T send-keys -t 0 A; wait_for 'connect #1 to peer' || fail "add-peer prompt (2)"
$T send-keys -t 0 "127.0.0.1:$port" Enter
wait_for "connecting #1 stalled\\.bin to 127\\.0\\.0\\.1:$port" || fail "add-peer not confirmed"

# blocked view: past the 5 s threshold, the peer waits for a handshake that never comes
$T send-keys -t 0 3; wait_for 'Loop lag' || fail "blocked view header"
wait_for "READ_WAIT +peer 127\\.0\\.0\\.1:$port.*handshake" 80 || fail "blocked view lacks the stalled peer"
screen | grep -E "peer 127\\.0\\.0\\.1:$port" | grep -qE '[a-z_]+:[0-9]+ *$' || fail "blocked view lacks where the peer parked"
screen | grep -qE 'Blocked: [1-9][0-9]* tasks? waiting longer than 5s' || fail "blocked count"
# the threshold keys: 5 s doubles up to 640 s (the wait is no longer listed), then down to 1 s
for k in + + + + + + +; do $T send-keys -t 0 "$k"; done
wait_for 'waiting longer than [0-9]{2,}s' || fail "threshold did not rise"
screen | grep -qE "peer 127\\.0\\.0\\.1:$port" && fail "a high threshold still lists the peer"
for k in - - - - - - - - - - -; do $T send-keys -t 0 -- "$k"; done
wait_for 'waiting longer than 1s' || fail "threshold did not fall to 1 s"

# the tasks screen names the same task and its state
$T send-keys -t 0 2; wait_for 'Tasks:' || fail "tasks screen"
wait_for "READ_WAIT .*peer 127\\.0\\.0\\.1:$port" || fail "tasks screen lacks the stalled peer"

# detail tabs: info, trackers, pieces
$T send-keys -t 0 1 Enter; wait_for 'info hash +[0-9a-f]{40}' || fail "info tab"
screen | grep -q 'blocked view test' || fail "info tab lacks the comment"
screen | grep -qE 'pieces +[0-9]+ x ' || screen | grep -qE 'pieces +[0-9]+' || fail "info tab lacks the pieces"
$T send-keys -t 0 Tab; wait_for "127\\.0\\.0\\.1:$port" || fail "peers tab lacks the staller"
$T send-keys -t 0 Tab Tab; wait_for 'http://127\.0\.0\.1:1/announce' || fail "trackers tab"
wait_for 'http://127\.0\.0\.1:1/announce .*(error|refused)' 60 || fail "trackers tab shows no error for a closed port"
$T send-keys -t 0 Tab; wait_for '[0-9]+ pieces +. have' || fail "pieces tab legend"
screen | sed -n '4p' | grep -qE '^ ·+' || fail "pieces tab: no map of missing pieces"

# removal asks first; n keeps the torrent
$T send-keys -t 0 1 d; wait_for "Remove 'stalled\\.bin'\\? \\(y/n\\)" || fail "no confirmation before remove"
$T send-keys -t 0 n; wait_for 'cancelled' || fail "n did not cancel"
screen | grep -q 'stalled\.bin' || fail "the torrent went away after n"

$T send-keys -t 0 q; wait_for '\(y/n\)' 20 && $T send-keys -t 0 y
for ((i = 0; i < 60; i++)); do [ -s "$tmp/exit" ] && break; sleep 0.25; done
[ "$(cat "$tmp/exit" 2>/dev/null)" = "EXIT=0" ] || fail "did not quit cleanly: $(cat "$tmp/exit" 2>/dev/null)"
cleanup
echo "PASS: tui blocked view, add peer, detail tabs"
