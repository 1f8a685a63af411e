#!/usr/bin/python3
# rpc_call.py PORT METHOD [ARGS_JSON]: one Transmission RPC call (with the 409 handshake); prints
# the answer's JSON and exits 1 unless its result is "success".
import json, sys, urllib.request, urllib.error
port, method = int(sys.argv[1]), sys.argv[2]
args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
url = "http://127.0.0.1:%d/transmission/rpc" % port
body = json.dumps({"method": method, "arguments": args}).encode()
sid = ""
for _ in range(2):
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("X-Transmission-Session-Id", sid)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            ans = json.load(r)
            print(json.dumps(ans))
            sys.exit(0 if ans.get("result") == "success" else 1)
    except urllib.error.HTTPError as e:
        if e.code != 409:
            print("HTTP %d" % e.code)
            sys.exit(1)
        sid = e.headers.get("X-Transmission-Session-Id", "")
sys.exit(1)
