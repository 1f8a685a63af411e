#!/bin/bash
# ops_rpc_churn.sh: issue 17's reproduction. A daemon with four torrents whose trackers are
# unreachable (HTTP refused, UDP unanswered) is driven through the RPC for ~40 s (stop, start,
# verify, reannounce, queue moves, set) while finished tasks linger out of the registry, with
# `monitor ps` in between; then SIGTERM. It must exit 0, save the resume data of 4 torrents and
# remove its pid and lock files. Run against the ASan+UBSan build (DP_ASAN=1, see tests/lib.sh)
# it also fails on any sanitizer report. $1 = the downpour binary.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: ops_rpc_churn.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
W=$(mktemp -d /tmp/dp-ops-churn.XXXXXX)
SECS=${DP_CHURN_SECONDS:-40}
daemon_pid() { cat "$W/s/downpour.pid" 2>/dev/null; }
cleanup() {
	stop_pid "$(daemon_pid)"
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	for f in "$W"/*.log "$W"/*.err "$W"/s/downpour.log; do [ -f "$f" ] && { echo "== $f"; tail -n 40 "$f"; }; done >&2
	exit 1
}

DEAD=$(free_port); DPORT=$(free_port); RP=$(free_port)
mkdir -p "$W/data" "$W/s" "$W/dl"
for i in 1 2 3 4; do
	head -c $((200000 + i * 1000)) /dev/urandom > "$W/data/f$i.bin"
	"$DP" create -o "$W/f$i.torrent" -s 16384 -t "http://127.0.0.1:$DEAD/announce" \
	    -t "udp://127.0.0.1:$DEAD/announce" "$W/data/f$i.bin" >/dev/null 2>&1 || fail "create f$i"
done
printf 'listen_address = "127.0.0.1";\nmax_active_downloads = 2;\n' > "$W/d.conf"
"$DP" daemon --config "$W/d.conf" --session "$W/s" --download-dir "$W/dl" --port "$DPORT" \
    --rpc-no-auth --rpc-port "$RP" 2>>"$W/daemon.err" || fail "daemon start"
wait_file "$W/s/downpour.pid" || fail "no pid file"
PID=$(daemon_pid)

/usr/bin/python3 - "$RP" "$W" "$SECS" "$DP" "$W/s" <<'PY' || fail "RPC churn"
import base64, json, random, subprocess, sys, time, urllib.request, urllib.error
port, w, secs, dp, sdir = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5]
url = "http://127.0.0.1:%d/transmission/rpc" % port
sid = [""]
def call(method, args=None):
    body = json.dumps({"method": method, "arguments": args or {}}).encode()
    for _ in range(3):
        req = urllib.request.Request(url, data=body, method="POST")
        req.add_header("X-Transmission-Session-Id", sid[0])
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            if e.code != 409:
                raise
            sid[0] = e.headers.get("X-Transmission-Session-Id", "")
    raise SystemExit("no session id")
ids = []
for i in range(1, 5):
    meta = base64.b64encode(open("%s/f%d.torrent" % (w, i), "rb").read()).decode()
    a = call("torrent-add", {"metainfo": meta})
    assert a["result"] == "success", a
    t = a["arguments"].get("torrent-added") or a["arguments"].get("torrent-duplicate")
    ids.append(t["id"])
rng = random.Random(17)
end = time.time() + secs
calls = 0
while time.time() < end:
    i = rng.choice(ids)
    m = rng.choice(["torrent-stop", "torrent-start", "torrent-verify", "torrent-reannounce",
                    "queue-move-top", "queue-move-bottom", "queue-move-up", "queue-move-down",
                    "torrent-set", "torrent-get", "session-get", "torrent-start-now"])
    args = {"ids": [i]}
    if m == "torrent-set":
        args["downloadLimit"] = rng.randint(0, 500)
        args["downloadLimited"] = rng.random() < 0.5
    if m == "torrent-get":
        args["fields"] = ["id", "status", "trackerStats", "error", "errorString"]
    if m == "session-get":
        args = {}
    a = call(m, args)
    if a["result"] != "success":
        raise SystemExit("%s -> %s" % (m, a["result"]))
    calls += 1
    if calls % 50 == 0:
        subprocess.run([dp, "monitor", "--session", sdir, "ps"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=10)
    time.sleep(0.02)
print("churn: %d RPC calls in %.0f s" % (calls, secs))
PY

kill -TERM "$PID"
wait_gone "$PID" 15 || fail "SIGTERM did not end the daemon within 15 s"
grep -q "resume data of 4 torrents saved" "$W/s/downpour.log" || fail "resume data not saved"
[ ! -e "$W/s/downpour.pid" ] || fail "pid file left behind"
grep -qiE "corrupted|double free|AddressSanitizer|runtime error" "$W/daemon.err" "$W/s/downpour.log" &&
    fail "heap or UB error reported"
if [ -n "${DP_ASAN_LOGS:-}" ] && ls "$DP_ASAN_LOGS"/* >/dev/null 2>&1; then
	cat "$DP_ASAN_LOGS"/* >&2
	fail "sanitizer reports"
fi
echo "PASS: ops_rpc_churn ($SECS s of RPC churn, clean SIGTERM)"
