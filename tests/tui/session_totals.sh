#!/bin/bash
# session_totals.sh: the detail view keeps this run's transfer apart from the all-time totals
# (issue 13: "this session" showed the resume file's all-time figures). The TUI seeds a torrent
# to `downpour get` on loopback and quits; started again on the same session directory, its
# detail says "this session down 0 B, up 0 B" and "all time" keeps the upload. Bounded waits.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-totals-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-totals.XXXXXX")
cleanup() {
	$T kill-server 2>/dev/null
	rm -rf "$tmp"
}
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tui_lib.sh"

mkdir -p "$tmp/dl" "$tmp/session"
head -c 1500000 /dev/urandom >"$tmp/dl/totals.bin"
"$dp" create -o "$tmp/t.torrent" -s 32768 "$tmp/dl/totals.bin" >/dev/null 2>&1 || fail "create"
cat >"$tmp/ui.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_ipv6 = false;
listen_port = 0;
dht = false;
lsd = false;
CONF
printf 'listen_address = "127.0.0.1";\ndht = false;\nlsd = false;\n' >"$tmp/get.conf"
# quit: q (confirming when asked) and a clean exit
quit() {
	$T send-keys -t 0 q; wait_for '\(y/n\)' 20 && $T send-keys -t 0 y
	for ((i = 0; i < 60; i++)); do [ -s "$tmp/exit$1" ] && break; sleep 0.25; done
	[ "$(cat "$tmp/exit$1" 2>/dev/null)" = "EXIT=0" ] || fail "run $1 did not quit cleanly"
	$T kill-server 2>/dev/null
}

# run 1: seeds once
$T new-session -d -x 160 -y 40 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/ui.conf' '$tmp/t.torrent'; echo EXIT=\$? > '$tmp/exit1'; sleep 30" || fail "tmux"
wait_for 'totals\.bin +seeding' 60 || fail "the torrent does not seed"
port=$(screen | grep -oE 'port [0-9]+' | head -n 1 | cut -d' ' -f2)
[ -n "$port" ] || fail "no listen port on the status bar"
timeout 60 "$dp" get --config "$tmp/get.conf" -o "$tmp/got" --port "$(free_port)" \
	--peer "127.0.0.1:$port" "$tmp/t.torrent" >"$tmp/get.log" 2>&1 || fail "get did not complete"
$T send-keys -t 0 Enter; wait_for 'this session +down 0 B, up 1\.[0-9]+ MiB' 20 ||
	fail "run 1: the detail's 'this session' lacks the upload"
screen | grep -qE 'all time +down 0 B, up 1\.[0-9]+ MiB' || fail "run 1: no 'all time' row"
quit 1

# run 2: the same session directory, nothing moved yet (a tmux server of its own: the first
# one may still be going away)
T="tmux -L ${sock}-2"
$T new-session -d -x 160 -y 40 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/ui.conf'; echo EXIT=\$? > '$tmp/exit2'; sleep 30" || fail "tmux (2)"
wait_for 'totals\.bin +seeding' 60 || fail "run 2: the torrent does not seed"
$T send-keys -t 0 Enter; wait_for 'all time +down 0 B, up 1\.[0-9]+ MiB' 20 ||
	fail "run 2: 'all time' lost the first run's upload"
screen | grep -qE 'this session +down 0 B, up 0 B' ||
	fail "run 2: 'this session' shows earlier runs' bytes"
quit 2
cleanup
echo "PASS: tui detail: this session and all time apart across a restart"
