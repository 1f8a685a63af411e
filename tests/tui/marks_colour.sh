#!/bin/bash
# marks_colour.sh: marked rows show in colour too (issue 13: "marked rows are visible only
# without colour"). In a 256-colour terminal, space marks the first row and j moves the
# selection away: the marked row's name is drawn in the marked style (bold yellow) and an
# unmarked row's is not; the header counts the mark; U clears it and the style goes.
# Loopback only, every wait bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-marks-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-marks.XXXXXX")
cleanup() {
	local p
	p=$(ui_pid)
	$T kill-server 2>/dev/null
	ui_wait_gone "$p"
	rm -rf "$tmp"
}
. "$(dirname "$0")/tui_lib.sh"
keys() { $T send-keys -t 0 "$@"; }
# the row of NAME with its escape sequences (tmux -e), ESC shown as \e
row_esc() { $T capture-pane -e -p -t 0 | grep -a "$1" | head -n 1 | sed 's/\x1b/\\e/g'; }
# the marked style: bold and yellow foreground (SGR 1 and 33) before the name
is_marked_style() { row_esc "$1" | grep -qE '^(\\e\[[0-9;]*m)*\\e\[1m(\\e\[[0-9;]*m)*\\e\[33m(\\e\[[0-9;]*m)* +1 '"$1"; }

mkdir -p "$tmp/dl" "$tmp/session" "$tmp/src"
for n in alpha beta; do
	head -c 100000 /dev/urandom >"$tmp/src/$n.bin"
	"$dp" create -o "$tmp/$n.torrent" "$tmp/src/$n.bin" >/dev/null || fail "create $n"
done
cat >"$tmp/ui.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_port = 0;
dht = false;
lsd = false;
CONF
$T new-session -d -x 160 -y 24 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/ui.conf' '$tmp/alpha.torrent' '$tmp/beta.torrent'" ||
    fail "tmux"
wait_for 'beta\.bin' 40 || fail "the torrents are not listed"
keys Home
keys Space
wait_for 'marked: 1' 20 || fail "space did not mark the row"
keys j
sleep 1.5
is_marked_style alpha.bin || fail "the marked row is not drawn in the marked style: $(row_esc alpha.bin | cut -c1-200)"
row_esc beta.bin | grep -qE '\\e\[33m +2 beta' && fail "the unmarked row is drawn as marked"
keys U
for ((w = 0; w < 40; w++)); do screen | grep -q 'marked: 1' || break; sleep 0.25; done
screen | grep -q 'marked: 1' && fail "U did not clear the mark"
sleep 1.2
keys k
sleep 0.3
keys j
sleep 1.2
is_marked_style alpha.bin && fail "the row is still drawn as marked after U"
echo "PASS: marks_colour"
cleanup
