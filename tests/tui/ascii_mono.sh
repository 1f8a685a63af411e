#!/bin/bash
# ascii_mono.sh: the UI degrades cleanly. Tours every screen and detail tab of `downpour --demo`
# in a private tmux server three times: UTF-8 with colours (the control: the checks below must
# see colour and non-ASCII cells there), `--ascii --no-color` in a UTF-8 locale, and the C
# locale on TERM=xterm-mono (both chosen automatically). The last two must draw no byte above
# 0x7f (no block, arrow or ellipsis characters) and no colour, yet still mark the title, status
# bar and selection with attributes (reverse/bold). Every wait is bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-ascii-$$"
T="tmux -L $sock"
out=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-ascii.XXXXXX")
cleanup() { $T kill-server 2>/dev/null; rm -rf "$out"; }
. "$(dirname "$0")/tui_lib.sh"
# appends the screen, plain and with attributes, to the case's captures
grab() { sleep 0.8; screen >>"$out/$1.txt"; $T capture-pane -p -e -t 0 >>"$out/$1.esc"; }

# SGR analysis of a capture with escapes: prints "colour=N attr=N" (colour: any 30-37, 40-47,
# 90-97, 100-107, 38;x, 48;x parameter; attr: bold 1 or reverse 7)
sgr() {
	/usr/bin/python3 - "$1" <<'PY'
import re, sys
data = open(sys.argv[1], 'rb').read().decode('utf-8', 'replace')
colour = attr = 0
for m in re.finditer(r'\x1b\[([0-9;:]*)m', data):
    params = [p for p in re.split('[;:]', m.group(1)) if p != '']
    i = 0
    while i < len(params):
        p = int(params[i])
        if p in (38, 48):
            colour += 1
            i += 3 if i + 1 < len(params) and params[i + 1] == '5' else 5
            continue
        if 30 <= p <= 37 or 40 <= p <= 47 or 90 <= p <= 97 or 100 <= p <= 107:
            colour += 1
        if p in (1, 7):
            attr += 1
        i += 1
print(f"colour={colour} attr={attr}")
PY
}

# tour NAME ENV...: runs the demo with the environment and arguments given and visits the list,
# the five detail tabs, tasks, blocked, log and help
tour() {
	local name=$1
	shift
	$T kill-server 2>/dev/null
	$T new-session -d -x 120 -y 32 "env $* ; sleep 30" || fail "$name: tmux"
	wait_for 'downpour-demo' 60 || fail "$name: the demo did not start"
	wait_for 'downloading|seeding' 40 || fail "$name: the demo torrent is not active"
	grab "$name"
	$T send-keys -t 0 Enter; wait_for 'info hash' || fail "$name: info tab"
	grab "$name"
	for tab in 'Address' 'payload' 'Tier +Status' '[0-9]+ pieces +'; do
		$T send-keys -t 0 Tab; wait_for "$tab" || fail "$name: detail tab $tab"
		grab "$name"
	done
	$T send-keys -t 0 2; wait_for 'Tasks:' || fail "$name: tasks"; grab "$name"
	$T send-keys -t 0 3; wait_for 'Loop lag' || fail "$name: blocked"; grab "$name"
	$T send-keys -t 0 4; sleep 0.5; grab "$name"
	$T send-keys -t 0 '?'; wait_for 'help' || fail "$name: help"; grab "$name"
	$T send-keys -t 0 1 q; sleep 0.5
	screen | grep -q '(y/n)' && $T send-keys -t 0 y
	for ((i = 0; i < 40; i++)); do screen | grep -q 'downpour-demo' || break; sleep 0.25; done
	$T kill-server 2>/dev/null
}

non_ascii() { LC_ALL=C grep -c $'[\x80-\xff]' "$1"; }

tour color "LANG=C.UTF-8 TERM=xterm-256color '$dp' --demo"
[ "$(non_ascii "$out/color.txt")" -gt 0 ] || fail "control: no UTF-8 drawing in the default mode"
sgr "$out/color.esc" | grep -qE 'colour=[1-9]' || fail "control: no colour in the default mode"

tour ascii "LANG=C.UTF-8 TERM=xterm-256color '$dp' --demo --ascii --no-color"
tour mono "LANG=C LC_ALL=C TERM=xterm-mono '$dp' --demo"
for name in ascii mono; do
	n=$(non_ascii "$out/$name.txt")
	[ "$n" -eq 0 ] || { LC_ALL=C grep -n $'[\x80-\xff]' "$out/$name.txt" | head -5; fail "$name: $n lines with non-ASCII bytes"; }
	grep -qE '[#.]{9} +[0-9]+%' "$out/$name.txt" || fail "$name: no ASCII progress bar"
	grep -q '??????.txt' "$out/$name.txt" || fail "$name: the wide file name is not drawn as ?"
	s=$(sgr "$out/$name.esc")
	echo "$s" | grep -q 'colour=0 ' || fail "$name: colour used ($s)"
	echo "$s" | grep -qE 'attr=[1-9]' || fail "$name: no bold/reverse attributes ($s)"
	echo "$name: $s, $(wc -l <"$out/$name.txt") lines captured, none above 0x7f"
done
cleanup
echo "PASS: tui ascii and monochrome"
