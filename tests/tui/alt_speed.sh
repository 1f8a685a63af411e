#!/bin/bash
# alt_speed.sh: turtle mode in the TUI: T switches the alternative limits on (the status bar
# says "turtle" and shows the alternative download limit), the choice is kept in the session
# directory's settings.conf and is still on after a restart, and T switches it off again (the
# normal limit back). Loopback only, every wait bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
sock="dp-tui-alt-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-alt.XXXXXX")
cleanup() {
	local p
	p=$(ui_pid)
	$T kill-server 2>/dev/null
	ui_wait_gone "$p"
	rm -rf "$tmp"
}
. "$(dirname "$0")/tui_lib.sh"
keys() { $T send-keys -t 0 "$@"; }

mkdir -p "$tmp/dl" "$tmp/session"
cat >"$tmp/ui.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_port = 0;
dht = false;
lsd = false;
download_rate_limit = "300K";
alt_speed_down = "20K";
alt_speed_up = "10K";
CONF
start_ui() {
	$T new-session -d -x 140 -y 30 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/ui.conf'" ||
	    fail "tmux"
}
start_ui
wait_for 'max 300' 40 || fail "the normal download limit is not on the status bar"
screen | grep -q 'turtle' && fail "turtle shown before T"
keys T
wait_for 'turtle mode\) on' 20 || fail "no message for T"
wait_for 'max 20' 20 || fail "the alternative download limit is not in force"
screen | grep -q 'turtle' || fail "the status bar does not say turtle"
grep -qE '^alt_speed_enabled *= *"?true' "$tmp/session/settings.conf" 2>/dev/null ||
    fail "settings.conf does not keep alt_speed_enabled: $(cat "$tmp/session/settings.conf" 2>&1)"

# Kept across a restart, as Transmission keeps alt-speed-enabled.
pid=$(ui_pid)
keys q
ui_wait_gone "$pid" || fail "the UI did not exit"
$T kill-server 2>/dev/null
start_ui
wait_for 'turtle' 40 || fail "turtle mode not kept across the restart"
wait_for 'max 20' 20 || fail "the alternative limit not in force after the restart"

keys T
wait_for 'turtle mode\) off' 20 || fail "no message for the second T"
wait_for 'max 300' 20 || fail "the normal limit is not back"
screen | grep -qE '  turtle( |$)' && fail "turtle still shown"
echo "PASS: alt_speed"
cleanup
