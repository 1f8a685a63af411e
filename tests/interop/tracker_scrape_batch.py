# tracker_scrape_batch.py DOWNPOUR WORKDIR: the driver of tracker_scrape_batch.sh (see there).
# Prints what it saw; exits 1 with the reason on the first check that fails. Every wait is bounded;
# every process it starts is stopped by PID.
import base64, hashlib, json, os, random, signal, socket, subprocess, sys, time
import urllib.error, urllib.request

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


def scrapes_seen(tport):
    """opentracker's count of scrape requests, from its stats page: the lines of mode=scrp are
    its TCP scrapes, then its UDP scrapes."""
    with urllib.request.urlopen("http://127.0.0.1:%d/stats?mode=scrp" % tport, timeout=5) as r:
        lines = r.read().decode().split("\n")
    return int(lines[0]) + int(lines[1])


tport = free_port()
tracker = "udp://127.0.0.1:%d/announce" % tport
data, tdir, sdir = os.path.join(W, "data"), os.path.join(W, "torrents"), os.path.join(W, "s")
for d in (data, tdir, sdir):
    os.makedirs(d)
rnd = random.Random(48)
hashes, files = [], []
for i in range(N):
    name = "f%03d.bin" % i
    blob = rnd.randbytes(16384)
    with open(os.path.join(data, name), "wb") as f:
        f.write(blob)
    info = {"length": 16384, "name": name, "piece length": 16384,
            "pieces": hashlib.sha1(blob).digest()}
    hashes.append(hashlib.sha1(benc(info)).hexdigest())
    files.append(os.path.join(tdir, name + ".torrent"))
    with open(files[-1], "wb") as f:
        f.write(benc({"announce": tracker, "info": info}))
os.chmod(W, 0o755)
trk = os.path.join(W, "trk")
os.makedirs(trk)
os.chmod(trk, 0o755)
with open(os.path.join(trk, "whitelist.txt"), "w") as f:
    f.write("\n".join(hashes) + "\n")
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
    for f in files:
        with open(f, "rb") as fh:
            meta = base64.b64encode(fh.read()).decode()
        r = rpc(rport, sid, "torrent-add", {"metainfo": meta})
        if r.get("result") != "success":
            fail("torrent-add %s: %s" % (f, r.get("result")))
    # Every torrent announced (UDP announce replies have no 'downloaded') and then scraped.
    t0 = time.time()
    stats = []
    while time.time() - t0 < 90:
        r = rpc(rport, sid, "torrent-get", {"fields": ["id", "hashString", "trackerStats"]})
        stats = r["arguments"]["torrents"]
        done = [t for t in stats if t["trackerStats"] and t["trackerStats"][0]["hasScraped"]]
        if len(stats) == N and len(done) == N:
            break
        time.sleep(0.5)
    scraped = [t for t in stats if t["trackerStats"] and t["trackerStats"][0]["hasScraped"]]
    if len(scraped) != N:
        fail("%d of %d torrents scraped in 90 s" % (len(scraped), N))
    bad = [t for t in stats if not t["trackerStats"][0]["lastScrapeSucceeded"] or
           t["trackerStats"][0]["downloadCount"] < 0 or t["trackerStats"][0]["seederCount"] < 1]
    if bad:
        fail("%d torrents without their own scrape counts, e.g. %s" % (len(bad), bad[0]))
    n = scrapes_seen(tport) - before
    print("ok: %d torrents scraped by %d scrape requests to opentracker (UDP, up to 74 hashes "
          "each), each with its own counts (%.1f s)" % (N, n, time.time() - t0))
    if n < 1 or n > 3:
        fail("%d scrape requests for %d torrents on one tracker (expected 2, at most 3)" % (n, N))
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
    ot.terminate()
    try:
        ot.wait(timeout=5)
    except subprocess.TimeoutExpired:
        ot.kill()
        ot.wait()
print("PASS tracker_scrape_batch")
