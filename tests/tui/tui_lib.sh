# tui_lib.sh: what the TUI tests share (sourced, not run, after they set $T, their tmux command,
# and define cleanup): the screen of tmux pane $win (0 unless set), a bounded wait for a
# pattern on it, the UI's PID in pane 0 and a bounded wait for it to end, and fail, which
# shows the screen and cleans up.
# shellcheck shell=bash

# screen: the pane's text as it is now.
screen() { $T capture-pane -p -t "${win:-0}"; }

# wait_for PATTERN [TRIES] [STEP]: until the screen matches the extended regex PATTERN,
# checking TRIES times (80) every STEP seconds (0.25); 1 if it never does.
wait_for() {
	local pat=$1 n=${2:-80} step=${3:-0.25} i
	for ((i = 0; i < n; i++)); do screen | grep -qE -- "$pat" && return 0; sleep "$step"; done
	return 1
}

# fail TEXT: say why, show the screen, clean up, exit 1.
fail() { echo "FAIL: $*"; $T capture-pane -p -t "${win:-0}" 2>/dev/null | sed 's/^/  | /'; cleanup; exit 1; }

# ui_pid: the PID of the program in pane 0, to wait for its exit by PID (never by name).
ui_pid() { $T list-panes -t 0 -F '#{pane_pid}' 2>/dev/null | head -n 1; }

# ui_wait_gone PID: until PID has exited, at most 10 s; 1 if it has not (an empty PID is gone).
ui_wait_gone() {
	local p=$1 w
	[ -n "$p" ] || return 0
	for ((w = 0; w < 100; w++)); do
		kill -0 "$p" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# The UI keeps the sort keys and columns chosen under $XDG_STATE_HOME: each test keeps them in
# its own folder ($tmp, or $out), never in the home directory, where one test's sort key changed
# what the next test saw.
tui_state_dir=${tmp:-${out:-}}
if [ -n "$tui_state_dir" ]; then
	export XDG_STATE_HOME="$tui_state_dir/state"
fi
