#!/bin/bash
# columns.sh: configurable columns per screen (issue 13): ui.list_columns = "name,size,num" shows
# those three in that order; a bad list is refused at load naming the key and the allowed
# names; the chooser (C) hides Size, shows Queue and moves it first, and the header follows;
# after a restart the choice is still there (kept on the UI's side, in $XDG_STATE_HOME), and
# attached to a daemon too, where the chooser keeps a new one; a later edit of the config's list
# wins over it; the tasks screen takes its own list; the sort key of a hidden column is still
# named, and the sort key survives a restart as the columns do. At 120 and 80 cells. Loopback
# only, every wait bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-cols-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-cols.XXXXXX")
daemon=""
cleanup() {
	local p
	p=$(ui_pid)
	$T kill-server 2>/dev/null
	ui_wait_gone "$p"
	stop_daemon
	rm -rf "$tmp"
}
stop_daemon() {
	local w
	[ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null || return 0
	kill "$daemon" 2>/dev/null
	for ((w = 0; w < 100; w++)); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$daemon" 2>/dev/null
	daemon=""
}
. "$(dirname "$0")/tui_lib.sh"
keys() { $T send-keys -t 0 "$@"; }

# header: the table's header line (the line under the info line that starts with a title).
header() { screen | sed -n '3p'; }
# in_order HEADER WORD...: each word appears in the header after the one before it.
in_order() {
	local h=$1 at=0 w rest
	shift
	for w in "$@"; do
		rest=${h:$at}
		case "$rest" in *"$w"*) ;; *) return 1 ;; esac
		rest=${rest%%"$w"*}
		at=$((at + ${#rest} + ${#w}))
	done
}
# start: the UI on the config, in a fresh tmux server, WIDTH cells wide.
start() {
	$T new-session -d -x "$1" -y 30 "env XDG_STATE_HOME='$tmp/state' LANG=C.UTF-8 \
TERM=xterm-256color '$dp' --config '$tmp/ui.conf' '$tmp/a.torrent'; echo EXIT=\$?; sleep 30" ||
	    fail "tmux"
	wait_for 'a\.bin' 40 || fail "the torrent is not listed"
}
quit() {
	local p
	p=$(ui_pid)
	keys q
	wait_for 'EXIT=0' 40 || fail "the UI did not quit"
	$T kill-server 2>/dev/null
	ui_wait_gone "$p" || fail "the UI is still running"
}
conf() {
	cat >"$tmp/ui.conf" <<CONF
download_dir = "$tmp/payload";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_port = 0;
dht = false;
lsd = false;
ui = {
  list_columns = "$1";
  tasks_columns = "name, state,id";
};
CONF
}

mkdir -p "$tmp/payload" "$tmp/session" "$tmp/state"
head -c 100000 /dev/urandom >"$tmp/payload/a.bin"
"$dp" create -o "$tmp/a.torrent" "$tmp/payload/a.bin" >/dev/null || fail "downpour create"

# a bad list: refused at load, naming the key and the allowed names
conf "name,bogus"
out=$("$dp" config --config "$tmp/ui.conf" 2>&1) && fail "downpour config accepted name,bogus"
grep -q "ui.list_columns: unknown column 'bogus' (columns: num, name, state," <<<"$out" ||
    fail "downpour config's message: $out"
$T new-session -d -x 120 -y 30 "env XDG_STATE_HOME='$tmp/state' LANG=C.UTF-8 \
TERM=xterm-256color '$dp' --config '$tmp/ui.conf'; echo EXIT=\$?; sleep 30" || fail "tmux"
wait_for 'EXIT=2' 40 || fail "the UI started with name,bogus"
screen | grep -q "ui.list_columns: unknown column 'bogus'" || fail "the UI's message"
$T kill-server 2>/dev/null
conf ""
"$dp" config --config "$tmp/ui.conf" >/dev/null 2>&1 && fail "an empty list was accepted"
conf "size,done"
out=$("$dp" config --config "$tmp/ui.conf" 2>&1) && fail "a list without name was accepted"
grep -q "name column is required" <<<"$out" || fail "without name: $out"
echo "ok   bad lists are refused at load, naming the key and the allowed names"

# the configured columns, in order
conf "name,size,num"
start 120
h=$(header)
in_order "$h" Name Size '#' || fail "header not Name, Size, #: $h"
grep -qE 'State|Down|Progress|Queue' <<<"$h" && fail "hidden columns shown: $h"
echo "ok   ui.list_columns = name,size,num: $(tr -s ' ' <<<"$h")"

# the chooser: hide Size, show Queue and move it to the top
keys C
wait_for 'Columns: Torrent list' 20 || fail "C opens no chooser"
screen | grep -qE '\[x\] Name' || fail "Name is not marked shown"
screen | grep -qE '\[ \] Queue' || fail "Queue is not marked hidden"
keys j Space
sleep 0.3
h=$(header)
grep -q Size <<<"$h" && fail "Size still shown after Space: $h"
keys G k Space
for _ in $(seq 1 12); do keys K; done
sleep 0.3
screen | grep -qE '[▸>] \[x\] Queue' || fail "Queue not at the selection after moving"
keys Enter
wait_for 'columns: queue,name,num \(kept in ' 20 || fail "no message that the choice is kept"
screen | grep -q 'Columns: Torrent list' && fail "the chooser is still open"
h=$(header)
in_order "$h" Queue Name '#' || fail "header not Queue, Name, # after the chooser: $h"
grep -q Size <<<"$h" && fail "Size shown: $h"
grep -qx 'list.columns = queue,name,num' "$tmp/state/downpour/ui-columns" ||
    fail "the choice is not in the columns file"
echo "ok   the chooser hid Size and put Queue first: $(tr -s ' ' <<<"$h")"

# sorting by a hidden column still works and is named (sort keys walk the hidden ones too)
for _ in $(seq 1 16); do
	screen | grep -q 'sort: Progress' && break
	keys '>'
	sleep 0.2
done
screen | grep -q 'sort: Progress' || fail "the sort never reached the hidden Progress column"
keys I
wait_for 'sort: Progress ▼' 20 || fail "I did not reverse the sort"
grep -qx 'list.sort = progress desc' "$tmp/state/downpour/ui-columns" ||
    fail "the sort key is not in the columns file"
echo "ok   sorted by the hidden Progress column, named in the header, kept in the file"

# the tasks screen has its own list
keys 2
wait_for 'Tasks:' 20 || fail "no tasks screen"
h=$(screen | sed -n '4p')
in_order "$h" Name State ID || fail "tasks header not Name, State, ID: $h"
grep -qE 'Waited|Kind|Deadline' <<<"$h" && fail "tasks shows hidden columns: $h"
echo "ok   tasks_columns = name,state,id"
keys 1
quit

# a restart keeps the choice; at 80 cells too
start 80
h=$(header)
in_order "$h" Queue Name '#' || fail "after a restart the header is not Queue, Name, #: $h"
grep -qE 'Size|State' <<<"$h" && fail "after a restart: $h"
screen | grep -q 'sort: Progress ▼' || fail "the sort key did not survive the restart"
echo "ok   the choice and the sort key survived a restart (80 cells): $(tr -s ' ' <<<"$h")"
quit

# attached to a daemon: the same choice (it is the UI's), and the chooser keeps a new one there
"$dp" daemon --foreground --config "$tmp/ui.conf" >"$tmp/daemon.log" 2>&1 &
daemon=$!
rm -f "$tmp/session/attach.sock"
for ((i = 0; i < 80; i++)); do
	[ -S "$tmp/session/attach.sock" ] && /usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(sys.argv[1])' \
	    "$tmp/session/attach.sock" 2>/dev/null && break
	sleep 0.1
done
[ -S "$tmp/session/attach.sock" ] || fail "the daemon's attach socket did not appear"
$T new-session -d -x 120 -y 30 "env XDG_STATE_HOME='$tmp/state' LANG=C.UTF-8 \
TERM=xterm-256color '$dp' attach --config '$tmp/ui.conf'; echo EXIT=\$?; sleep 30" || fail "tmux"
wait_for 'attached to the daemon' 40 || fail "attach did not attach"
wait_for 'a\.bin' 40 || fail "the attached UI lists no torrent"
h=$(header)
in_order "$h" Queue Name '#' || fail "attached: the header is not Queue, Name, #: $h"
keys C
wait_for 'Columns: Torrent list' 20 || fail "C opens no chooser when attached"
keys j j Space Enter
wait_for 'columns: queue,name \(kept in ' 20 || fail "attached: the choice is not kept"
h=$(header)
grep -q '#' <<<"$h" && fail "attached: # still shown: $h"
grep -qx 'list.columns = queue,name' "$tmp/state/downpour/ui-columns" ||
    fail "attached: the columns file does not have the new choice"
quit
kill -0 "$daemon" 2>/dev/null || fail "leaving the attached UI stopped the daemon"
stop_daemon
echo "ok   attached to a daemon: the UI's choice applies and the chooser keeps a new one"

# a later edit of the config's list wins over the older choice
conf "name,down"
start 120
h=$(header)
in_order "$h" Name Down || fail "the edited config did not win: $h"
grep -q Queue <<<"$h" && fail "the old choice still applies: $h"
echo "ok   an edited ui.list_columns wins over the older choice"
quit
cleanup
echo "PASS: tui columns"
