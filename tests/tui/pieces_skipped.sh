#!/bin/bash
# pieces_skipped.sh: the piece map shows skipped files' pieces (issue 13: they drew as missing).
# A two-file torrent with no peers and no data (a.bin 1 MiB, b.bin 1 MiB, 64 KiB pieces: 16
# pieces each); x skips b.bin in the files tab; the pieces tab then shows 16 cells in the
# skipped glyph and 16 missing, and the legend names it. With --ascii the glyph is '-'.
# Loopback only, every wait bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-pskip-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-pskip.XXXXXX")
cleanup() {
	local p
	p=$(ui_pid)
	$T kill-server 2>/dev/null
	ui_wait_gone "$p"
	rm -rf "$tmp"
}
. "$(dirname "$0")/tui_lib.sh"
keys() { $T send-keys -t 0 "$@"; }
# how many times the character $1 appears on the screen's piece rows (below the legend)
count_glyph() { screen | sed -n '/peers with it/,$p' | tail -n +2 | grep -o -- "$1" | wc -l; }

mkdir -p "$tmp/session" "$tmp/dl" "$tmp/src/pair"
head -c $((1024 * 1024)) /dev/urandom >"$tmp/src/pair/a.bin"
head -c $((1024 * 1024)) /dev/urandom >"$tmp/src/pair/b.bin"
"$dp" create -o "$tmp/pair.torrent" -s 65536 "$tmp/src/pair" >/dev/null || fail "create"
cat >"$tmp/ui.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_port = 0;
dht = false;
lsd = false;
CONF
for mode in unicode ascii; do
	opt=""; glyph="╌"
	[ $mode = ascii ] && { opt="--ascii"; glyph="-"; }
	rm -rf "$tmp/session"/* "$tmp/dl"/*
	$T new-session -d -x 120 -y 32 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' $opt --config '$tmp/ui.conf' '$tmp/pair.torrent'" ||
	    fail "tmux"
	wait_for 'pair .*downloading' 60 || fail "$mode: the torrent is not listed downloading"
	keys Enter
	wait_for 'info hash' 40 || fail "$mode: no detail"
	for _ in 1 2 3 4 5; do
		screen | grep -q 'b\.bin' && break
		keys Tab
		sleep 0.3
	done
	screen | grep -q 'b\.bin' || fail "$mode: no files tab"
	keys G x
	wait_for 'b\.bin.*skip' 40 || fail "$mode: b.bin is not skipped"
	for _ in 1 2 3 4 5 6; do
		screen | grep -q 'peers with it' && break
		keys Tab
		sleep 0.3
	done
	wait_for "32 pieces .*$glyph skipped" 20 || fail "$mode: the legend does not name skipped pieces"
	sleep 1.2
	n=$(count_glyph "$glyph")
	[ "$n" -eq 16 ] || fail "$mode: $n cells drawn skipped, want 16"
	echo "ok   $mode: 16 of 32 pieces drawn skipped"
	$T kill-server 2>/dev/null
	sleep 0.5
done
echo "PASS: pieces_skipped"
cleanup
