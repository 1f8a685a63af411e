#!/bin/bash
# ui_attach.sh: benchmark (prints figures, asserts nothing) of `downpour attach` on a daemon
# holding N small complete torrents (default 1000; one 16 KiB file each, from its watch dir):
# the time from starting `downpour attach` in a tmux pane until the pane shows the list of all
# N, then over SECONDS (default 30) with the UI idle on the list: the daemon's CPU with the UI
# attached and without, the UI's CPU, the requests and the bytes the daemon sent per refresh, the
# thread CPU its answers took (measured around each answer) and the task's callback time
# (wall time scaled to the loop's CPU: inflated on a busy machine), from its "attached UI" task
# (`downpour monitor where`).
# usage: tests/bench/ui_attach.sh [build/downpour] [N] [SECONDS]
set -u
dp=$(readlink -f "${1:-build/downpour}")
n=${2:-1000}
secs=${3:-30}
sock="dp-attach-bench-$$"
T="tmux -L $sock"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dp-attach-bench.XXXXXX")
daemon=""
cleanup() {
	[ -n "${first_ms:-}" ] || tail -n 5 "$tmp/daemon.log" 2>/dev/null
	$T kill-server 2>/dev/null
	if [ -n "$daemon" ]; then
		kill "$daemon" 2>/dev/null
		for ((w = 0; w < 300; w++)); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$daemon" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 1" INT TERM
mkdir -p "$tmp/dl" "$tmp/session" "$tmp/watch"
/usr/bin/python3 - "$n" "$tmp/dl" "$tmp/watch" <<'PY' || exit 1
import hashlib, os, random, sys
def benc(x):
    if isinstance(x, int): return b"i%de" % x
    if isinstance(x, str): x = x.encode()
    if isinstance(x, bytes): return b"%d:%s" % (len(x), x)
    return b"d" + b"".join(benc(k) + benc(x[k]) for k in sorted(x)) + b"e"
n, dl, watch = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rnd = random.Random(n)
for i in range(n):
    name = "t%05d.bin" % i
    data = rnd.randbytes(16384)
    open(os.path.join(dl, name), "wb").write(data)
    info = {"length": 16384, "name": name, "piece length": 16384,
            "pieces": hashlib.sha1(data).digest()}
    open(os.path.join(watch, name + ".torrent"), "wb").write(
        benc({"announce": "http://127.0.0.1:1/announce", "info": info}))
PY
cat >"$tmp/d.conf" <<CONF
download_dir = "$tmp/dl";
session_dir = "$tmp/session";
watch_dir = "$tmp/watch";
listen_address = "127.0.0.1";
listen_port = 0;
dht = false;
lsd = false;
CONF
"$dp" daemon --foreground --config "$tmp/d.conf" >"$tmp/daemon.log" 2>&1 &
daemon=$!
# loaded: every torrent has its copy in the session (bounded: 10 minutes). Not its resume file:
# at 10,000 the writer's fsyncs take minutes on a shared disk, and the figures below are the
# loop's answers, measured around each answer
for ((w = 0; w < 1200; w++)); do
	[ "$(find "$tmp/session/torrents" -name '*.torrent' 2>/dev/null | wc -l)" -ge "$n" ] && break
	sleep 0.5
done
# settled: the daemon answers its monitor (loading and checking done), bounded
for ((w = 0; w < 30; w++)); do
	"$dp" monitor --config "$tmp/d.conf" ps >/dev/null 2>&1 && break
	sleep 1
done
sleep 10
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
cpu_ms() { echo $(( ($2 - $1) * 1000 / hz )); }
d0=$(ticks "$daemon")
sleep "$secs"
d1=$(ticks "$daemon")
alone_ms=$(cpu_ms "$d0" "$d1")

t0=$(date +%s%N)
$T new-session -d -x 200 -y 50 "env LANG=C.UTF-8 TERM=xterm-256color '$dp' attach --config '$tmp/d.conf'; sleep 5" || exit 1
first_ms=
for ((w = 0; w < 2400; w++)); do
	$T has-session 2>/dev/null || break
	# the header counts every torrent once the whole list is in
	if $T capture-pane -p -t 0 | grep -q "Torrents: $n shown of $n"; then
		first_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		break
	fi
	sleep 0.05
done
if [ -z "$first_ms" ]; then
	echo "torrents=$n first_screen_ms=none: the UI did not show the whole list"
	$T capture-pane -p -t 0 2>/dev/null | tail -n 3
	exit 1
fi
ui=$(pgrep -P "$($T display-message -p -t 0 '#{pane_pid}')" || true)
sleep 3
task_figures() {
	local id
	id=$("$dp" monitor --config "$tmp/d.conf" ps | awk '/attached UI/ { print $1; exit }')
	"$dp" monitor --config "$tmp/d.conf" where "$id" | awk '
		/cycles:/ { cpu = $4 }
		/bytes:/ { out = $4 }
		/waits for:/ { for (i = 1; i <= NF; i++) {
			if ($i == "request") req = $(i + 1)
			if ($i == "us" && $(i + 1) == "CPU)") ans = $(i - 1) } }
		END { print req, out, cpu, ans }'
}
read -r r0 b0 c0 a0 < <(task_figures)
d0=$(ticks "$daemon")
u0=$(ticks "$ui")
sleep "$secs"
d1=$(ticks "$daemon")
u1=$(ticks "$ui")
read -r r1 b1 c1 a1 < <(task_figures)
reqs=$((r1 - r0))
[ "$reqs" -gt 0 ] || reqs=1
echo "torrents=$n first_screen_ms=${first_ms:-none} idle_seconds=$secs"
echo "daemon_cpu_ms_alone=$alone_ms daemon_cpu_ms_attached=$(cpu_ms "$d0" "$d1") ui_cpu_ms=$(cpu_ms "$u0" "$u1")"
awk -v r="$reqs" -v b="$((b1 - b0))" -v c0="$c0" -v c1="$c1" -v a="$((a1 - a0))" 'BEGIN {
	printf "requests=%d bytes_per_request=%.0f answer_cpu_us_per_request=%.0f", r, b / r, a / r
	printf " callback_wall_cpu_us_per_request=%.0f\n", (c1 - c0) * 1000 / r }'
