#!/bin/bash
# blocked_reasons.sh: the TUI's blocked view (3) names what is stuck and why, each made on purpose
# on loopback (tests/interop/blocked_lab.py): an HTTP tracker that accepts and never replies, a
# UDP tracker that never answers (retransmissions counted), a peer that handshakes, claims every
# piece, then chokes us and says nothing, a torrent held back by the global download limit, and
# (a second instance) a 1 MiB disk write queue against a fast seeder. Rows carry the engine's
# state name, the reason in words and where the task parked; the header shows lag, the slowest
# callbacks and spinning tasks, fits 80 columns and uses the room at 200. Every wait is bounded.
set -u
export LC_ALL=C.UTF-8
dp=$(readlink -f "${1:-build/downpour}")
here=$(cd "$(dirname "$0")" && pwd)
lab="/usr/bin/python3 $here/../interop/blocked_lab.py"
sock="dp-tui-reasons-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-tui-reasons.XXXXXX")
pids=()
cleanup() {
	$T kill-server 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
win=ui
. "$here/tui_lib.sh"
. "$here/../lib.sh"
row() { screen | grep -vE '^ (Loop|Slowest|Most CPU|Spinning|Blocked)' | grep -E -- "$1" | head -1; }

$lab tcp "$tmp/http.port" 150 & pids+=($!)
$lab udp "$tmp/udp.port" 150 "$tmp/udp.count" & pids+=($!)
wait_file "$tmp/http.port" && wait_file "$tmp/udp.port" || fail "lab listeners did not start"
httpp=$(cat "$tmp/http.port"); udpp=$(cat "$tmp/udp.port")
mkdir -p "$tmp/data" "$tmp/a/dl" "$tmp/a/session" "$tmp/b/dl" "$tmp/b/session"
mk() { # mk NAME MIB [tracker]
	head -c "$(($2 * 1048576))" /dev/urandom >"$tmp/data/$1.bin"
	"$dp" create -o "$tmp/$1.torrent" -s 262144 ${3:+-t "$3"} "$tmp/data/$1.bin" >/dev/null ||
	    fail "create $1"
}
mk http 1 "http://127.0.0.1:$httpp/announce"
mk udp 1 "udp://127.0.0.1:$udpp/announce"
mk mute 2
mk slow 16
mk fast 256
lpa=$(free_port); lpb=$(free_port)
cat >"$tmp/a.conf" <<CONF
download_dir = "$tmp/a/dl";
session_dir = "$tmp/a/session";
listen_address = "127.0.0.1";
listen_port = $lpa;
download_rate_limit = "64K";
dht = false;
lsd = false;
# The scripted mute peer speaks plaintext TCP only and answers nothing, so an encryption
# handshake to it would only time out: the states under test come after the handshake.
encryption = "tolerated";
utp = false;
CONF
$T new-session -d -s ui -x 200 -y 50 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/a.conf' '$tmp/http.torrent' '$tmp/udp.torrent' '$tmp/mute.torrent' '$tmp/slow.torrent'; sleep 30" || fail "tmux"
wait_for 'slow\.bin +downloading' 40 || fail "the torrents are not listed"
$lab peer "$lpa" "$("$dp" info "$tmp/mute.torrent" | awk '/^ *Hash:/ { print $2 }')" 8 150 "$tmp/mute.state" &
pids+=($!)
"$dp" seed --config <(printf 'listen_address = "127.0.0.1";\ndht = false;\nencryption = "tolerated";\nutp = false;\n') -o "$tmp/data" \
    --port "$(free_port)" --peer "127.0.0.1:$lpa" "$tmp/slow.torrent" >"$tmp/seed_slow.log" 2>&1 &
pids+=($!)

$T send-keys -t ui 3; wait_for 'Loop lag' || fail "blocked view header"
# the header: lag now and at worst, slowest callbacks with time, CPU and task, spinning
wait_for '^ Loop lag [0-9.]+(us|ms|s), max [0-9.]+(us|ms|s) in 1 min . [0-9]+ callbacks/s . threshold 5s \(\+/-\)' ||
    fail "header: lag line"
wait_for '^ Slowest callbacks: [0-9.]+(us|ms|s) \(cpu [0-9.]+(us|ms|s)\) [a-z]+ ' || fail "header: slowest callbacks"
# ...and the callbacks by their own CPU time, apart (a wall-time spike from being descheduled)
screen | grep -qE '^ Most CPU: [0-9.]+(us|ms|s) [a-z]+ ' || fail "header: most CPU callbacks"
screen | grep -qE '^ Spinning: none' || fail "header: spinning"

# a. the mute peer: choked by it for a while (PEER_WAIT; it turns READ_WAIT after 15 s, so this
#    window comes first on a busy machine)...
wait_for 'PEER_WAIT +peer 127\.0\.0\.1:[0-9]+ mute\.bin (\([A-Za-z0-9+]+\) +)?choked by peer for ([5-9]|1[0-9]) s' 60 ||
    fail "blocked view lacks the choked peer"
row 'choked by peer' | grep -qE 'peer_update_task:[0-9]+ *$' || fail "no where for the choked peer"
echo "ok: $(row 'choked by peer' | sed 's/  */ /g')"

# b. the silent HTTP tracker: past the 5 s threshold, with host:port, deadline and where
wait_for "READ_WAIT +tracker http://127\\.0\\.0\\.1:$httpp/announce +waiting for announce reply from 127\\.0\\.0\\.1:$httpp \\(deadline in [0-9.]+s\\)" 60 ||
    fail "blocked view lacks the silent HTTP tracker"
row "tracker http://127\\.0\\.0\\.1:$httpp" | grep -qE 'tracker_http_[a-z_]+:[0-9]+ *$' ||
    fail "no where for the HTTP tracker: $(row "127\\.0\\.0\\.1:$httpp")"
echo "ok: $(row "127\\.0\\.0\\.1:$httpp" | sed 's/  */ /g')"

# b. the silent UDP tracker: CONNECT_WAIT with the retransmission count (first one after 15 s)
wait_for "CONNECT_WAIT +tracker udp://127\\.0\\.0\\.1:$udpp/announce +waiting for UDP connect reply from 127\\.0\\.0\\.1:$udpp \\(unanswered, retransmission [1-9] of 8\\)" 80 ||
    fail "blocked view lacks the UDP tracker's retransmissions"
row "udp://127\\.0\\.0\\.1:$udpp" | grep -qE 'tracker_udp_[a-z_]+:[0-9]+ *$' || fail "no where for the UDP tracker"
echo "ok: $(row "udp://127\\.0\\.0\\.1:$udpp" | sed 's/  */ /g')"

# a. ...then it has sent nothing for 15 s while we want data (READ_WAIT, 5 s later listed)
wait_for 'READ_WAIT +peer 127\.0\.0\.1:[0-9]+ mute\.bin (\([A-Za-z0-9+]+\) +)?peer sent nothing for (19|[2-9][0-9]) s \(we are choked; disconnect at 180 s\)' 80 ||
    fail "blocked view lacks the silent peer"
echo "ok: $(row 'peer sent nothing' | sed 's/  */ /g')"

# d. throttling flips with every refill, so no wait lasts 5 s: threshold 0 lists every wait
for k in - - - - -; do $T send-keys -t ui -- "$k"; done
wait_for 'Blocked: [0-9]+ tasks? waiting, however briefly' 20 || fail "threshold did not reach 0"
wait_for 'threshold 0s' 4 || fail "header does not show threshold 0"
wait_for 'RATE_WAIT +peer 127\.0\.0\.1:[0-9]+ slow\.bin (\([A-Za-z0-9+]+\) +)?throttled: global download limit 64(\.0+)? KiB/s' 120 0.1 ||
    fail "blocked view lacks the throttled peer"
echo "ok: $(row 'RATE_WAIT' | sed 's/  */ /g')"

# the header at 200 columns packs several slow callbacks; at 80 the lines still fit whole
slow200=$(screen | grep -E '^ Slowest callbacks:')
[ "$(grep -o '·' <<<"$slow200" | wc -l)" -ge 1 ] || fail "200 columns: one slow callback only: $slow200"
$T resize-window -t ui -x 80 -y 30
wait_for '^ Loop lag .*threshold 0s \(\+/-\) *$' 20 || fail "80 columns: the lag line is cut"
# at 80 columns several entries only when they fit whole: a cut entry (…) is the only one
slow80=$(screen | grep -E '^ Slowest callbacks:')
grep -q '·' <<<"$slow80" && grep -q '…' <<<"$slow80" && fail "80 columns: a cut slow callback after others"
screen | grep -qE '^ Spinning: none *$' || fail "80 columns: spinning line"
echo "ok: 80 columns: $(screen | grep -E '^ Slowest callbacks:' | sed 's/  */ /g')"

$T send-keys -t ui q; wait_for '\(y/n\)' 20 && $T send-keys -t ui y

# c. a second instance: a 1 MiB disk write queue and a 256 MiB fast seeder
cat >"$tmp/b.conf" <<CONF
download_dir = "$tmp/b/dl";
session_dir = "$tmp/b/session";
listen_address = "127.0.0.1";
listen_port = $lpb;
disk_write_queue_bytes = "1M";
dht = false;
lsd = false;
# plaintext, so the network outruns the 1 MiB write queue (RC4 would pace it)
encryption = "tolerated";
utp = false;
ui = { refresh_ms = 50; };
CONF
win=disk
$T new-session -d -s disk -x 200 -y 50 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' --config '$tmp/b.conf' '$tmp/fast.torrent'; sleep 30" || fail "tmux (disk)"
wait_for 'fast\.bin +downloading' 40 || fail "fast.bin is not listed"
$T send-keys -t disk 3; wait_for 'Loop lag' || fail "blocked view (disk)"
for k in - - - - -; do $T send-keys -t disk -- "$k"; done
wait_for 'waiting, however briefly' 20 || fail "threshold 0 (disk)"
"$dp" seed --config <(printf 'listen_address = "127.0.0.1";\ndht = false;\nencryption = "tolerated";\nutp = false;\n') -o "$tmp/data" \
    --port "$(free_port)" --peer "127.0.0.1:$lpb" "$tmp/fast.torrent" >"$tmp/seed_fast.log" 2>&1 &
pids+=($!)
# backpressure lasts milliseconds: capture often (bounded: 600 x 20 ms plus the captures)
wait_for 'DISK_WAIT +peer 127\.0\.0\.1:[0-9]+ fast\.bin (\([A-Za-z0-9+]+\) +)?disk write queue full: [0-9.]+ [KMG]iB waiting to be written \(limit 1(\.0+)? MiB\)' 600 0.02 ||
    fail "blocked view never showed the peer in DISK_WAIT"
echo "ok: $(row 'DISK_WAIT +peer' | sed 's/  */ /g')"
$T send-keys -t disk q; wait_for '\(y/n\)' 20 && $T send-keys -t disk y
cleanup
echo "PASS: tui blocked reasons: silent HTTP/UDP trackers, choked and silent peer, throttled torrent, full disk queue, header at 80 and 200 columns"
