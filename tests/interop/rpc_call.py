#!/usr/bin/python3
# rpc_call.py PORT METHOD [ARGS_JSON]: one Transmission RPC call (with the 409 handshake); prints
# the answer's JSON and exits 1 unless its result is "success". With DP_RPC_CREDENTIALS set, the
# USER:PASSWORD in that file (a daemon's SESSION/rpc-credentials) is sent as Basic authentication.
import base64, json, os, sys, urllib.request, urllib.error
port, method = int(sys.argv[1]), sys.argv[2]
args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
url = "http://127.0.0.1:%d/transmission/rpc" % port
body = json.dumps({"method": method, "arguments": args}).encode()
sid = ""
auth = None
if os.environ.get("DP_RPC_CREDENTIALS"):
    with open(os.environ["DP_RPC_CREDENTIALS"]) as f:
        auth = "Basic " + base64.b64encode(f.read().strip().encode()).decode()
for _ in range(2):
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("X-Transmission-Session-Id", sid)
    if auth:
        req.add_header("Authorization", auth)
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
