#!/bin/bash
# attach.sh: the terminal UI attached to a daemon (issue 12). A daemon seeds one torrent, waits
# for peers on another and downloads a third from a libtorrent seeder (python3-libtorrent, rate
# limited); `downpour attach` lists them with the download's progress moving, shows the daemon's tasks (its own
# "attached UI" task among them), stops one with p, adds a third with a, and q leaves with the
# daemon running; a plain `downpour` on the held session attaches too, beside a second UI at the
# same time, and sees the stopped torrent and the added one; Q asks before stopping the daemon,
# and a daemon killed under an attached UI makes it exit 1 with a message; after the first q the
# daemon goes on downloading to a byte-identical copy. With no daemon,
# `downpour attach` exits 1 and says so. Loopback only, every wait bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-attach-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-attach.XXXXXX")
daemon=""
lt_pid=""
cleanup() {
	$T kill-server 2>/dev/null
	if [ -n "$lt_pid" ] && kill -0 "$lt_pid" 2>/dev/null; then
		kill "$lt_pid" 2>/dev/null
		for ((w = 0; w < 50; w++)); do kill -0 "$lt_pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$lt_pid" 2>/dev/null
	fi
	if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
		kill "$daemon" 2>/dev/null
		for ((w = 0; w < 100; w++)); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$daemon" 2>/dev/null
	fi
	rm -rf "$tmp"
}
. "$(dirname "$0")/tui_lib.sh"
. "$(dirname "$0")/../lib.sh"
/usr/bin/python3 -c 'import libtorrent' 2>/dev/null || fail "python3-libtorrent is not installed"
keys() { $T send-keys -t "${win:-0}" "$@"; }
# a new tmux server after the last is gone (a new one while the old one exits fails)
tmux_reset() {
	$T kill-server 2>/dev/null
	for ((w = 0; w < 50; w++)); do $T has-session 2>/dev/null || break; sleep 0.1; done
	sleep 0.3
}

mkdir -p "$tmp/payload" "$tmp/dl" "$tmp/session" "$tmp/lt"
head -c 6000000 /dev/urandom >"$tmp/lt/ltwant.bin"
"$dp" create -o "$tmp/ltwant.torrent" -t http://127.0.0.1:1/announce "$tmp/lt/ltwant.bin" \
    >/dev/null || fail "downpour create"
dport=$(free_port)
for n in seeded wanted added; do
	head -c 300000 /dev/urandom >"$tmp/payload/$n.bin"
	"$dp" create -o "$tmp/$n.torrent" -t http://127.0.0.1:1/announce "$tmp/payload/$n.bin" \
	    >/dev/null || fail "downpour create"
done
cp "$tmp/payload/seeded.bin" "$tmp/dl/"
cat >"$tmp/d.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_port = $dport;
dht = false;
lsd = false;
CONF
start_daemon() {
	# a daemon killed with -9 leaves its socket file: only a connection shows the new one is up
	rm -f "$tmp/session/attach.sock"
	"$dp" daemon --foreground --config "$tmp/d.conf" >"$tmp/daemon.log" 2>&1 &
	daemon=$!
	for ((i = 0; i < 80; i++)); do
		[ -S "$tmp/session/attach.sock" ] && /usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(sys.argv[1])' \
		    "$tmp/session/attach.sock" 2>/dev/null && break
		sleep 0.1
	done
	[ -S "$tmp/session/attach.sock" ] || fail "the daemon's attach socket did not appear"
}

# No daemon: exit 1, said plainly.
$T new-session -d -x 140 -y 36 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' attach --config '$tmp/d.conf'; echo EXIT=\$? ; sleep 60" || fail "tmux"
wait_for 'EXIT=1' 40 || fail "attach with no daemon did not exit 1"
screen | grep -q 'no daemon runs on the session' || fail "attach with no daemon: no clear message"
tmux_reset

start_daemon
[ "$(stat -c %a "$tmp/session/attach.sock")" = 600 ] || fail "the attach socket is not 0600"
# torrents go in through the daemon's watch-free way: an attached UI's command line
$T new-session -d -x 140 -y 36 "cd '$tmp' && env LANG=C.UTF-8 TERM=xterm-256color '$dp' attach --config '$tmp/d.conf' seeded.torrent wanted.torrent ltwant.torrent; echo EXIT=\$?; sleep 60" || fail "tmux"
wait_for 'attached to the daemon \(PID [0-9]+\)' 40 || fail "no 'attached' message"
wait_for 'seeded\.bin +seeding' 80 || fail "the seeded torrent is not listed as seeding"
wait_for 'wanted\.bin +downloading' 40 || fail "the wanted torrent is not listed as downloading"
# a libtorrent seeder dials the daemon at 300 kB/s: 6 MB take about 20 s, progress visible
/usr/bin/python3 "$(dirname "$0")/../interop/lt_seed.py" "$tmp/ltwant.torrent" "$tmp/lt" \
    --port "$(free_port)" --no-tracker --upload-limit 300000 --connect "127.0.0.1:$dport" \
    --ready-file "$tmp/lt.ready" --timeout 180 >"$tmp/lt.log" 2>&1 &
lt_pid=$!
lt_pct() { screen | grep -oE 'ltwant\.bin +downloading.* ([0-9]+(\.[0-9])?)%' | head -n 1 |
    grep -oE '[0-9]+(\.[0-9])?%' | tail -n 1 | tr -d '%' | cut -d. -f1; }
wait_for 'ltwant\.bin +downloading.* ([1-9][0-9]?|[0-9][1-9])(\.[0-9])?%' 60 ||
    { cat "$tmp/lt.log"; fail "the libtorrent download shows no progress"; }
p1=$(lt_pct)
for ((w = 0; w < 40; w++)); do p2=$(lt_pct); [ -n "$p2" ] && [ "$p2" -gt "${p1:-0}" ] && break; sleep 0.25; done
[ -n "$p2" ] && [ "$p2" -gt "${p1:-0}" ] || fail "the download's progress did not move ($p1 -> $p2)"

# the tasks screen shows the daemon's tasks, this UI among them
keys 2
wait_for 'attached UI' 40 || fail "the tasks screen lacks the daemon's 'attached UI' task"
screen | grep -q 'attach server' || fail "the tasks screen lacks the daemon's attach server"
keys 1
wait_for 'wanted\.bin +downloading' 20 || fail "back to the list"

# p stops the selected (second) torrent; a adds the third by a path relative to the UI
keys G k p
wait_for 'wanted\.bin +stopped' 40 || fail "p did not stop the torrent on the daemon"
keys a
wait_for 'add torrent file or magnet' 20 || fail "no add prompt"
keys "added.tor" Tab
wait_for 'added\.torrent' 20 || fail "Tab did not complete the path on the daemon's side"
keys Enter
wait_for 'added\.bin' 40 || fail "the added torrent is not listed"
keys q
wait_for 'EXIT=0' 40 || fail "q did not leave with status 0"
kill -0 "$daemon" 2>/dev/null || fail "leaving the UI stopped the daemon"
# still downloading without a UI: it was not done when q left, it completes now
[ -f "$tmp/dl/ltwant.bin" ] && cmp -s "$tmp/lt/ltwant.bin" "$tmp/dl/ltwant.bin" &&
    fail "the libtorrent download was complete before q: the test says nothing"
for ((w = 0; w < 120; w++)); do cmp -s "$tmp/lt/ltwant.bin" "$tmp/dl/ltwant.bin" && break; sleep 0.5; done
cmp -s "$tmp/lt/ltwant.bin" "$tmp/dl/ltwant.bin" ||
    fail "the daemon did not finish the download after the UI left"

# a plain downpour on the held session attaches; a second UI attaches at the same time
tmux_reset
$T new-session -d -x 140 -y 36 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/d.conf'; echo EXIT=\$?; sleep 60" || fail "tmux"
$T new-window -t 1 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' attach --config '$tmp/d.conf'; echo EXIT=\$?; sleep 60" || fail "tmux window"
win=0 wait_for 'attached to the daemon' 40 || win=0 fail "plain downpour did not attach"
win=0 wait_for 'wanted\.bin +stopped' 40 || win=0 fail "the reattached UI does not show the stop"
win=0 wait_for 'added\.bin' 20 || win=0 fail "the reattached UI lacks the added torrent"
win=1 wait_for 'seeded\.bin +seeding' 40 || win=1 fail "the second UI does not list the torrents"
# s on the second UI starts it again; the first sees it
win=1 keys G k k s
win=0 wait_for 'wanted\.bin +downloading' 40 || win=0 fail "a start from the second UI did not show on the first"
# Q asks first; n keeps the daemon
win=1 keys Q
win=1 wait_for 'Stop the DAEMON\?' 20 || win=1 fail "Q did not ask"
win=1 keys n
win=1 wait_for 'the daemon keeps running' 20 || win=1 fail "n did not keep the daemon"
kill -0 "$daemon" 2>/dev/null || fail "Q then n stopped the daemon"

# the daemon killed under both UIs: each exits 1 and says why
kill -9 "$daemon"
wait "$daemon" 2>/dev/null
daemon=""
win=0 wait_for 'EXIT=1' 40 || win=0 fail "the UI did not exit 1 when the daemon died"
win=0 screen | grep -q 'daemon closed the connection' || win=0 fail "no message about the daemon"
win=1 wait_for 'EXIT=1' 40 || win=1 fail "the second UI did not exit 1 when the daemon died"

# Q with y stops a daemon (its process ends; the UI says so and exits 0)
tmux_reset
start_daemon
$T new-session -d -x 140 -y 36 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' attach --config '$tmp/d.conf'; echo EXIT=\$?; sleep 60" || fail "tmux"
wait_for 'seeded\.bin' 40 || fail "no list after the daemon restarted"
keys Q
wait_for 'Stop the DAEMON\?' 20 || fail "Q did not ask"
keys y
wait_for 'EXIT=0' 40 || fail "the UI did not leave after stopping the daemon"
screen | grep -q 'the daemon is stopping' || fail "no message that the daemon stops"
for ((w = 0; w < 150; w++)); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
kill -0 "$daemon" 2>/dev/null && fail "Q y did not stop the daemon"
wait "$daemon" 2>/dev/null
daemon=""
echo "PASS: attach"
cleanup
