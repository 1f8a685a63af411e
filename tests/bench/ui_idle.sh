#!/bin/bash
# ui_idle.sh: the UI's cost: CPU used by an idle `downpour` (no torrents, nothing changing) over
# SECONDS (default 60) in a private tmux server, and the time to draw the list of 10,000
# synthetic torrents (`--bench-list`, into a terminal on /dev/null).
# Measured (2 shared cores, debug build, 120x40 tmux pane; ui2, this tree): idle 60 s ->
# 90 ms CPU (0.15 %); 10,000 rows at 200x60 -> 1.47 ms per frame (50 frames, 88 ms in all).
set -u
dp=$(readlink -f "${1:-build/downpour}")
secs=${2:-60}
sock="dp-idle-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-idle.XXXXXX")
trap '$T kill-server 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/dl" "$tmp/session"
cat >"$tmp/idle.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_port = 0;
listen_address = "127.0.0.1";
CONF
$T new-session -d -x 120 -y 40 "env LANG=C.UTF-8 '$dp' --config '$tmp/idle.conf'; sleep 5" || exit 1
pid=""
for i in $(seq 40); do
	sleep 0.25
	pid=$(pgrep -x -P "$($T display-message -p -t 0 '#{pane_pid}')" downpour || true)
	[ -n "$pid" ] && break
done
[ -n "$pid" ] || { echo "FAIL: downpour did not start"; exit 1; }
sleep 2
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks "$pid")
sleep "$secs"
t1=$(ticks "$pid")
cpu_ms=$(( (t1 - t0) * 1000 / hz ))
echo "idle_seconds=$secs idle_cpu_ms=$cpu_ms idle_cpu_percent=$(awk -v c="$cpu_ms" -v s="$secs" 'BEGIN { printf "%.3f", c / (s * 10) }')"
$T send-keys -t 0 q
TERM=xterm-256color "$dp" --bench-list 10000 || exit 1
