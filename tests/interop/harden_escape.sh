#!/bin/bash
# harden_escape.sh: outside text never reaches a terminal or the log raw (issue 11, finding 11).
# A daemon in the foreground gets an RPC Host header, a method name and a session-set value
# carrying ESC, OSC (title), BEL, C1 CSI and newlines that forge a "downpour: error:" line;
# `downpour get` gets a torrent whose tracker URL and name do the same. Its stderr, the log file,
# `downpour monitor ps`/`log` and get's output must hold no control byte but \n, no C1 control,
# no forged line, and show the escapes instead (\x1b, \u009b, \n).
# $1 = the downpour binary.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: harden_escape.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
W=$(mktemp -d /tmp/dp-harden-escape.XXXXXX)
DPID= GPID=
cleanup() {
	stop_pid "$GPID"
	stop_pid "$DPID"
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
# clean FILE WHAT: FILE has no raw control byte (but \n), no C1 control, no forged line.
clean() {
	/usr/bin/python3 - "$1" "$2" <<'PY' || exit 1
import re, sys
path, what = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
bad = re.search(rb"[\x00-\x09\x0b-\x1f\x7f]", data)
if bad:
    at = bad.start()
    print("FAIL: %s: raw control byte 0x%02x at %d: %r" % (what, data[at], at, data[max(0, at - 40):at + 40]))
    sys.exit(1)
text = data.decode("utf-8", "replace")
c1 = re.search("[\u0080-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]", text)
if c1:
    print("FAIL: %s: raw U+%04X: %r" % (what, ord(c1.group()), text[max(0, c1.start() - 40):c1.start() + 40]))
    sys.exit(1)
if b"\x9b" in data.replace(b"\xc2\x9b", b""):
    print("FAIL: %s: a raw 0x9b byte" % what); sys.exit(1)
for line in text.splitlines():
    if re.match(r"^(downpour: error: forged|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[error\] forged)", line):
        print("FAIL: %s: a forged line: %r" % (what, line)); sys.exit(1)
PY
}
# shows FILE PATTERN WHAT: the escaped form is there (the text was logged, made visible).
shows() { grep -qF -- "$2" "$1" || fail "$3: no '$2' in $(head -c 3000 "$1")"; }

RP=$(free_port)
mkdir -p "$W/s" "$W/dl"
printf 'listen_address = "127.0.0.1";\nlog_level = "debug";\n' > "$W/d.conf"
"$DP" daemon --foreground --config "$W/d.conf" --session "$W/s" --download-dir "$W/dl" \
    --port "$(free_port)" --rpc-no-auth --rpc-port "$RP" >"$W/daemon.out" 2>"$W/daemon.err" &
DPID=$!
wait_log "daemon running" 10 "$W/s/downpour.log" || fail "daemon start: $(cat "$W/daemon.err")"

/usr/bin/python3 - "$RP" <<'PY' || fail "the hostile RPC requests"
import json, socket, sys
port = int(sys.argv[1])
EVIL = "\x1b]0;pwned\x07\x1b[2J\u009b31m\ndownpour: error: forged\r"
def raw(host, body=b"", sid=""):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    req = (b"POST /transmission/rpc HTTP/1.1\r\nHost: " + host + b"\r\n" +
           (b"X-Transmission-Session-Id: " + sid.encode() + b"\r\n" if sid else b"") +
           b"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    s.sendall(req)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out
# A Host header with ESC, OSC, BEL and a raw C1 CSI byte: refused and logged.
ans = raw(b"evil\x1b]0;pwned\x07\x9b31m.example")
if b" 421 " not in ans.split(b"\r\n")[0]:
    print("Host: unexpected answer %r" % ans[:80]); sys.exit(1)
# The session id, then a method name and a session-set value that carry the same.
ans = raw(b"127.0.0.1", b"{}")
sid = [l.split(b": ", 1)[1].decode() for l in ans.split(b"\r\n") if l.lower().startswith(b"x-transmission-session-id:")][0]
raw(b"127.0.0.1", json.dumps({"method": "x" + EVIL, "arguments": {}}).encode(), sid)
raw(b"127.0.0.1", json.dumps({"method": "session-set", "arguments": {"script-torrent-done-filename": "/bin/true" + EVIL, "script-torrent-done-enabled": False}}).encode(), sid)
raw(b"127.0.0.1", json.dumps({"method": "session-set", "arguments": {"download-dir": "/tmp" + EVIL}}).encode(), sid)
PY
"$DP" monitor --session "$W/s" ps >"$W/mon-ps.out" 2>&1
"$DP" monitor --session "$W/s" log 200 >"$W/mon-log.out" 2>&1
kill -TERM "$DPID"
wait_gone "$DPID" 15 || fail "the daemon did not stop"
DPID=
for f in daemon.err daemon.out s/downpour.log mon-ps.out mon-log.out; do clean "$W/$f" "$f"; done
shows "$W/s/downpour.log" "\\x1b]0;pwned\\x07" "the log file (Host)"
shows "$W/s/downpour.log" "\\n" "the log file"
shows "$W/daemon.err" "\\x1b" "the daemon's stderr"
shows "$W/mon-log.out" "\\x1b" "monitor log"

# downpour get: a torrent whose name and tracker URL carry the same, the tracker unreachable.
/usr/bin/python3 - "$W" "$(dirname "$0")" <<'PY' || fail "making the torrent"
import sys
w = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from benc import be, pieces as pieces_of
data = b"x" * 40000
pieces = pieces_of(data, 16384)
evil = "\x1b]0;pwned\x07\u009b2J\ndownpour: error: forged "
info = {"name": "n" + evil, "piece length": 16384, "length": len(data), "pieces": pieces}
open(w + "/evil.torrent", "wb").write(be({"announce": "http://127.0.0.1:1/a" + evil + "x", "info": info}))
PY
# Loopback only: with the DHT on by default, a client listening everywhere would reach out.
printf 'listen_address = "127.0.0.1";\n' >"$W/lo.conf"
"$DP" get --config "$W/lo.conf" -o "$W/dl" --port "$(free_port)" "$W/evil.torrent" \
    >"$W/get.out" 2>"$W/get.err" &
GPID=$!
sleep 6
stop_pid "$GPID"
GPID=
clean "$W/get.out" "get's stdout"
clean "$W/get.err" "get's stderr"
shows "$W/get.err" "\\x1b]0;pwned\\x07" "get's stderr (tracker URL)"
echo "PASS: harden_escape"
