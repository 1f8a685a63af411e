#!/bin/bash
# files_up.sh: h on a file row of the detail's files tab goes up to its folder (issue 13: it
# switched to the previous tab). A torrent of a.bin and sub/b.bin: G selects b.bin, h selects
# "sub" (x then skips the folder, the tab stays Files); h at the top level stays on the tab; h
# on an open folder still closes it. Loopback only, every wait bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-up-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-up.XXXXXX")
cleanup() {
	local p
	p=$(ui_pid)
	$T kill-server 2>/dev/null
	ui_wait_gone "$p"
	rm -rf "$tmp"
}
. "$(dirname "$0")/tui_lib.sh"
keys() { $T send-keys -t 0 "$@"; }

mkdir -p "$tmp/session" "$tmp/dl/tree/sub"
head -c 200000 /dev/urandom >"$tmp/dl/tree/a.bin"
head -c 100000 /dev/urandom >"$tmp/dl/tree/sub/b.bin"
"$dp" create -o "$tmp/tree.torrent" -s 32768 "$tmp/dl/tree" >/dev/null || fail "create"
cat >"$tmp/ui.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_port = 0;
dht = false;
lsd = false;
CONF
$T new-session -d -x 140 -y 30 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/ui.conf' '$tmp/tree.torrent'" ||
    fail "tmux"
wait_for 'tree .*seeding' 80 || fail "the torrent does not seed"
keys Enter
wait_for 'info hash' 40 || fail "no detail"
for _ in 1 2 3 4 5; do
	screen | grep -q 'b\.bin' && break
	keys Tab
	sleep 0.3
done
screen | grep -q 'b\.bin' || fail "no files tab"
keys G h
sleep 0.5
screen | grep -q 'info hash\|Address' && fail "h on a file switched tabs"
keys x
wait_for 'sub: priority skip' 40 || fail "h did not select the folder sub (x skipped something else)"
screen | grep -q 'b\.bin' || fail "the files tab is gone"
echo "ok   h on sub/b.bin selects sub"
# at the top level (a.bin, the first row) h stays on the files tab
keys Home; sleep 0.3; keys h
sleep 0.5
screen | grep -q 'info hash\|Address' && fail "h at the top level switched tabs"
echo "ok   h at the top stays"
# sub is open: h on it closes it (b.bin disappears)
keys j h
sleep 0.5
screen | grep -q 'b\.bin' && fail "h on an open folder did not close it"
echo "ok   h on an open folder closes it"
cleanup
echo "PASS: tui files_up"
