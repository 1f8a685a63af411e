# trpc.py: a Transmission RPC client for the interop tests (imported, not run): the 409
# session-id handshake, Basic authentication, Transmission's envelope or JSON-RPC 2.0, bounded
# timeouts. Used against downpour and transmission-daemon alike.
import base64
import json
import sys
import time
import urllib.error
import urllib.request


class RpcError(Exception):
    pass


class Rpc:
    def __init__(self, port, user=None, password=None, host="127.0.0.1", path="/transmission/rpc"):
        self.url = "http://%s:%d%s" % (host, port, path)
        self.sid = ""
        self.auth = None
        if user is not None:
            self.auth = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()

    def raw(self, body, timeout=15):
        """POSTs body (bytes); returns the decoded JSON answer (None for an empty body)."""
        for _ in range(3):
            req = urllib.request.Request(self.url, data=body, method="POST")
            req.add_header("X-Transmission-Session-Id", self.sid)
            req.add_header("Content-Type", "application/json")
            if self.auth:
                req.add_header("Authorization", self.auth)
            try:
                with urllib.request.urlopen(req, timeout=timeout) as r:
                    data = r.read()
                    return json.loads(data) if data else None
            except urllib.error.HTTPError as e:
                if e.code != 409:
                    raise RpcError("HTTP %d from %s" % (e.code, self.url))
                self.sid = e.headers.get("X-Transmission-Session-Id", "")
        raise RpcError("no session id accepted by %s" % self.url)

    def call(self, method, args=None, timeout=15):
        """Transmission's envelope: returns (result string, arguments dict)."""
        body = {"method": method}
        if args is not None:
            body["arguments"] = args
        ans = self.raw(json.dumps(body).encode(), timeout)
        return ans.get("result"), ans.get("arguments", {})

    def ok(self, method, args=None):
        """Like call, but anything other than success raises."""
        res, a = self.call(method, args)
        if res != "success":
            raise RpcError("%s %s: %s" % (method, json.dumps(args), res))
        return a

    def torrents(self, fields, ids=None):
        args = {"fields": fields}
        if ids is not None:
            args["ids"] = ids
        return self.ok("torrent-get", args)


class Checks:
    """check(name, cond, detail): prints one ok/FAIL line; failed lists the names that failed."""

    def __init__(self):
        self.failed = []

    def __call__(self, name, cond, detail=""):
        print("%s %s%s" % ("ok  " if cond else "FAIL", name, (": " + str(detail)) if detail else ""),
              flush=True)
        if not cond:
            self.failed.append(name)


def wait_for(what, cond, secs, step=0.3):
    """Polls cond() every step seconds; after secs prints a FAIL line and exits 1."""
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(step)
    print("FAIL timed out after %d s waiting for %s" % (secs, what), flush=True)
    sys.exit(1)


def add_started(c, path, ddir):
    """torrent-add of the .torrent at path into ddir, started; returns its id."""
    meta = base64.b64encode(open(path, "rb").read()).decode()
    a = c.ok("torrent-add", {"metainfo": meta, "download-dir": ddir, "paused": False})
    return (a.get("torrent-added") or a.get("torrent-duplicate"))["id"]


def field_of(c, tid, fields):
    """One torrent's fields (torrent-get)."""
    return c.torrents(fields, [tid])["torrents"][0]
