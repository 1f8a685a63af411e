# tracker_scrape_batch.py DOWNPOUR WORKDIR: the driver of tracker_scrape_batch.sh (see there).
# Prints what it saw; exits 1 with the reason on the first check that fails. Every wait is bounded;
# every process it starts is stopped by PID.
import base64, hashlib, http.server, json, os, random, signal, socket, subprocess, sys, threading
import time, urllib.error, urllib.parse, urllib.request

DP, W = sys.argv[1], sys.argv[2]
N = 100
USER, PASS = "u", "p"


def fail(msg):
    print("FAIL: " + msg)
    for f in ("s/downpour.log", "daemon.err"):
        p = os.path.join(W, f)
        if os.path.exists(p):
            with open(p, errors="replace") as fh:
                print("== " + p + "\n" + "".join(fh.readlines()[-30:]))
    sys.exit(1)


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def benc(x):
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, str):
        x = x.encode()
    if isinstance(x, bytes):
        return b"%d:%s" % (len(x), x)
    if isinstance(x, list):
        return b"l" + b"".join(benc(i) for i in x) + b"e"
    return b"d" + b"".join(benc(k) + benc(x[k]) for k in sorted(x)) + b"e"


def rpc(port, sid, method, args=None):
    body = json.dumps({"method": method, "arguments": args or {}}).encode()
    auth = "Basic " + base64.b64encode(("%s:%s" % (USER, PASS)).encode()).decode()
    for _ in range(3):
        req = urllib.request.Request("http://127.0.0.1:%d/transmission/rpc" % port, data=body,
                                     method="POST")
        req.add_header("X-Transmission-Session-Id", sid[0])
        req.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            if e.code != 409:
                raise
            sid[0] = e.headers.get("X-Transmission-Session-Id", "")
    raise RuntimeError("no session id")


def metric(port, name):
    """One unlabelled figure of the daemon's /metrics."""
    req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port)
    req.add_header("Authorization", "Basic " + base64.b64encode(
        ("%s:%s" % (USER, PASS)).encode()).decode())
    with urllib.request.urlopen(req, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return int(float(line.split()[1]))
    fail("/metrics has no %s" % name)


def scrapes_seen(tport):
    """opentracker's count of scrape requests, from its stats page: the lines of mode=scrp are
    its TCP scrapes, then its UDP scrapes."""
    with urllib.request.urlopen("http://127.0.0.1:%d/stats?mode=scrp" % tport, timeout=5) as r:
        lines = r.read().decode().split("\n")
    return int(lines[0]) + int(lines[1])


class Stub:
    """An HTTP tracker on loopback whose announce replies have no 'downloaded' (so each torrent
    scrapes) and whose scrape replies leave out one hash; it counts scrape requests and hashes."""
    missing = b""
    scrapes = hashes = 0
    lock = threading.Lock()


class StubHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        path, _, query = self.path.partition("?")
        asked = [urllib.parse.unquote_to_bytes(v) for k, _, v in
                 (p.partition("=") for p in query.split("&")) if k == "info_hash"]
        if path == "/announce":
            body = b"d8:completei1e10:incompletei0e8:intervali1800e5:peers0:e"
        elif path == "/scrape":
            with Stub.lock:
                Stub.scrapes += 1
                Stub.hashes += len(asked)
            files = {h: {"complete": 1, "incomplete": 0, "downloaded": 1000 + h[0]}
                     for h in asked if h != Stub.missing}
            body = benc({"files": files})
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


tport = free_port()
tracker = "udp://127.0.0.1:%d/announce" % tport
class StubServer(http.server.ThreadingHTTPServer):
    request_queue_size = 128    # the default 5 drops SYNs of 32 stopped announces at once


stub = StubServer(("127.0.0.1", 0), StubHandler)
stub_url = "http://127.0.0.1:%d/announce" % stub.server_address[1]
threading.Thread(target=stub.serve_forever, daemon=True).start()
data, tdir, sdir = os.path.join(W, "data"), os.path.join(W, "torrents"), os.path.join(W, "s")
for d in (data, tdir, sdir):
    os.makedirs(d)
rnd = random.Random(48)
hashes, files = [], []
# N torrents on opentracker (UDP), then N on the HTTP stub.
for i in range(2 * N):
    name = "f%03d.bin" % i
    blob = rnd.randbytes(16384)
    with open(os.path.join(data, name), "wb") as f:
        f.write(blob)
    info = {"length": 16384, "name": name, "piece length": 16384,
            "pieces": hashlib.sha1(blob).digest()}
    hashes.append(hashlib.sha1(benc(info)).hexdigest())
    files.append(os.path.join(tdir, name + ".torrent"))
    with open(files[-1], "wb") as f:
        f.write(benc({"announce": tracker if i < N else stub_url, "info": info}))
Stub.missing = bytes.fromhex(hashes[N + 17])
os.chmod(W, 0o755)
trk = os.path.join(W, "trk")
os.makedirs(trk)
os.chmod(trk, 0o755)
with open(os.path.join(trk, "whitelist.txt"), "w") as f:
    f.write("\n".join(hashes[:N]) + "\n")
os.chmod(os.path.join(trk, "whitelist.txt"), 0o644)

ot = subprocess.Popen(["opentracker", "-i", "127.0.0.1", "-p", str(tport), "-P", str(tport),
                       "-A", "127.0.0.1", "-d", trk, "-w", "whitelist.txt"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
dp = None
try:
    for _ in range(50):
        try:
            before = scrapes_seen(tport)
            break
        except OSError:
            time.sleep(0.1)
    else:
        fail("opentracker did not start")
    rport, pport = free_port(), free_port()
    conf = os.path.join(W, "dp.conf")
    with open(conf, "w") as f:
        f.write('listen_address = "127.0.0.1";\n')
    err = open(os.path.join(W, "daemon.err"), "ab")
    dp = subprocess.Popen([DP, "daemon", "--foreground", "--config", conf, "--session", sdir,
                           "--download-dir", data, "--port", str(pport), "--rpc", "--rpc-port",
                           str(rport), "--rpc-auth", "%s:%s" % (USER, PASS)],
                          stdout=err, stderr=err)
    sid = [""]
    for _ in range(300):
        try:
            rpc(rport, sid, "session-get")
            break
        except Exception:
            if dp.poll() is not None:
                fail("the daemon exited with %s" % dp.returncode)
            time.sleep(0.1)
    else:
        fail("the daemon's RPC did not answer")
    for f in files[:N]:
        with open(f, "rb") as fh:
            meta = base64.b64encode(fh.read()).decode()
        r = rpc(rport, sid, "torrent-add", {"metainfo": meta})
        if r.get("result") != "success":
            fail("torrent-add %s: %s" % (f, r.get("result")))

    def scraped_all(want):
        """Polls until every torrent of want (info-hashes) has been scraped (90 s at most)."""
        t0 = time.time()
        stats = []
        while time.time() - t0 < 90:
            r = rpc(rport, sid, "torrent-get", {"fields": ["hashString", "trackerStats"]})
            stats = [t for t in r["arguments"]["torrents"] if t["hashString"] in want]
            done = [t for t in stats if t["trackerStats"] and t["trackerStats"][0]["hasScraped"]]
            if len(stats) == len(want) and len(done) == len(want):
                break
            time.sleep(0.5)
        done = [t for t in stats if t["trackerStats"] and t["trackerStats"][0]["hasScraped"]]
        if len(done) != len(want):
            fail("%d of %d torrents scraped in 90 s" % (len(done), len(want)))
        return stats, time.time() - t0

    # Every torrent announced (UDP announce replies have no 'downloaded') and then scraped.
    stats, took = scraped_all(set(hashes[:N]))
    bad = [t for t in stats if not t["trackerStats"][0]["lastScrapeSucceeded"] or
           t["trackerStats"][0]["downloadCount"] < 0 or t["trackerStats"][0]["seederCount"] < 1]
    if bad:
        fail("%d torrents without their own scrape counts, e.g. %s" % (len(bad), bad[0]))
    n = scrapes_seen(tport) - before
    print("ok: %d torrents scraped by %d scrape requests to opentracker (UDP, up to 74 hashes "
          "each), each with its own counts (%.1f s)" % (N, n, took))
    if n < 1 or n > 3:
        fail("%d scrape requests for %d torrents on one tracker (expected 2, at most 3)" % (n, N))

    # HTTP (BEP 48 repeated info_hash): N torrents on the stub, one hash left out of its replies.
    for f in files[N:]:
        with open(f, "rb") as fh:
            meta = base64.b64encode(fh.read()).decode()
        r = rpc(rport, sid, "torrent-add", {"metainfo": meta})
        if r.get("result") != "success":
            fail("torrent-add %s: %s" % (f, r.get("result")))
    stats, took = scraped_all(set(hashes[N:]))
    for t in stats:
        ts = t["trackerStats"][0]
        if t["hashString"] == Stub.missing.hex():
            if ts["lastScrapeSucceeded"] or "does not list this torrent" not in ts["lastScrapeResult"]:
                fail("the hash left out of the reply: %s" % ts)
        elif not ts["lastScrapeSucceeded"] or \
                ts["downloadCount"] != 1000 + bytes.fromhex(t["hashString"])[0]:
            fail("a torrent without its own scrape counts: %s" % ts)
    print("ok: %d torrents scraped by %d HTTP scrape requests (%d hashes asked, up to 50 each); "
          "the one left out of the reply says '%s' (%.1f s)" % (N, Stub.scrapes, Stub.hashes,
          [t for t in stats if t["hashString"] == Stub.missing.hex()][0]["trackerStats"][0]
          ["lastScrapeResult"], took))
    if Stub.scrapes < 1 or Stub.scrapes > 3 or Stub.hashes != N:
        fail("%d HTTP scrape requests asking %d hashes for %d torrents (expected at most 3, %d)"
             % (Stub.scrapes, Stub.hashes, N, N))
    # /metrics counts the same requests: the stub's, and opentracker's (which counts a
    # retransmitted one twice), 2 N hashes in them.
    mb = metric(rport, "downpour_tracker_scrape_batches_total")
    mh = metric(rport, "downpour_tracker_scrape_batch_hashes_total")
    print("ok: /metrics counts %d scrape batches asking %d hashes" % (mb, mh))
    if not Stub.scrapes + 1 <= mb <= Stub.scrapes + n or mh != 2 * N:
        fail("/metrics counts %d scrape batches asking %d hashes (expected %d to %d, %d)"
             % (mb, mh, Stub.scrapes + 1, Stub.scrapes + n, 2 * N))
    t1 = time.time()
    dp.send_signal(signal.SIGTERM)
    try:
        rc = dp.wait(timeout=15)
    except subprocess.TimeoutExpired:
        fail("SIGTERM did not end the daemon in 15 s")
    print("ok: SIGTERM ended the daemon in %.2f s (exit %d)" % (time.time() - t1, rc))
    if rc != 0:
        fail("the daemon exited with %d" % rc)
    dp = None
finally:
    if dp is not None and dp.poll() is None:
        dp.kill()
        dp.wait()
    stub.shutdown()
    ot.terminate()
    try:
        ot.wait(timeout=5)
    except subprocess.TimeoutExpired:
        ot.kill()
        ot.wait()
print("PASS tracker_scrape_batch")
