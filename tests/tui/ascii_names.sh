#!/bin/bash
# ascii_names.sh: --ascii shows a readable fallback for non-ASCII names (issue 13: "Ünïcödé.bin"
# became "?n?c?d?.bin"): Latin letters become their base letter, other characters '?', and
# nothing above 0x7f is drawn. Loopback only, every wait bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-ascii-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-ascii.XXXXXX")
cleanup() {
	local p
	p=$(ui_pid)
	$T kill-server 2>/dev/null
	ui_wait_gone "$p"
	rm -rf "$tmp"
}
. "$(dirname "$0")/tui_lib.sh"
keys() { $T send-keys -t 0 "$@"; }

mkdir -p "$tmp/session" "$tmp/dl" "$tmp/src"
head -c 100000 /dev/urandom >"$tmp/src/Ünïcödé Ærø ß.bin"
head -c 100000 /dev/urandom >"$tmp/src/日本.bin"
"$dp" create -o "$tmp/u.torrent" "$tmp/src/Ünïcödé Ærø ß.bin" >/dev/null || fail "create"
"$dp" create -o "$tmp/j.torrent" "$tmp/src/日本.bin" >/dev/null || fail "create"
cat >"$tmp/ui.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_port = 0;
dht = false;
lsd = false;
CONF
$T new-session -d -x 140 -y 30 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --ascii --config '$tmp/ui.conf' '$tmp/u.torrent' '$tmp/j.torrent'" ||
    fail "tmux"
wait_for 'Unicode Aro s\.bin' 80 || fail "the Latin name is not shown as Unicode Aro s.bin"
wait_for ' \?\?\.bin' 40 || fail "the Japanese name is not shown as ??.bin"
screen | LC_ALL=C grep -q '[^ -~]' && fail "--ascii drew a byte above 0x7f"
echo "ok   --ascii: Unicode Aro s.bin, ??.bin"
cleanup
echo "PASS: tui ascii_names"
