#!/bin/bash
# ux_formats.sh: what a seed's screens say once `downpour --demo` has finished: the detail's
# ETA is "-" (it read "ETA 0s"), the list's ETA column too, and the blocked view's header
# arrow says longest first (Waited▼) and stays there when a sort key is pressed (the order is
# fixed; the arrow used to move alone); a prompt's label is not cut at half the line; the log's
# selected line is wrapped so that it can be read whole.
# Bounded waits; the private tmux server is killed.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-ux-$$"
T="tmux -L $sock"
out=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-ux.XXXXXX")
cleanup() { $T kill-server 2>/dev/null; rm -rf "$out"; }
. "$(dirname "$0")/tui_lib.sh"

$T new-session -d -x 160 -y 40 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --demo; echo EXIT=\$? > '$out/exit'; sleep 60" || fail "tmux"
wait_for 'downpour-demo +seeding .*100%' 240 || fail "the demo torrent did not finish"
screen | grep -E 'downpour-demo +seeding' | grep -qE ' - +[0-9]+/[0-9]+ ' ||
    fail "the list shows an ETA for a seed"
$T send-keys -t 0 Enter; wait_for 'info hash' || fail "detail info tab"
wait_for 'rates +down .*ETA -$' 20 || fail "the detail shows an ETA for a seed"
$T send-keys -t 0 Escape 3; wait_for 'Loop lag' || fail "blocked view"
wait_for 'Waited▼' 20 || fail "blocked view: the arrow does not say longest first"
$T send-keys -t 0 '>'; sleep 0.5; $T send-keys -t 0 '>'; sleep 1.2
screen | grep -q 'Waited▼' || fail "blocked view: a sort key moved the arrow"
# at 100 columns the global-limits prompt keeps its "(0 = none)" (it was cut at half the line)
$T resize-window -t 0 -x 100 -y 30; sleep 1.2
$T send-keys -t 0 1 B; wait_for 'DOWN \[UP\] \(0 = none\):' 20 || fail "the limits prompt is cut"
$T send-keys -t 0 Escape; sleep 0.3
# the log's selected line is wrapped whole: the "added" line (hash, pieces, directory) is wider
# than 80 cells and its continuation row starts under the text
$T resize-window -t 0 -x 80 -y 24; sleep 1.2
$T send-keys -t 0 4 /; sleep 0.3; $T send-keys -t 0 -l 'added '; $T send-keys -t 0 Enter
wait_for 'search: added' 20 || fail "log search"
screen | grep -qE '…$' || fail "the log has no cut line to wrap (test premise)"
$T send-keys -t 0 k; wait_for '^ {15}[^ ]' 20 || fail "the selected log line is not wrapped"
$T send-keys -t 0 1; sleep 0.3
$T send-keys -t 0 q; sleep 0.5
screen | grep -q '(y/n)' && $T send-keys -t 0 y
for ((i = 0; i < 60; i++)); do [ -s "$out/exit" ] && break; sleep 0.25; done
[ "$(cat "$out/exit" 2>/dev/null)" = "EXIT=0" ] || fail "did not quit cleanly: $(cat "$out/exit" 2>/dev/null)"
$T kill-server 2>/dev/null
rm -rf "$out"
echo "PASS: tui ux_formats"
