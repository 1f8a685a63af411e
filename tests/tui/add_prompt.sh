#!/bin/bash
# add_prompt.sh: the in-process UI's add prompt (a): Tab completes a path from a folder read on a
# disk worker, several matches show as a hint, Enter adds the file read there too, and a missing
# file says why; the prompt answers keys while the engine reads. Loopback only, waits bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-addp-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-addp.XXXXXX")
cleanup() {
	local p
	p=$(ui_pid)
	$T kill-server 2>/dev/null
	ui_wait_gone "$p"
	rm -rf "$tmp"
}
. "$(dirname "$0")/tui_lib.sh"
keys() { $T send-keys -t 0 "$@"; }

mkdir -p "$tmp/session" "$tmp/dl" "$tmp/src" "$tmp/here/sub"
head -c 100000 /dev/urandom >"$tmp/src/added.bin"
"$dp" create -o "$tmp/here/added.torrent" "$tmp/src/added.bin" >/dev/null || fail "create"
: >"$tmp/here/sub/alpha.txt"
: >"$tmp/here/sub/alpine.txt"
cat >"$tmp/ui.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_port = 0;
dht = false;
lsd = false;
CONF
$T new-session -d -x 140 -y 30 -c "$tmp/here" \
    "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/ui.conf'" || fail "tmux"
wait_for 'No torrents yet' 80 || fail "the UI did not start"

# several matches: the common prefix is filled in, the names are the hint
keys a
wait_for 'add torrent file or magnet' 40 || fail "no add prompt"
keys "sub/al" Tab
wait_for 'sub/alp +(alpha\.txt +alpine\.txt|alpine\.txt +alpha\.txt)' 40 || fail "Tab did not show the two matches"
echo "ok   Tab in a folder with two matches: sub/alp, alpha.txt alpine.txt"
# an edit after Tab: the prompt takes keys as before
keys C-u
keys "add" Tab
wait_for 'added\.torrent' 40 || fail "Tab did not complete added.torrent"
echo "ok   Tab completes added.torrent (relative to the UI's folder)"
keys Enter
wait_for 'added torrent #1' 40 || fail "Enter did not add the file"
wait_for 'added\.bin' 40 || fail "the added torrent is not listed"
echo "ok   Enter adds it: read on a disk worker, listed"

# a file that is not there: the reason, with the name typed
keys a
wait_for 'add torrent file or magnet' 40 || fail "no second add prompt"
keys "missing.torrent" Enter
wait_for 'cannot add missing\.torrent: .*missing\.torrent: No such file' 40 ||
    fail "a missing file does not say why"
echo "ok   a missing file: cannot add missing.torrent: ... No such file"

# Tab with no match says so
keys a
wait_for 'add torrent file or magnet' 40 || fail "no third add prompt"
keys "zzz" Tab
wait_for 'zzz +\(no match\)' 40 || fail "Tab with no match says nothing"
keys Escape
echo "ok   Tab with no match: (no match)"
cleanup
echo "PASS: tui add_prompt"
