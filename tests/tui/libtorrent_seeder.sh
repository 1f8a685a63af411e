#!/bin/bash
# libtorrent_seeder.sh: the TUI downloading from a real libtorrent seeder (python3-libtorrent):
# the list shows it downloading, the peers tab names the seeder's client (libtorrent) and the
# transport (TCP+RC4: encryption is preferred by default), the row
# reaches 100 %, the data is byte-identical, and q quits. Loopback only, every wait bounded.
set -u
dp=$(readlink -f "${1:-build/downpour}")
here=$(cd "$(dirname "$0")" && pwd)
sock="dp-tui-lt-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-lt.XXXXXX")
lt_pid=
cleanup() {
	$T kill-server 2>/dev/null
	if [ -n "$lt_pid" ] && kill -0 "$lt_pid" 2>/dev/null; then
		kill "$lt_pid" 2>/dev/null
		for _ in $(seq 1 50); do kill -0 "$lt_pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$lt_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
. "$here/tui_lib.sh"
. "$here/../lib.sh"
/usr/bin/python3 -c 'import libtorrent' 2>/dev/null || fail "python3-libtorrent is not installed"

mkdir -p "$tmp/seed" "$tmp/dl" "$tmp/session"
head -c 8000000 /dev/urandom >"$tmp/seed/payload.bin"
"$dp" create -o "$tmp/p.torrent" -t http://127.0.0.1:1/announce "$tmp/seed/payload.bin" \
    >/dev/null || fail "downpour create"
port=$(free_port)
# 1 MB/s, so the download lasts long enough to look at the peers tab.
/usr/bin/python3 "$here/../interop/lt_seed.py" "$tmp/p.torrent" "$tmp/seed" --port "$port" \
    --no-tracker --upload-limit 1000000 --ready-file "$tmp/ready" --timeout 120 \
    >"$tmp/lt.log" 2>&1 &
lt_pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/ready" ] && break; sleep 0.2; done
[ -s "$tmp/ready" ] || { cat "$tmp/lt.log"; fail "the libtorrent seeder did not start"; }

cat >"$tmp/ui.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
listen_address = "127.0.0.1";
listen_port = 0;
CONF
$T new-session -d -x 160 -y 40 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/ui.conf' --peer 127.0.0.1:$port '$tmp/p.torrent'; sleep 30" || fail "tmux"
wait_for 'payload\.bin +downloading' 60 || fail "the torrent is not downloading"
$T send-keys -t 0 Enter
sleep 0.5
$T send-keys -t 0 Tab
wait_for '127\.0\.0\.1:'"$port"'.*libtorrent' 40 || fail "the peers tab does not name the libtorrent seeder"
# encryption = preferred (the default) and a seeder that speaks MSE: TCP with RC4, shown per peer.
wait_for '127\.0\.0\.1:'"$port"'.*libtorrent.*TCP\+RC4' 10 || fail "the peers tab does not show TCP+RC4"
$T send-keys -t 0 Escape
wait_for 'payload\.bin +seeding.*100%' 120 || fail "the download did not reach 100 %"
cmp -s "$tmp/seed/payload.bin" "$tmp/dl/payload.bin" || fail "downloaded data differs"
$T send-keys -t 0 q
sleep 0.5
$T send-keys -t 0 y
for _ in $(seq 1 40); do screen | grep -qE 'payload\.bin' || break; sleep 0.25; done
screen | grep -qE 'payload\.bin +seeding' && fail "q did not quit"
cleanup
echo "PASS: libtorrent_seeder"
