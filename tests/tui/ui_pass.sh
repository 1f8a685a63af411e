#!/bin/bash
# ui_pass.sh: items of issue 13's TUI pass, each failing before its fix: `m` opens an empty
# prompt (a pasted link followed a pre-filled "magnet:?xt=urn:btih:") and takes a bare
# info-hash; /ünï finds "Ünïcödé" (the search folded ASCII only); the state filter says "stopped" as the rows do (it said "paused"); `B` takes a
# decimal rate ("1.5M" was refused) and one value sets the download limit only (it set both);
# the trackers tab counts tiers from 1 as `downpour info` does (it counted from 0); `q` with a
# download that has no peers and moves nothing quits at once (it asked "Transfers are active").
# Loopback only (the trackers are closed ports), every wait bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-pass-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-pass.XXXXXX")
cleanup() {
	local p
	p=$(ui_pid)
	$T kill-server 2>/dev/null
	ui_wait_gone "$p"
	rm -rf "$tmp"
}
. "$(dirname "$0")/tui_lib.sh"
keys() { $T send-keys -t 0 "$@"; }

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
P1=$(free_port)
P2=$(free_port)
mkdir -p "$tmp/dl" "$tmp/session" "$tmp/src"
head -c 300000 /dev/urandom >"$tmp/src/nopeers.bin"
"$dp" create -o "$tmp/t.torrent" -t "http://127.0.0.1:$P1/announce" \
    -t "http://127.0.0.1:$P2/announce" "$tmp/src/nopeers.bin" >/dev/null || fail "create"
head -c 100000 /dev/urandom >"$tmp/src/Ünïcödé.bin"
"$dp" create -o "$tmp/u.torrent" "$tmp/src/Ünïcödé.bin" >/dev/null || fail "create Ünïcödé"
cat >"$tmp/ui.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_port = 0;
dht = false;
lsd = false;
upload_rate_limit = "100K";
CONF
$T new-session -d -x 160 -y 32 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/ui.conf' '$tmp/t.torrent' '$tmp/u.torrent'" ||
    fail "tmux"
wait_for 'nopeers\.bin.*downloading' 80 || fail "the torrent does not download"

# m: an empty prompt.
keys m
wait_for 'add magnet link' 40 || fail "m opens no prompt"
screen | grep 'add magnet link' | grep -q 'magnet:?' && fail "the magnet prompt is pre-filled"
keys Escape
echo "ok   m opens an empty prompt"

# /ünï finds Ünïcödé (case folded beyond ASCII) and hides the other.
keys /
wait_for '^ */' 40 || fail "/ opens no search prompt"
keys -l 'ünï'
keys Enter
wait_for 'Ünïcödé\.bin' 40 || fail "the search for ünï does not show Ünïcödé.bin"
screen | grep -q 'nopeers\.bin' && fail "the search for ünï still shows nopeers.bin"
keys /
keys BSpace BSpace BSpace Enter
wait_for 'nopeers\.bin' 40 || fail "the search is not cleared"
echo "ok   /ünï finds Ünïcödé"

# f: all, downloading, seeding, then the stopped ones, named so.
keys f f f
wait_for 'stopped' 40 || fail "the third filter is not called stopped"
screen | grep -q 'paused' && fail "the filter says paused"
keys f f f
echo "ok   the filter says stopped"

# B: one decimal value sets the download limit only.
keys B
wait_for 'DOWN \[UP\]' 40 || fail "B opens no prompt naming DOWN [UP]"
keys 1.5M Enter
wait_for 'max 1\.50* MiB' 40 || fail "1.5M was not taken as the download limit"
screen | grep -q 'max 100' || fail "one value changed the upload limit (100 KiB/s before)"
echo "ok   B 1.5M sets the download limit to 1.5 MiB/s and keeps the upload limit"

# The trackers tab: tiers 1 and 2.
keys Enter
wait_for 'info hash' 40 || fail "no detail"
for _ in 1 2 3 4 5; do
	screen | grep -q 'Tier' && break
	keys Tab
	sleep 0.3
done
wait_for "127\.0\.0\.1:$P2" 40 || fail "no trackers tab"
# the Tier column follows the URL
tier1=$(screen | grep "127\.0\.0\.1:$P1/announce" | sed 's|.*/announce *||' | awk '{print $1}')
tier2=$(screen | grep "127\.0\.0\.1:$P2/announce" | sed 's|.*/announce *||' | awk '{print $1}')
[ "$tier1" = 1 ] && [ "$tier2" = 2 ] || fail "tiers shown: '$tier1' and '$tier2', want 1 and 2"
echo "ok   the trackers tab counts tiers from 1"
keys Escape

# q: nothing moves (no peers): no question.
pid=$(ui_pid)
keys q
sleep 1
screen 2>/dev/null | grep -q 'Transfers are active' && fail "q asks although nothing moves"
ui_wait_gone "$pid" || fail "the UI did not quit on q"
echo "ok   q quits at once when nothing moves"
cleanup
echo "PASS: tui ui_pass"
