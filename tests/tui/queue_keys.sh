#!/bin/bash
# queue_keys.sh: the queue keys of the torrent list: with max_active_downloads = 1, second and
# third wait as queued; K moves third up twice to the queue's top, so when first is stopped
# third (not second) takes the slot; J, { and } move it and the detail's info shows the queue
# position; the help screen lists the keys. Loopback only, every wait bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-queue-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-queue.XXXXXX")
cleanup() {
	$T kill-server 2>/dev/null
	# The TUI goes on writing its resume files for a moment after its terminal is gone: wait
	# (bounded) until it has exited, or rm races those writes.
	for ((w = 0; w < 100; w++)); do
		pgrep -f -- "--config $tmp/ui.conf" >/dev/null || break
		sleep 0.1
	done
	rm -rf "$tmp"
}
. "$(dirname "$0")/tui_lib.sh"
keys() { $T send-keys -t 0 "$@"; }

mkdir -p "$tmp/payload" "$tmp/dl" "$tmp/session"
for n in first second third; do
	head -c 200000 /dev/urandom >"$tmp/payload/$n.bin"
	"$dp" create -o "$tmp/$n.torrent" -t http://127.0.0.1:1/announce "$tmp/payload/$n.bin" \
	    >/dev/null || fail "downpour create"
done
cat >"$tmp/ui.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_port = 0;
max_active_downloads = 1;
CONF
$T new-session -d -x 140 -y 36 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/ui.conf' '$tmp/first.torrent' '$tmp/second.torrent' '$tmp/third.torrent'; sleep 30" || fail "tmux"
wait_for 'first\.bin +downloading' 40 || fail "first is not downloading"
wait_for 'third\.bin +queued' 20 || fail "third is not queued behind first"

# Select third (the list is in the order added) and look at its place in the queue.
keys G Enter
wait_for 'queue position +3 ' 20 || fail "detail info does not show queue position 3"
keys J
wait_for 'queue position +3 ' 20 || fail "J at the bottom changed the position"
keys K
wait_for 'queue position +2 ' 20 || fail "K did not move it up"
keys '}'
wait_for 'queue position +3 ' 20 || fail "} did not move it to the bottom"
keys '{'
wait_for 'queue position +1 ' 20 || fail "{ did not move it to the top"
keys J
wait_for 'queue position +2 ' 20 || fail "J did not move it down"
keys Escape
# From the list: K twice puts third before first; an active torrent keeps its slot.
keys K
wait_for 'moved up the queue: #3' 20 || fail "no status line for K"
screen | grep -qE 'first\.bin +downloading' || fail "K took the slot from an active torrent"
# Stopping first frees the slot for the first queued in queue order: third, not second.
keys gg p
wait_for 'third\.bin +downloading' 20 || fail "third did not get the slot after first stopped"
screen | grep -qE 'second\.bin +queued' || fail "second started instead of third"
keys '?'
wait_for 'Help|help' 20 || fail "no help screen"
for ((k = 0; k < 8; k++)); do
	screen | grep -qE '^ *K +move the torrent\(s\) up the queue' && break
	keys PgDn
	sleep 0.3
done
screen | grep -qE '^ *K +move the torrent\(s\) up the queue' || fail "help does not list K"
screen | grep -qE '^ *J +move the torrent\(s\) down the queue' || fail "help does not list J"
keys q
echo "PASS: queue_keys"
cleanup
