# swarm_lib.sh: shared helpers of the swarm_*.sh interop tests (sourced, not run): a temp dir,
# background processes stopped by PID, bounded waits, free loopback ports, opentracker with a
# whitelist, test data, downpour configs and byte-for-byte comparison. Everything is 127.0.0.1.
# shellcheck shell=bash
# shellcheck disable=SC2034  # SL_* variables are set here for the scripts that source this

# DP_ASAN=1 runs the ASan build (lib.sh swaps the script's .../build/downpour argument).
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

SL_PIDS=()
SL_NAMES=()
SL_W=
SL_NAME=
SL_T0=$SECONDS

# sl_netns SCRIPT ARGS...: runs the calling script again inside a network namespace of its own
# with only loopback up (multicast routed on it), and a mount namespace (a test may bind-mount its
# own /etc/hosts), unless it already is: DHT, LSD and IPv6 tracker tests must not reach the real
# network whatever a client decides to send. Call it first: sl_netns "$0" "$@".
sl_netns() {
	if [ -n "${SL_IN_NETNS:-}" ]; then
		# Multicast goes out on loopback from 10.213.0.1 (on lo, this namespace only): from a
		# 127/8 address the kernel sends it as 0.0.0.0, which is no peer address to dial.
		ip link set lo up multicast on && ip addr add 10.213.0.1/32 dev lo &&
		    ip route add 224.0.0.0/4 dev lo src 10.213.0.1 &&
		    ip -6 route add ff15::/16 dev lo && return 0
		echo "FAIL $(basename "$1" .sh): cannot set up loopback in the namespace" >&2
		exit 1
	fi
	if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null || ! command -v ip >/dev/null; then
		echo "FAIL $(basename "$1" .sh): needs root, unshare (util-linux) and ip (iproute2)" \
		    "for a network namespace of its own" >&2
		exit 1
	fi
	SL_IN_NETNS=1 exec unshare -n -m -- "$@"
}

# sl_init NAME DOWNPOUR: the temp dir ($SL_W), the cleanup trap, $DP as an absolute path.
sl_init() {
	SL_NAME=$1
	[ -n "${2:-}" ] || { echo "usage: $SL_NAME.sh PATH/TO/downpour" >&2; exit 2; }
	DP=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
	[ -x "$DP" ] || { echo "FAIL $SL_NAME: $DP is not an executable" >&2; exit 1; }
	SL_W=$(mktemp -d "/tmp/dp-$SL_NAME.XXXXXX") || { echo "FAIL $SL_NAME: mktemp" >&2; exit 1; }
	# opentracker drops root to "nobody" and chroots into its dir: it must be able to read it.
	chmod 755 "$SL_W"
	trap sl_cleanup EXIT
	trap 'exit 1' INT TERM
	sl_need python3 python3 /usr/bin/python3
}

# sl_say TEXT: a progress line with the seconds since the start.
sl_say() { printf '[%s %3ds] %s\n' "$SL_NAME" $((SECONDS - SL_T0)) "$*"; }

# sl_fail TEXT: print the reason and the tail of every log, then exit 1 (cleanup runs).
sl_fail() {
	echo "FAIL $SL_NAME: $*" >&2
	local f
	for f in "$SL_W"/*.log "$SL_W"/*/*.log; do
		[ -f "$f" ] || continue
		echo "== ${f#"$SL_W"/} (last 25 lines)" >&2
		tail -n 25 "$f" >&2
	done
	exit 1
}

# sl_need COMMAND PACKAGE [PATH]: a missing peer program is a failure, never a skip.
sl_need() {
	local path=${3:-$1}
	if [ "${path#/}" != "$path" ]; then
		[ -x "$path" ] && return 0
	else
		command -v "$path" >/dev/null 2>&1 && return 0
	fi
	sl_fail "$1 is not installed (apt-get install $2)"
}

# sl_bg NAME LOG COMMAND...: start in the background; the PID goes to $SL_BG_PID and is
# remembered so that cleanup stops it.
sl_bg() {
	local name=$1 log=$2
	shift 2
	: >"$log"
	"$@" >"$log" 2>&1 </dev/null &
	SL_BG_PID=$!
	SL_PIDS+=("$SL_BG_PID")
	SL_NAMES+=("$name")
}

sl_alive() { kill -0 "$1" 2>/dev/null; }

# sl_stop PID [SECONDS]: SIGTERM, wait (bounded), then SIGKILL. Returns the exit status when
# the process was our child and stopped on SIGTERM, 137 when it had to be killed.
sl_stop() {
	local pid=$1 secs=${2:-10} i rc=0
	sl_alive "$pid" || { wait "$pid" 2>/dev/null; return $?; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < secs * 10; i++)); do
		sl_alive "$pid" || break
		sleep 0.1
	done
	if sl_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 137
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	return $rc
}

sl_cleanup() {
	local i
	for ((i = ${#SL_PIDS[@]} - 1; i >= 0; i--)); do
		sl_alive "${SL_PIDS[$i]}" && sl_stop "${SL_PIDS[$i]}" 5
	done
	[ -n "$SL_W" ] && [ -z "${SL_KEEP:-}" ] && rm -rf "$SL_W"
	[ -n "${SL_KEEP:-}" ] && echo "kept $SL_W" >&2
}

# sl_wait SECONDS WHAT COMMAND...: poll COMMAND every 0.2 s until it succeeds; fail after
# SECONDS with "timed out waiting for WHAT". Set SL_WAIT_PID to fail early when it dies.
sl_wait() {
	local secs=$1 what=$2 end
	shift 2
	end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do
		"$@" && return 0
		if [ -n "${SL_WAIT_PID:-}" ] && ! sl_alive "$SL_WAIT_PID"; then
			"$@" && return 0
			sl_fail "process $SL_WAIT_PID exited while waiting for $what"
		fi
		sleep 0.2
	done
	sl_fail "timed out after ${secs}s waiting for $what"
}

# sl_free_port: a port free on 127.0.0.1 for TCP and for UDP at once.
sl_free_port() {
	/usr/bin/python3 - <<'PY'
import socket
for _ in range(200):
    t = socket.socket()
    t.bind(("127.0.0.1", 0))
    p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        u.close()
        t.close()
    print(p)
    break
else:
    raise SystemExit("no free port")
PY
}

sl_listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# sl_tracker_start: opentracker on 127.0.0.1:$SL_TRACKER_PORT, HTTP and UDP, whitelist mode.
# Sets SL_ANNOUNCE_HTTP and SL_ANNOUNCE_UDP.
sl_tracker_start() {
	sl_need opentracker opentracker
	mkdir -p "$SL_W/ot"
	chmod 755 "$SL_W/ot"
	: >"$SL_W/ot/whitelist.txt"
	chmod 644 "$SL_W/ot/whitelist.txt"
	SL_TRACKER_PORT=$(sl_free_port)
	# -i before -p/-P binds both listeners to loopback; -d chroots, -w is relative to it.
	sl_bg opentracker "$SL_W/opentracker.log" opentracker -i 127.0.0.1 -p "$SL_TRACKER_PORT" \
	    -P "$SL_TRACKER_PORT" -d "$SL_W/ot" -w whitelist.txt
	SL_TRACKER_PID=$SL_BG_PID
	SL_WAIT_PID=$SL_TRACKER_PID sl_wait 10 "opentracker to listen" sl_listening "$SL_TRACKER_PORT"
	SL_ANNOUNCE_HTTP="http://127.0.0.1:$SL_TRACKER_PORT/announce"
	SL_ANNOUNCE_UDP="udp://127.0.0.1:$SL_TRACKER_PORT/announce"
	sl_say "opentracker pid $SL_TRACKER_PID on 127.0.0.1:$SL_TRACKER_PORT (HTTP+UDP)"
}

# sl_infohash TORRENT: the hex info hash (from downpour info --json).
sl_infohash() {
	"$DP" info --json "$1" 2>/dev/null | sed -n 's/^  "info_hash": "\([0-9a-f]\{40\}\)",$/\1/p'
}

# sl_tracker_allow TORRENT: whitelist its info hash; opentracker re-reads the list on SIGHUP.
# Waits until an announce of that hash is accepted over HTTP.
sl_tracker_allow() {
	local ih
	ih=$(sl_infohash "$1")
	[ ${#ih} -eq 40 ] || sl_fail "no info hash for $1"
	echo "$ih" >>"$SL_W/ot/whitelist.txt"
	kill -HUP "$SL_TRACKER_PID" || sl_fail "can't signal opentracker"
	sl_wait 10 "opentracker to whitelist $ih" _sl_tracker_knows "$ih"
}

_sl_tracker_knows() {
	/usr/bin/python3 - "$SL_TRACKER_PORT" "$1" <<'PY'
import sys, urllib.request
port, ih = sys.argv[1], bytes.fromhex(sys.argv[2])
q = "".join("%%%02X" % b for b in ih)
url = ("http://127.0.0.1:%s/announce?info_hash=%s&peer_id=-SL0001-000000000000"
       "&port=1&uploaded=0&downloaded=0&left=1&event=stopped&compact=1" % (port, q))
try:
    body = urllib.request.urlopen(url, timeout=2).read()
except Exception:
    sys.exit(1)
sys.exit(1 if b"failure reason" in body else 0)
PY
}

# sl_tracker_has_seeds TORRENT [N]: the tracker's scrape counts at least N (1) seeders.
sl_tracker_has_seeds() {
	/usr/bin/python3 - "$SL_TRACKER_PORT" "$(sl_infohash "$1")" "${2:-1}" <<'PY'
import re, sys, urllib.request
port, ih, n = sys.argv[1], bytes.fromhex(sys.argv[2]), int(sys.argv[3])
q = "".join("%%%02X" % b for b in ih)
try:
    body = urllib.request.urlopen("http://127.0.0.1:%s/scrape?info_hash=%s" % (port, q),
                                  timeout=2).read()
except Exception:
    sys.exit(1)
m = re.search(rb"8:completei(\d+)e", body)
sys.exit(0 if m and int(m.group(1)) >= n else 1)
PY
}

# sl_make_file PATH BYTES: random content.
sl_make_file() {
	mkdir -p "$(dirname "$1")"
	head -c "$2" /dev/urandom >"$1" || sl_fail "can't write $1"
}

# sl_make_tree DIR COUNT SEED: COUNT files of odd sizes (0 .. ~300 KiB) in nested folders,
# deterministic for a SEED; a few empty files, one-byte files and deep paths among them.
sl_make_tree() {
	/usr/bin/python3 - "$1" "$2" "$3" <<'PY' || sl_fail "can't make the file tree $1"
import os, random, sys
root, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
for i in range(count):
    depth = rnd.choice([0, 1, 1, 2, 3])
    parts = ["d%02d" % rnd.randrange(12) for _ in range(depth)]
    r = rnd.random()
    size = 0 if r < 0.03 else 1 if r < 0.06 else rnd.randrange(2, 16384) if r < 0.5 \
        else rnd.randrange(16384, 300000)
    d = os.path.join(root, *parts)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%04d_%d.bin" % (i, size)), "wb") as f:
        f.write(rnd.randbytes(size))
PY
}

# sl_same A B: byte-for-byte comparison of two files or two directory trees (names too).
sl_same() {
	if [ -d "$1" ]; then
		diff -r "$1" "$2" >"$SL_W/diff.out" 2>&1 || { head -n 5 "$SL_W/diff.out" >&2; return 1; }
		# diff -r says nothing about empty files missing on one side only if both lack them:
		# compare the listings too.
		[ "$(cd "$1" && find . | sort)" = "$(cd "$2" && find . | sort)" ] || return 1
	else
		cmp "$1" "$2" >&2 || return 1
	fi
}

# sl_same_nonempty SRC COPY: every non-empty file of SRC is in COPY byte for byte and COPY has
# nothing SRC lacks; empty files may be missing (Transmission 3.00 does not create them).
sl_same_nonempty() {
	local f n=0
	while IFS= read -r -d '' f; do
		cmp -s "$1/$f" "$2/$f" || { echo "differs or missing: $f" >&2; return 1; }
		n=$((n + 1))
	done < <(cd "$1" && find . -type f -size +0c -print0)
	while IFS= read -r -d '' f; do
		[ -e "$1/$f" ] || { echo "extra in the copy: $f" >&2; return 1; }
	done < <(cd "$2" && find . -print0)
	[ $n -gt 0 ] || return 1
}

# sl_dp_conf FILE: a downpour configuration bound to loopback with its state in the temp dir
# (every peer is on 127.0.0.1: several connections to one address are allowed); a script adds
# lines of its own in SL_DP_EXTRA_CONF.
sl_dp_conf() {
	cat >"$1" <<CONF
listen_address = "127.0.0.1";
download_dir = "$SL_W";
session_dir = "$SL_W/dp-session";
log_level = "${SL_DP_LOG_LEVEL:-info}";
max_peers_per_address = 16;
${SL_DP_EXTRA_CONF:-}
CONF
}

# sl_dp_seed NAME TORRENT DATA_PARENT: start `downpour seed`, wait until its data is verified.
# Sets SL_DP_SEED_PID and SL_DP_SEED_PORT.
sl_dp_seed() {
	local name=$1 torrent=$2 data=$3
	sl_dp_conf "$SL_W/$name.conf"
	SL_DP_SEED_PORT=$(sl_free_port)
	sl_bg "$name" "$SL_W/$name.log" "$DP" seed --config "$SL_W/$name.conf" -o "$data" \
	    --port "$SL_DP_SEED_PORT" "$torrent"
	SL_DP_SEED_PID=$SL_BG_PID
	SL_WAIT_PID=$SL_DP_SEED_PID sl_wait 120 "downpour seed to verify its data" \
	    grep -q "checked: " "$SL_W/$name.log"
	grep -q "checked: .* pieces verified" "$SL_W/$name.log" || sl_fail "downpour seed: data not verified"
	grep -q "only .* pieces verified" "$SL_W/$name.log" && sl_fail "downpour seed: data incomplete"
	sl_say "downpour seed pid $SL_DP_SEED_PID on 127.0.0.1:$SL_DP_SEED_PORT"
}

# sl_dp_get NAME TORRENT OUTDIR TIMEOUT [--peer ADDR:PORT]...: run `downpour get` to completion.
# Sets SL_WALL (seconds, 2 decimals). Fails on a non-zero exit or a timeout.
sl_dp_get() {
	local name=$1 torrent=$2 out=$3 secs=$4 rc t0 t1
	shift 4
	sl_dp_conf "$SL_W/$name.conf"
	mkdir -p "$out"
	t0=$(date +%s.%N)
	timeout -k 5 "$secs" "$DP" get --config "$SL_W/$name.conf" -o "$out" --port "$(sl_free_port)" \
	    "$@" "$torrent" >"$SL_W/$name.log" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	SL_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	[ $rc -eq 124 ] && sl_fail "downpour get ($name) timed out after ${secs}s"
	[ $rc -eq 0 ] || sl_fail "downpour get ($name) exited $rc"
	grep -q "download complete" "$SL_W/$name.log" || sl_fail "downpour get ($name): no completion line"
}

# sl_lt NAME ARGS...: the libtorrent helper scripts next to this file, with Debian's python.
SL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

sl_need_lt() {
	sl_need python3-libtorrent python3-libtorrent /usr/bin/python3
	/usr/bin/python3 -c 'import libtorrent' 2>/dev/null ||
	    sl_fail "python3-libtorrent is not installed (apt-get install python3-libtorrent)"
}

# sl_transmission_conf DIR PEERPORT RPCPORT DOWNLOAD_DIR: settings of a loopback-only
# transmission-daemon (no DHT/LPD/PEX/uTP/port mapping, RPC on loopback, no encryption
# preference). SL_TR_ENCRYPTION=2 requires encryption, SL_TR_UTP=true turns uTP on.
sl_transmission_conf() {
	mkdir -p "$1"
	cat >"$1/settings.json" <<EOF
{
  "bind-address-ipv4": "127.0.0.1",
  "bind-address-ipv6": "::1",
  "rpc-bind-address": "127.0.0.1",
  "rpc-port": $3,
  "rpc-enabled": true,
  "rpc-authentication-required": false,
  "rpc-whitelist": "127.0.0.1",
  "rpc-whitelist-enabled": true,
  "rpc-host-whitelist-enabled": false,
  "peer-port": $2,
  "peer-port-random-on-start": false,
  "port-forwarding-enabled": false,
  "dht-enabled": false,
  "lpd-enabled": false,
  "pex-enabled": false,
  "utp-enabled": ${SL_TR_UTP:-false},
  "blocklist-enabled": false,
  "download-dir": "$4",
  "incomplete-dir-enabled": false,
  "watch-dir-enabled": false,
  "download-queue-enabled": false,
  "seed-queue-enabled": false,
  "queue-stalled-enabled": false,
  "speed-limit-down-enabled": false,
  "speed-limit-up-enabled": false,
  "alt-speed-enabled": false,
  "ratio-limit-enabled": false,
  "idle-seeding-limit-enabled": false,
  "peer-limit-global": 200,
  "peer-limit-per-torrent": 50,
  "encryption": ${SL_TR_ENCRYPTION:-0},
  "message-level": 2,
  "start-added-torrents": true,
  "umask": 18
}
EOF
}

# sl_transmission_start NAME DOWNLOAD_DIR: transmission-daemon in the foreground (our PID).
# Sets SL_TR_PID, SL_TR_PORT (peer port), SL_TR_RPC.
sl_transmission_start() {
	sl_need transmission-daemon transmission-daemon
	sl_need transmission-remote transmission-cli
	SL_TR_PORT=$(sl_free_port)
	SL_TR_RPC=$(sl_free_port)
	sl_transmission_conf "$SL_W/$1-cfg" "$SL_TR_PORT" "$SL_TR_RPC" "$2"
	sl_bg "$1" "$SL_W/$1.log" transmission-daemon -f -g "$SL_W/$1-cfg" --log-info
	SL_TR_PID=$SL_BG_PID
	SL_WAIT_PID=$SL_TR_PID sl_wait 20 "transmission RPC" sl_listening "$SL_TR_RPC"
	SL_WAIT_PID=$SL_TR_PID sl_wait 20 "transmission peer port" sl_listening "$SL_TR_PORT"
	sl_say "transmission-daemon pid $SL_TR_PID peer port $SL_TR_PORT rpc $SL_TR_RPC"
}

sl_tr() { transmission-remote "127.0.0.1:$SL_TR_RPC" "$@"; }

# sl_tr_done: transmission reports the (only) torrent at 100 % and verified.
sl_tr_done() {
	local inf
	inf=$(sl_tr -t all -i 2>/dev/null) || return 1
	grep -q 'Percent Done: 100%' <<<"$inf" && grep -Eq 'State: (Seeding|Idle|Finished)' <<<"$inf"
}

# sl_aria2_args: the common loopback-only aria2c options.
sl_aria2_args() {
	echo --no-conf --enable-rpc=false --enable-dht=false --enable-dht6=false \
	    --bt-enable-lpd=false --enable-peer-exchange=false --disable-ipv6=true \
	    --interface=127.0.0.1 --file-allocation=falloc --summary-interval=0 \
	    --console-log-level=notice --bt-stop-timeout=0
}

# sl_retrack TORRENT URL OUT: a copy of TORRENT whose only tracker is URL (same info hash).
sl_retrack() {
	/usr/bin/python3 - "$SL_DIR" "$@" <<'PY' || sl_fail "can't rewrite the tracker of $1"
import sys
sys.path.insert(0, sys.argv.pop(1))
from benc import bdecode as dec, be as enc

src, url, out = sys.argv[1:4]
raw = open(src, "rb").read()
t, _ = dec(raw, 0)
# keep the info dictionary's exact bytes so the info hash cannot change
start = raw.index(b"4:info") + 6
_, end = dec(raw, start)
t[b"announce"] = url.encode()
t.pop(b"announce-list", None)
t[b"info"] = b"\0INFO"
body = enc(t).replace(enc(b"\0INFO"), raw[start:end])
open(out, "wb").write(body)
PY
}
