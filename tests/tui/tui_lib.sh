# tui_lib.sh: what the TUI tests share (sourced, not run, after they set $T, their tmux command,
# and define cleanup): the screen of tmux pane $win (0 unless set), a bounded wait for a
# pattern on it, and fail, which shows the screen and cleans up.
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
