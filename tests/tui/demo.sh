#!/bin/bash
# demo.sh: drives `downpour --demo` in a private tmux server: the download is visibly in
# progress (rates in the list and the peers tab, the piece map), the tasks screen shows states with
# a kind summary and hides finished tasks until F, the blocked view shows the demo's silent peer
# with its reason, the list reaches 100 %, the files tab changes a priority, resizes stay clean,
# and q quits with status 0. Every wait is bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-$$"
T="tmux -L $sock"
out=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui.XXXXXX")
cleanup() { $T kill-server 2>/dev/null; rm -rf "$out"; }
. "$(dirname "$0")/tui_lib.sh"

$T new-session -d -x 160 -y 40 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --demo; echo EXIT=\$? > '$out/exit'; sleep 60" || fail "tmux"
# while downloading (two seeders at 512 KiB/s each: ~25 s): the list moves, peers send
wait_for 'downpour-demo +downloading .*[0-9]+%.*iB/s' 40 || fail "the demo is not visibly downloading"
$T send-keys -t 0 Enter; wait_for 'info hash' || fail "detail info tab"
$T send-keys -t 0 Tab; wait_for 'Address' || fail "peers tab"
wait_for '127\.0\.0\.1:[0-9]+ .*KiB/s' 40 || fail "peers tab shows no peer sending"
$T send-keys -t 0 Tab Tab Tab; wait_for 'pieces +. have' || fail "pieces tab"
$T send-keys -t 0 2; wait_for 'State' || fail "tasks screen"
screen | grep -qE 'READ_WAIT|TIMER_WAIT' || fail "tasks screen shows no task states"
screen | grep -qE 'peer [0-9]+' || fail "tasks header lacks the kind summary"
wait_for 'finished hidden \(F shows\)' 40 || fail "tasks screen does not hide finished tasks"
screen | grep -qE ' DONE ' && fail "finished tasks shown by default"
$T send-keys -t 0 F; wait_for 'finished \(F hides\)' || fail "F does not show finished tasks"
$T send-keys -t 0 F
$T send-keys -t 0 3; wait_for 'Loop lag' || fail "blocked view header"
# the silent peer waits for a handshake that never comes: listed once past the 5 s threshold
wait_for 'READ_WAIT +peer 127\.0\.0\.1.*handshake' 80 || fail "blocked view lacks the stalled peer"
$T send-keys -t 0 1; wait_for 'downpour-demo .*100%' 240 || fail "the demo torrent did not reach 100 %"
# the detail remembers its last tab (pieces): Tab until the files tab shows (at most 5)
$T send-keys -t 0 Enter
for ((k = 0; k < 5; k++)); do $T send-keys -t 0 Tab; wait_for 'payload\.bin' 4 && break; done
wait_for 'payload\.bin' || fail "files tab"
screen | grep -q '日本語の説明.txt' || fail "wide-character file name missing"
$T send-keys -t 0 G; sleep 0.3; $T send-keys -t 0 x; wait_for 'payload\.bin: priority skip' || fail "priority change not confirmed"
wait_for 'payload\.bin .* skip' || fail "files tab does not show the new priority"
$T send-keys -t 0 3; wait_for 'Loop lag' || fail "blocked view"
$T resize-window -t 0 -x 80 -y 24; sleep 1.5
[ "$(screen | wc -l)" -eq 24 ] || fail "80x24: wrong line count"
[ "$(screen | LC_ALL=C.UTF-8 wc -L)" -le 80 ] || fail "80x24: line wider than 80"
screen | grep -q 'Loop lag' || fail "80x24: blocked view lost"
$T resize-window -t 0 -x 200 -y 60; sleep 1.5
[ "$(screen | wc -l)" -eq 60 ] || fail "200x60: wrong line count"
screen | head -1 | grep -q 'downpour' || fail "200x60: title missing"
$T send-keys -t 0 1; wait_for 'Torrents:' || fail "back to the list"
$T send-keys -t 0 q; sleep 0.5
screen | grep -q '(y/n)' && $T send-keys -t 0 y
for ((i = 0; i < 60; i++)); do [ -s "$out/exit" ] && break; sleep 0.25; done
[ "$(cat "$out/exit" 2>/dev/null)" = "EXIT=0" ] || fail "did not quit cleanly: $(cat "$out/exit" 2>/dev/null)"
$T kill-server 2>/dev/null
rm -rf "$out"
echo "PASS: tui demo"
