#!/bin/bash
# queue_column.sh: the queue position is visible in the list (issue 13: K/J seemed to do nothing):
# a Queue column numbers three torrents 1, 2, 3 with max_active_downloads = 1; K on the third
# makes it 2 there at once; the list sorts by Queue, and the header names the sort key (also
# when its column is too wide to show: at 80 cells). Loopback only, every wait bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-qcol-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-qcol.XXXXXX")
cleanup() {
	local p
	p=$(ui_pid)
	$T kill-server 2>/dev/null
	ui_wait_gone "$p"
	rm -rf "$tmp"
}
. "$(dirname "$0")/tui_lib.sh"
keys() { $T send-keys -t 0 "$@"; }

mkdir -p "$tmp/payload" "$tmp/dl" "$tmp/session"
for n in first second third; do
	head -c 200000 /dev/urandom >"$tmp/payload/$n.bin"
	"$dp" create -o "$tmp/$n.torrent" "$tmp/payload/$n.bin" >/dev/null || fail "downpour create"
done
cat >"$tmp/ui.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_port = 0;
dht = false;
lsd = false;
max_active_downloads = 1;
CONF
$T new-session -d -x 200 -y 30 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/ui.conf' '$tmp/first.torrent' '$tmp/second.torrent' '$tmp/third.torrent'" ||
    fail "tmux"
wait_for 'third\.bin +queued' 40 || fail "third is not queued"
screen | grep -q 'Queue' || fail "no Queue column at 200 cells"
[ "$(screen | grep -c 'bin ')" -ge 3 ] || fail "three rows"
row3=$(screen | grep 'third\.bin')
grep -Eq ' 3 +[^ ]+$| 3 +no trackers$| 3 *$' <<<"$row3" || fail "third's Queue is not 3: $row3"
keys G K
wait_for 'moved up the queue: #3' 20 || fail "no status line for K"
sleep 1.2
row3=$(screen | grep 'third\.bin')
row2=$(screen | grep 'second\.bin')
grep -Eq ' 2 +[^ ]+$| 2 +no trackers$| 2 *$' <<<"$row3" || fail "third's Queue is not 2 after K: $row3"
grep -Eq ' 3 +[^ ]+$| 3 +no trackers$| 3 *$' <<<"$row2" || fail "second's Queue is not 3 after K: $row2"
echo "ok   the Queue column follows K"
# sort by Queue: press the next-sort key until the header names it
for _ in $(seq 1 16); do
	screen | grep -q 'sort: Queue' && break
	keys '>'
	sleep 0.3
done
screen | grep -q 'sort: Queue' || fail "the header never names Queue as the sort key"
sleep 1.2
order=$(screen | grep -E '^ +[0-9]+ [a-z]+\.bin' | grep -o '[a-z]*\.bin' | tr '\n' ' ')
[ "$order" = "first.bin third.bin second.bin " ] || fail "sorted by Queue: $order"
echo "ok   sorted by Queue: $order"
# at 80 cells the Queue column is hidden, the header still names the sort key
$T resize-window -t 0 -x 80 -y 24
sleep 1.2
screen | grep -q 'sort: Queue' || fail "at 80 cells the sort key is not named"
echo "ok   the sort key is named at 80 cells"
cleanup
echo "PASS: tui queue_column"
