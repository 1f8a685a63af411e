#!/bin/bash
# tui_rpc.sh: the terminal UI serves the RPC when rpc.enabled says so (issue 12: a user who runs
# downpour in tmux serves Sonarr/Radarr from it). The bottom line names the port and the
# credentials file; a request without credentials is refused (401); with them a torrent added
# over the RPC appears in the list, a torrent-stop shows as stopped in the list, session-close
# is refused (q quits the UI), and after q the port is closed. Loopback only, every wait bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
here=$(cd "$(dirname "$0")" && pwd)
sock="dp-tui-rpc-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-rpc.XXXXXX")
cleanup() {
	local p
	p=$(ui_pid)
	$T kill-server 2>/dev/null
	ui_wait_gone "$p"
	rm -rf "$tmp"
}
. "$here/tui_lib.sh"
rpc() { DP_RPC_CREDENTIALS="$tmp/session/rpc-credentials" timeout 20 /usr/bin/python3 \
    "$here/../interop/rpc_call.py" "$port" "$@"; }

mkdir -p "$tmp/dl" "$tmp/session" "$tmp/data"
head -c 300000 /dev/urandom >"$tmp/data/rpc_added.bin"
"$dp" create -o "$tmp/rpc_added.torrent" "$tmp/data/rpc_added.bin" >/dev/null 2>&1 ||
    fail "downpour create"
# A port free now (the configuration takes no 0); another program taking it first fails the
# test with the bottom line's "RPC not started" on screen.
want_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/ui.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_port = 0;
dht = false;
lsd = false;
rpc = { enabled = true; bind = "127.0.0.1"; port = $want_port; };
CONF
$T new-session -d -x 160 -y 30 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/ui.conf'" ||
    fail "tmux"
wait_for 'RPC on 127\.0\.0\.1:[0-9]+, credentials in' 40 ||
    fail "the bottom line does not say the RPC serves"
port=$(screen | grep -oE 'RPC on 127\.0\.0\.1:[0-9]+' | head -n 1 | sed 's/.*://')
[ "$port" = "$want_port" ] || fail "the bottom line names port '$port', not $want_port"
[ "$(stat -c %a "$tmp/session/rpc-credentials" 2>/dev/null)" = 600 ] ||
    fail "SESSION/rpc-credentials is missing or not 0600"

# Without credentials: refused.
out=$(timeout 20 /usr/bin/python3 "$here/../interop/rpc_call.py" "$port" session-get 2>&1)
echo "$out" | grep -q 'HTTP 401' || fail "a request without credentials was not refused: $out"

meta=$(base64 -w0 "$tmp/rpc_added.torrent")
out=$(rpc torrent-add "{\"metainfo\": \"$meta\", \"paused\": false}") ||
    fail "torrent-add over the UI's RPC: $out"
wait_for 'rpc_added\.bin' 20 || fail "the torrent added over the RPC is not in the list"
id=$(echo "$out" | /usr/bin/python3 -c 'import json,sys; a=json.load(sys.stdin)["arguments"]; print((a.get("torrent-added") or a.get("torrent-duplicate"))["id"])')
out=$(rpc torrent-stop "{\"ids\": [$id]}") || fail "torrent-stop: $out"
wait_for 'rpc_added\.bin.*[Ss]topped|[Ss]topped.*rpc_added\.bin' 20 ||
    fail "the list does not show the torrent stopped over the RPC"
out=$(rpc torrent-get "{\"ids\": [$id], \"fields\": [\"status\"]}") || fail "torrent-get: $out"
echo "$out" | grep -q '"status": 0' || fail "torrent-get does not say stopped: $out"
out=$(rpc session-close) && fail "session-close was accepted by the UI's RPC: $out"
sleep 1
kill -0 "$(ui_pid)" 2>/dev/null || fail "the UI is gone after session-close"

pid=$(ui_pid)
$T send-keys -t 0 q
wait_for 'Quit|quit|transfers' 3 && $T send-keys -t 0 y
ui_wait_gone "$pid" || fail "the UI did not exit on q"
out=$(timeout 20 /usr/bin/python3 "$here/../interop/rpc_call.py" "$port" session-get 2>&1) &&
    fail "the RPC still answers after the UI left: $out"
echo "PASS: tui_rpc"
cleanup
