#!/bin/bash
# peer_legend.sh: the peers tab's flag legend is whole on narrow screens (issue 13: it was cut
# below 200 cells): at 80 and 120 cells every flag's words show, wrapped over lines, and the
# "no peers connected" line is still there. Loopback only, every wait bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-legend-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-legend.XXXXXX")
stop_ui() {
	local p
	p=$(ui_pid)
	$T kill-server 2>/dev/null
	ui_wait_gone "$p"
}
cleanup() { stop_ui; rm -rf "$tmp"; }
. "$(dirname "$0")/tui_lib.sh"
keys() { $T send-keys -t 0 "$@"; }

mkdir -p "$tmp/dl" "$tmp/session" "$tmp/src"
head -c 100000 /dev/urandom >"$tmp/src/lonely.bin"
"$dp" create -o "$tmp/t.torrent" "$tmp/src/lonely.bin" >/dev/null || fail "create"
cat >"$tmp/ui.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_port = 0;
dht = false;
lsd = false;
CONF
for width in 80 120; do
	rm -rf "$tmp/session"/*
	$T new-session -d -x "$width" -y 24 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/ui.conf' '$tmp/t.torrent'" ||
	    fail "tmux"
	wait_for 'lonely\.bin' 40 || fail "$width: the torrent is not listed"
	keys Enter
	wait_for 'info hash' 40 || fail "$width: no detail"
	for _ in 1 2 3 4 5 6; do
		screen | grep -q 'flags:' && break
		keys Tab
		sleep 0.3
	done
	wait_for 'no peers connected' 20 || fail "$width: no peers tab"
	sleep 0.5
	text=$(screen | tr -s ' \n' '  ')
	for words in "D/d download unchoked/choked" "U/u upload unchoked/choked" \
	    "K unchoked not interested" "S snubbed" "I incoming" "O optimistic" "E ext" "F fast" \
	    "s seed"; do
		grep -qF "$words" <<<"$text" || fail "$width: the legend lacks '$words'"
	done
	echo "ok   $width cells: the whole flag legend"
	stop_ui
	sleep 0.3
done
echo "PASS: peer_legend"
cleanup
