#!/bin/bash
# rpc_http.sh: the RPC's HTTP rules from outside, with python3 urllib against a downpour daemon:
# the 409 session-id handshake, 401 with WWW-Authenticate, the Host whitelist (421), an oversized
# body (413), malformed JSON, an unknown method and wrong argument types answered without a crash.
# $1 = the downpour binary. Exit 0 = pass.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: rpc_http.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
W=$(mktemp -d /tmp/dp-rpc-http.XXXXXX)
PID=
cleanup() {
	stop_pid "$PID" 5
	rm -rf "$W"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$W/daemon.log" ] && tail -n 20 "$W/daemon.log" >&2; exit 1; }
LP=$(free_port); RP=$(free_port)
cat > "$W/d.conf" <<CONF
session_dir = "$W/sess";
download_dir = "$W/dl";
listen_address = "127.0.0.1";
listen_port = $LP;
rpc = { host_whitelist = [ "*.example.org" ]; };
CONF
"$DP" daemon --foreground --config "$W/d.conf" --rpc-port "$RP" --rpc-auth bob:pw >"$W/daemon.log" 2>&1 &
PID=$!
for _ in $(seq 1 50); do
	/usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $RP), 1)" 2>/dev/null && break
	sleep 0.1
done
kill -0 "$PID" 2>/dev/null || fail "daemon did not start"

timeout 60 /usr/bin/python3 - "$RP" <<'PY' || fail "HTTP checks failed"
import base64, json, sys, urllib.request, urllib.error
port = int(sys.argv[1])
url = "http://127.0.0.1:%d/transmission/rpc" % port
auth = "Basic " + base64.b64encode(b"bob:pw").decode()

def post(body, headers=None, path=url):
    req = urllib.request.Request(path, data=body, method="POST")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()

def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)

req = b'{"method":"session-get","tag":1}'
# 401 first (no credentials), with the challenge
code, h, _ = post(req)
check(code == 401 and "Basic" in h.get("WWW-Authenticate", ""), "401 without credentials: %d" % code)
code, _, _ = post(req, {"Authorization": "Basic " + base64.b64encode(b"bob:nope").decode()})
check(code == 401, "401 with a wrong password: %d" % code)
# 409 handshake
code, h, _ = post(req, {"Authorization": auth})
sid = h.get("X-Transmission-Session-Id")
check(code == 409 and sid and len(sid) >= 32, "409 with a session id: %d %s" % (code, sid))
H = {"Authorization": auth, "X-Transmission-Session-Id": sid}
code, _, body = post(req, H)
check(code == 200 and json.loads(body)["result"] == "success", "200 with the id")
check(json.loads(body)["tag"] == 1, "tag echoed")
code, _, _ = post(req, dict(H, **{"X-Transmission-Session-Id": "0" * 48}))
check(code == 409, "a wrong id gets 409: %d" % code)
# Host whitelist
for host, want in (("evil.example.com", 421), ("rebind.attacker.net:9091", 421),
                   ("localhost:9091", 200), ("ok.example.org", 200), ("127.0.0.1", 200),
                   ("[::1]:%d" % port, 200)):
    code, _, _ = post(req, dict(H, Host=host))
    check(code == want, "Host %s: %d, want %d" % (host, code, want))
# oversized body (the limit is 16 MiB)
# (announced by Content-Length: the server answers before reading the body, then closes)
import socket
s = socket.create_connection(("127.0.0.1", port), 10)
s.sendall(("POST /transmission/rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
           "X-Transmission-Session-Id: %s\r\nContent-Length: %d\r\n\r\n" %
           (auth, sid, 17 * 1024 * 1024)).encode() + b" " * 4096)
status = s.recv(4096).split(b"\r\n")[0]
s.close()
check(b" 413 " in status, "oversized body: %r" % status)
# malformed JSON, unknown method, wrong types: an error result, never a crash
for body, needle in ((b"{not json", "invalid JSON"), (b"[1,2]", "no method"),
                     (b'{"method":"nope"}', "not recognized"),
                     (b'{"method":"torrent-get","arguments":{"ids":{}}}', "invalid torrent id"),
                     (b'{"method":"session-set","arguments":{"speed-limit-up":"x"}}', "integer"),
                     (b'{"method":"torrent-add","arguments":{"metainfo":12}}', "string"),
                     (b'{"method":"torrent-add","arguments":{"metainfo":"@@@"}}', "base64"),
                     (b'{"method":"torrent-set","arguments":{"files-wanted":"all"}}', "list"),
                     (b"\xff\xfe\x00", "invalid JSON")):
    code, _, out = post(body, H)
    check(code == 200, "%r: HTTP %d" % (body, code))
    res = json.loads(out)["result"]
    check(res != "success" and needle in res, "%r: result %r" % (body, res))
# wrong path: 404; the web client's pages take GET only: a POST there gets 405 and Allow
code, _, _ = post(req, H, "http://127.0.0.1:%d/transmission/nothing" % port)
check(code == 404, "wrong path: %d" % code)
code, h, _ = post(req, H, "http://127.0.0.1:%d/transmission/web/" % port)
check(code == 405 and "GET" in h.get("Allow", ""), "POST to the web client: %d %r" % (code, h))
# JSON-RPC 2.0
code, _, out = post(b'{"jsonrpc":"2.0","method":"session_get","params":{"fields":["version"]},"id":9}', H)
j = json.loads(out)
check(j.get("id") == 9 and "(downpour " in j["result"]["version"], "JSON-RPC 2.0: %r" % j)
# still alive
code, _, _ = post(req, H)
check(code == 200, "server alive at the end")
print("http checks ok")
PY
kill -0 "$PID" 2>/dev/null || fail "the daemon died"
echo "PASS: RPC HTTP rules"
exit 0
