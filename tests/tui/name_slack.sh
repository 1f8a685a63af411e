#!/bin/bash
# name_slack.sh: names get the slack first (issue 13: the Name column stayed about 20 cells at
# 80 and 120 columns while rate columns kept their width). A torrent with a 44-character name:
# at 80 cells the list shows at least 25 of its characters beside Down and Up; at 120 at least
# 27 beside Size, Ratio and Peers; at 200 all of it. Loopback only, every wait bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-slack-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-slack.XXXXXX")
stop_ui() {
	local p
	p=$(ui_pid)
	$T kill-server 2>/dev/null
	ui_wait_gone "$p"
}
cleanup() { stop_ui; rm -rf "$tmp"; }
. "$(dirname "$0")/tui_lib.sh"

name=Seasons.Of.A.Long.Torrent.Name.1080p.x264.bin   # 44 characters
mkdir -p "$tmp/dl" "$tmp/session" "$tmp/src"
head -c 100000 /dev/urandom >"$tmp/src/$name"
"$dp" create -o "$tmp/t.torrent" "$tmp/src/$name" >/dev/null || fail "create"
cat >"$tmp/ui.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_port = 0;
dht = false;
lsd = false;
CONF
for spec in "80 25 Down Up" "120 27 Size Ratio Peers" "200 44 Tracker"; do
	set -- $spec
	width=$1 want=$2
	shift 2
	rm -rf "$tmp/session"/*
	$T new-session -d -x "$width" -y 16 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/ui.conf' '$tmp/t.torrent'" ||
	    fail "tmux"
	wait_for 'downloading' 40 || fail "$width: the torrent is not listed"
	sleep 1.2
	header=$(screen | grep -m1 -E '#. Name')
	for col in "$@"; do
		grep -qw "$col" <<<"$header" || fail "$width: no $col column: $header"
	done
	shown=$(screen | grep -m1 'downloading' | sed -E 's/^ *[0-9]+ //; s/ +downloading.*//; s/…$//')
	[ ${#shown} -ge "$want" ] || fail "$width: the name shows ${#shown} characters, want $want: '$shown'"
	echo "ok   $width cells: ${#shown} characters of the name, with $*"
	stop_ui
	sleep 0.3
done
echo "PASS: name_slack"
cleanup
