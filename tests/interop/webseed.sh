#!/bin/bash
# webseed.sh: BEP 19 web seeds on loopback, no peer at all unless said. range_server.py (Range
# requests, 206) serves a folder; `downpour get` downloads byte-identical from the url-list alone:
# a multi-file torrent (the URL is the folder: name/path, percent-encoded; a file name with a
# space and a '%'), a hybrid one (pad files are zeros, never fetched), and a single file (the URL
# is the file) from a server that answers its first requests 503 (retried with backoff); and the
# multi-file one over HTTPS (the test's own certificate, trusted via SSL_CERT_FILE). Then a
# server that corrupts one byte and one that ignores Range (200 with the whole file) are both
# disabled with their reasons, and the download finishes from a libtorrent seeder. Last, in a
# daemon, the seeds are tasks in the monitor and the RPC's webseeds. $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_init webseed "${1:-}"
sl_need_lt
sl_need openssl openssl openssl

mkdir -p "$SL_W/src" "$SL_W/one"
sl_make_tree "$SL_W/src/tree" 30 20261203
sl_make_file "$SL_W/src/tree/with space %25.bin" 150001
sl_make_file "$SL_W/one/single.bin" 1000003
BYTES=$(du -sb --apparent-size "$SL_W/src/tree" | cut -f1)

# srv_start NAME ROOT ARGS...: a range server; sets SRV_PID and SRV_PORT.
srv_start() {
	local name=$1 root=$2
	shift 2
	sl_bg "srv-$name" "$SL_W/srv-$name.out" /usr/bin/python3 "$SL_DIR/range_server.py" "$root" \
	    --port-file "$SL_W/srv-$name.port" --log "$SL_W/srv-$name.log" "$@"
	SRV_PID=$SL_BG_PID
	SL_WAIT_PID=$SRV_PID sl_wait 20 "the $name server" test -s "$SL_W/srv-$name.port"
	SRV_PORT=$(cat "$SL_W/srv-$name.port")
}

# 1. Multi-file, v1 and hybrid: the URL names the folder holding the torrent's folder.
srv_start good "$SL_W/src"
GOOD=$SRV_PID
for fmt in v1 hybrid; do
	"$DP" create --format $fmt -s 65536 -w "http://127.0.0.1:$SRV_PORT/" \
	    -o "$SL_W/multi-$fmt.torrent" "$SL_W/src/tree" >/dev/null 2>&1 || sl_fail "create $fmt"
	: >"$SL_W/srv-good.log"
	sl_dp_get get-$fmt "$SL_W/multi-$fmt.torrent" "$SL_W/out-$fmt" 120
	sl_same "$SL_W/src/tree" "$SL_W/out-$fmt/tree" || sl_fail "the $fmt web seed copy differs"
	grep -q "failed the hash check\|disabled" "$SL_W/get-$fmt.log" && sl_fail "a piece failed ($fmt)"
	N=$(grep -c ' 206$' "$SL_W/srv-good.log")
	[ "$N" -gt 0 ] || sl_fail "no ranged GET reached the server ($fmt)"
	grep -q "with%20space%20%2525.bin bytes=" "$SL_W/srv-good.log" ||
	    sl_fail "the file name was not percent-encoded: $(grep space "$SL_W/srv-good.log" | head -1)"
	grep -q "/.pad/" "$SL_W/srv-good.log" && sl_fail "a pad file was fetched ($fmt)"
	sl_say "web seed -> downpour, multi-file $fmt: $BYTES bytes identical in $SL_WALL s ($N GETs)"
done
sl_stop "$GOOD" 5

# 1b. HTTPS: the server's certificate (for 127.0.0.1) is trusted through SSL_CERT_FILE.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$SL_W/key.pem" -out "$SL_W/cert.pem" \
    >/dev/null 2>&1 || sl_fail "openssl req (a test certificate)"
srv_start tls "$SL_W/src" --tls "$SL_W/cert.pem:$SL_W/key.pem"
"$DP" create -s 65536 -w "https://127.0.0.1:$SRV_PORT/" -o "$SL_W/multi-tls.torrent" \
    "$SL_W/src/tree" >/dev/null 2>&1 || sl_fail "create tls"
SSL_CERT_FILE="$SL_W/cert.pem" sl_dp_get get-tls "$SL_W/multi-tls.torrent" "$SL_W/out-tls" 120
sl_same "$SL_W/src/tree" "$SL_W/out-tls/tree" || sl_fail "the HTTPS web seed copy differs"
grep -q ' 206$' "$SL_W/srv-tls.log" || sl_fail "no ranged GET over HTTPS"
sl_say "HTTPS web seed -> downpour: identical in $SL_WALL s"
sl_stop "$SRV_PID" 5

# 2. Single file: the URL is the file; the server's first three answers are 503.
srv_start flaky "$SL_W/one" --fail-first 3
"$DP" create -s 65536 -w "http://127.0.0.1:$SRV_PORT/single.bin" -o "$SL_W/single.torrent" \
    "$SL_W/one/single.bin" >/dev/null 2>&1 || sl_fail "create single"
sl_dp_get get-single "$SL_W/single.torrent" "$SL_W/out-single" 120
cmp "$SL_W/one/single.bin" "$SL_W/out-single/single.bin" || sl_fail "the single file differs"
grep -q "HTTP status 503 (retrying in" "$SL_W/get-single.log" || sl_fail "no 503 was retried"
grep -q "GET /single.bin bytes=.* 206$" "$SL_W/srv-flaky.log" || sl_fail "no ranged GET of the file"
sl_say "web seed -> downpour, single file after three 503s: identical in $SL_WALL s"
sl_stop "$SRV_PID" 5

# 3. A server that corrupts a byte and one that ignores Range: both disabled with the reason,
# and a libtorrent seeder supplies what they could not.
srv_start bad "$SL_W/src" --corrupt "tree/with space %25.bin:70000"
BAD=$SRV_PORT
srv_start norange "$SL_W/src" --ignore-range
NORANGE=$SRV_PORT
"$DP" create -s 65536 -w "http://127.0.0.1:$BAD/" -w "http://127.0.0.1:$NORANGE/" \
    -o "$SL_W/bad.torrent" "$SL_W/src/tree" >/dev/null 2>&1 || sl_fail "create bad"
LT_PORT=$(sl_free_port)
sl_bg lt-seed "$SL_W/lt-seed.log" /usr/bin/python3 "$SL_DIR/lt_seed.py" "$SL_W/bad.torrent" \
    "$SL_W/src" --port "$LT_PORT" --no-tracker --ready-file "$SL_W/lt-seed.ready" \
    --upload-limit 400000
LT_PID=$SL_BG_PID
SL_WAIT_PID=$LT_PID sl_wait 120 "the libtorrent seeder" test -f "$SL_W/lt-seed.ready"
sl_dp_get get-bad "$SL_W/bad.torrent" "$SL_W/out-bad" 180 --peer "127.0.0.1:$LT_PORT"
sl_same "$SL_W/src/tree" "$SL_W/out-bad/tree" || sl_fail "the copy with bad web seeds differs"
grep -q "web seed http://127.0.0.1:$BAD/ disabled: piece [0-9]* failed the hash check" \
    "$SL_W/get-bad.log" || sl_fail "the corrupting web seed was not disabled"
grep -q "web seed http://127.0.0.1:$NORANGE/ disabled: the server ignores Range" \
    "$SL_W/get-bad.log" || sl_fail "the web seed that ignores Range was not disabled"
sl_stop "$LT_PID" 10
sl_say "corrupt and range-less web seeds disabled with their reasons; libtorrent supplied the rest"

# 4. A daemon: each web seed is a task in the monitor (the disabled one says why), the RPC lists
# the seeds in webseeds and never among the peers.
srv_start good2 "$SL_W/src"
GOOD=$SRV_PORT
"$DP" create -s 65536 -w "http://127.0.0.1:$GOOD/" -w "http://127.0.0.1:$NORANGE/" \
    -o "$SL_W/d.torrent" "$SL_W/src/tree" >/dev/null 2>&1 || sl_fail "create d"
RP=$(sl_free_port)
mkdir -p "$SL_W/sess" "$SL_W/dl"
cat >"$SL_W/d.conf" <<CONF
session_dir = "$SL_W/sess";
download_dir = "$SL_W/dl";
listen_address = "127.0.0.1";
listen_port = $(sl_free_port);
dht = false;
lsd = false;
CONF
sl_bg daemon "$SL_W/daemon.log" "$DP" daemon --foreground --config "$SL_W/d.conf" --rpc-no-auth --rpc-port "$RP"
DPID=$SL_BG_PID
rpc() { /usr/bin/python3 "$SL_DIR/rpc_call.py" "$RP" "$@"; }
rpc_up() { rpc session-get >/dev/null 2>&1; }
SL_WAIT_PID=$DPID sl_wait 20 "the daemon's RPC" rpc_up
M64=$(base64 -w0 "$SL_W/d.torrent")
rpc torrent-add "{\"metainfo\": \"$M64\"}" >/dev/null || sl_fail "torrent-add"
SL_WAIT_PID=$DPID sl_wait 60 "the daemon's download" sh -c \
    "/usr/bin/python3 '$SL_DIR/rpc_call.py' $RP torrent-get '{\"fields\": [\"percentDone\"]}' |
    grep -q '\"percentDone\": 1'"
sl_same "$SL_W/src/tree" "$SL_W/dl/tree" || sl_fail "the daemon's copy differs"
rpc torrent-get '{"fields": ["webseeds", "peers", "webseedsSendingToUs"]}' >"$SL_W/rpc.json" ||
    sl_fail "torrent-get"
/usr/bin/python3 - "$SL_W/rpc.json" "http://127.0.0.1:$GOOD/" "http://127.0.0.1:$NORANGE/" <<'PY' ||
import json, sys
t = json.load(open(sys.argv[1]))["arguments"]["torrents"][0]
assert sorted(t["webseeds"]) == sorted(sys.argv[2:4]), t["webseeds"]
assert not any(p["address"].startswith("http") for p in t["peers"]), t["peers"]
assert t["webseedsSendingToUs"] == 0, t
PY
    sl_fail "the RPC's webseeds: $(cat "$SL_W/rpc.json")"
timeout 20 "$DP" monitor --session "$SL_W/sess" ps >"$SL_W/ps.txt" 2>&1 || sl_fail "monitor ps"
grep -q "webseed http://127.0.0.1:$GOOD/" "$SL_W/ps.txt" ||
    sl_fail "no task for the web seed: $(cat "$SL_W/ps.txt")"
grep "webseed http://127.0.0.1:$NORANGE/" "$SL_W/ps.txt" | grep -q "FAILED.*ignores Range" ||
    sl_fail "the disabled web seed's task does not say why: $(grep webseed "$SL_W/ps.txt")"
sl_stop "$DPID" 10 || sl_fail "daemon exited $? on SIGTERM"
sl_say "daemon: web seeds are tasks (the disabled one with its reason) and the RPC's webseeds"
echo "PASS webseed: multi-file (v1, hybrid) and single-file web seeds with retries; bad seeds" \
    "disabled with reasons"
exit 0
