#!/bin/bash
# done_wanted.sh: a skipped file's verified data is not "done" (issue 13: 108 MiB of 126 MiB
# wanted showed "Done 126 MiB" beside "Size 108 MiB"). A two-file torrent whose data is all on
# disk seeds; x skips the second file in the files tab: the list's Size and Done both read the
# first file's size, and the detail's "have" says so of what is wanted, the skipped file's
# verified bytes apart. Loopback only, every wait bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-done-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-done.XXXXXX")
cleanup() {
	local p
	p=$(ui_pid)
	$T kill-server 2>/dev/null
	ui_wait_gone "$p"
	rm -rf "$tmp"
}
. "$(dirname "$0")/tui_lib.sh"
keys() { $T send-keys -t 0 "$@"; }

mkdir -p "$tmp/session" "$tmp/dl/pair"
head -c $((3 * 1024 * 1024)) /dev/urandom >"$tmp/dl/pair/a.bin"
head -c $((1024 * 1024)) /dev/urandom >"$tmp/dl/pair/b.bin"
"$dp" create -o "$tmp/pair.torrent" -s 65536 "$tmp/dl/pair" >/dev/null || fail "create"
cat >"$tmp/ui.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_port = 0;
dht = false;
lsd = false;
CONF
$T new-session -d -x 160 -y 32 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/ui.conf' '$tmp/pair.torrent'" ||
    fail "tmux"
wait_for 'pair .*seeding' 80 || fail "the torrent does not seed from its data"
screen | grep -E 'pair .*seeding' | grep -q '4\.00 MiB .*4\.00 MiB' || fail "premise: Size and Done 4 MiB"

# Skip b.bin: the files tab, its last row, x.
keys Enter
wait_for 'info hash' 40 || fail "no detail"
for _ in 1 2 3 4 5; do
	screen | grep -q 'b\.bin' && break
	keys Tab
	sleep 0.3
done
screen | grep -q 'b\.bin' || fail "no files tab"
keys G x
wait_for 'b\.bin.*skip' 40 || fail "b.bin is not skipped"
keys Escape
wait_for 'pair ' 40 || fail "no list"
sleep 1.2
row=$(screen | grep -E 'pair ')
grep -q '3\.00 MiB .*3\.00 MiB' <<<"$row" || fail "Size and Done are not both 3 MiB: $row"
grep -q '4\.00 MiB' <<<"$row" && fail "the skipped file's bytes count as done: $row"
echo "ok   list: Size 3.00 MiB, Done 3.00 MiB with b.bin skipped"
keys Enter
for _ in 1 2 3 4 5 6; do
	screen | grep -q 'info hash' && break
	keys Tab
	sleep 0.3
done
wait_for 'have +3\.00 MiB of 3\.00 MiB wanted \(100\.0%\); 4\.00 MiB verified with skipped files' 40 ||
    fail "the detail's have line"
echo "ok   detail: have 3.00 MiB of 3.00 MiB wanted, 4.00 MiB verified with skipped files"
cleanup
echo "PASS: tui done_wanted"
