# scale_driver.py DOWNPOUR WORKDIR N: the phases of tests/bench/scale.sh (see there). Prints one
# line of figures per phase and a summary table; asserts nothing. Every wait is bounded by
# SCALE_PHASE_SECS; every process it starts is stopped by PID.
import asyncio, base64, hashlib, json, os, random, re, signal, socket, statistics, subprocess
import sys, threading, time, urllib.error, urllib.request

DP, W, N = sys.argv[1], sys.argv[2], int(sys.argv[3])
PHASE_SECS = float(os.environ.get("SCALE_PHASE_SECS", "600"))
NPEERS = int(os.environ.get("SCALE_PEERS", "1000"))
PHASES = os.environ.get("SCALE_PHASES", "watch stop restart idle get rpc-add swarm").split()
USER, PASS = "bench", "bench-secret"
CLK = os.sysconf("SC_CLK_TCK")
results = []


def say(msg):
    print(msg, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# ---- bencode and torrents ----

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


def make_torrents(n, tracker, data_dir, out_dir):
    os.makedirs(data_dir, exist_ok=True)
    os.makedirs(out_dir, exist_ok=True)
    hashes = []
    rnd = random.Random(n)
    for i in range(n):
        name = "f%05d.bin" % i
        data = rnd.randbytes(16384)
        with open(os.path.join(data_dir, name), "wb") as f:
            f.write(data)
        info = {"length": 16384, "name": name, "piece length": 16384,
                "pieces": hashlib.sha1(data).digest()}
        hashes.append(hashlib.sha1(benc(info)).hexdigest())
        with open(os.path.join(out_dir, name + ".torrent"), "wb") as f:
            f.write(benc({"announce": tracker, "info": info}))
    return hashes


# ---- processes ----

def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / CLK


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Daemon:
    def __init__(self, name, watch=False, extra_conf=""):
        self.sdir = os.path.join(W, name)
        os.makedirs(self.sdir, exist_ok=True)
        self.port, self.rpc_port = free_port(), free_port()
        self.watch = os.path.join(W, name + "-watch") if watch else None
        if self.watch:
            os.makedirs(self.watch, exist_ok=True)
        self.conf = os.path.join(W, name + ".conf")
        with open(self.conf, "w") as f:
            f.write('listen_address = "127.0.0.1";\n' + extra_conf)
        self.proc = None
        self.sid = ""

    def start(self):
        args = [DP, "daemon", "--foreground", "--config", self.conf, "--session", self.sdir,
                "--download-dir", os.path.join(W, "data"), "--port", str(self.port), "--rpc",
                "--rpc-port", str(self.rpc_port), "--rpc-auth", "%s:%s" % (USER, PASS)]
        if self.watch:
            args += ["--watch-dir", self.watch]
        self.err = open(os.path.join(W, os.path.basename(self.sdir) + ".err"), "ab")
        self.proc = subprocess.Popen(args, stdout=self.err, stderr=self.err)
        return self

    def pid(self):
        return self.proc.pid

    def rpc(self, method, args=None, timeout=60):
        body = json.dumps({"method": method, "arguments": args or {}}).encode()
        auth = "Basic " + base64.b64encode(("%s:%s" % (USER, PASS)).encode()).decode()
        for _ in range(3):
            req = urllib.request.Request("http://127.0.0.1:%d/transmission/rpc" % self.rpc_port,
                                         data=body, method="POST")
            req.add_header("X-Transmission-Session-Id", self.sid)
            req.add_header("Authorization", auth)
            try:
                with urllib.request.urlopen(req, timeout=timeout) as r:
                    raw = r.read()
                    return json.loads(raw), len(raw)
            except urllib.error.HTTPError as e:
                if e.code != 409:
                    raise
                self.sid = e.headers.get("X-Transmission-Session-Id", "")
        raise RuntimeError("no session id")

    def wait_rpc(self, secs=30):
        end = time.time() + secs
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("daemon exited with %s" % self.proc.returncode)
            try:
                self.rpc("session-get", timeout=2)
                return True
            except Exception:
                time.sleep(0.1)
        return False

    def health(self):
        """(lag_us, lag_max_us, [(wall_us, cpu_us, task name, ended)] slowest by wall time,
        [(wall_us, cpu_us, task name, ended)] most CPU) from `downpour monitor health` (all the
        last minute's; cpu_us None when the daemon does not say; ended: time.time() then)."""
        try:
            t = time.time()
            out = subprocess.run([DP, "monitor", "--session", self.sdir, "health"],
                                 capture_output=True, text=True, timeout=30).stdout
        except subprocess.TimeoutExpired:
            return None
        lag = lagmax = 0
        slow, heavy = [], []
        for line in out.splitlines():
            m = re.match(r"# loop: lag (\S+) \(max (\S+) in the last minute\)", line)
            if m:
                lag, lagmax = dur_us(m.group(1)), dur_us(m.group(2))
            m = re.match(r"# slow callback: (\S+)(?: \(cpu ([^,)]+)[^)]*\))? (\S+) ago in task "
                         r"\d+ (.*)", line)
            if m:
                cpu = dur_us(m.group(2)) if m.group(2) else None
                slow.append((dur_us(m.group(1)), cpu, m.group(4), t - dur_us(m.group(3)) / 1e6))
            m = re.match(r"# cpu callback: (\S+) cpu \(wall ([^,)]+)[^)]*\) (\S+) ago in task "
                         r"\d+ (.*)", line)
            if m:
                heavy.append((dur_us(m.group(2)), dur_us(m.group(1)), m.group(4),
                              t - dur_us(m.group(3)) / 1e6))
        return lag, lagmax, slow, heavy

    def stop(self, secs=PHASE_SECS):
        """SIGTERM; seconds until gone (SIGKILL after secs: returns None)."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        t0 = time.time()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=secs)
            return time.time() - t0
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def log_hashed(self):
        os.kill(self.pid(), signal.SIGUSR1)
        time.sleep(1)
        try:
            with open(os.path.join(self.sdir, "downpour.log")) as f:
                found = re.findall(r"pieces hashed since start: (\d+)", f.read())
            return int(found[-1]) if found else None
        except OSError:
            return None


def dur_us(s):
    m = re.match(r"^([\d.]+)(ms|s)$", s)
    if m:
        return float(m.group(1)) * (1000 if m.group(2) == "ms" else 1e6)
    m = re.match(r"^(\d+)m(\d+)s$", s)
    if m:
        return (int(m.group(1)) * 60 + int(m.group(2))) * 1e6
    m = re.match(r"^(\d+)h(\d+)m$", s)
    if m:
        return (int(m.group(1)) * 3600 + int(m.group(2)) * 60) * 1e6
    return 0.0


class HealthSampler:
    """Samples loop health every period s in a thread; keeps lags, the worst callback by wall
    time and the one with the most CPU (of a task whose name has match, when given): on a busy
    machine a callback's wall time may be mostly the scheduler's, its CPU is its own."""
    def __init__(self, d, period=2.0, match=None, since=None):
        self.d, self.period, self.lags = d, period, []
        self.worst = (0, None, "")       # (wall_us, cpu_us, name), the most wall time
        self.worst_cpu = (0, 0, "")      # (cpu_us, wall_us, name), the most CPU
        self.match = match
        self.by_task = {}     # the worst callback of each task name seen among the slowest
        # The lists are the last minute's: callbacks that ended before the phase began (since,
        # default now; the phase before's) are left out. When none of the phase's is listed,
        # each was below the listed ones: floor is the most the shortest listed took.
        self.t0 = since if since is not None else time.time()
        self.floor = 0
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def sample(self):
        h = self.d.health()
        if h is None:
            return
        self.lags.append(h[0])
        if len(h[2]) >= 8:
            self.floor = max(self.floor, min(e[0] for e in h[2]))
        # (a second of slack: "ago" is rounded, and the monitor's clock is read apart)
        h = (h[0], h[1], [e for e in h[2] if e[3] >= self.t0 - 1],
             [e for e in h[3] if e[3] >= self.t0 - 1])
        for us, cpu, name, _ in h[2]:
            if us > self.worst[0] and (self.match is None or self.match in name):
                self.worst = (us, cpu, name)
            self.by_task[name] = max(us, self.by_task.get(name, 0))
        for us, cpu, name, _ in h[2] + h[3]:
            if cpu is not None and cpu > self.worst_cpu[0] and (self.match is None or
                                                               self.match in name):
                self.worst_cpu = (cpu, us, name)

    def text(self):
        """The worst callback by wall time (with its CPU) and the one with the most CPU."""
        w, c = self.worst, self.worst_cpu
        if not w[0]:
            return "none among the last minute's 8 slowest (each below %s)" % fmt_ms(self.floor)
        cpu = "" if w[1] is None else ", cpu %s" % fmt_ms(w[1])
        return "wall %s (%s%s); cpu %s (%s, wall %s)" % (
            fmt_ms(w[0]), w[2][:50], cpu, fmt_ms(c[0]), c[2][:50], fmt_ms(c[1]))

    def worst_of(self, prefix):
        """The worst callback of the tasks whose name starts with prefix (0: none seen)."""
        return max([us for name, us in self.by_task.items() if name.startswith(prefix)] or [0])

    def run(self):
        while not self.stop_ev.wait(self.period):
            self.sample()

    def done(self):
        self.stop_ev.set()
        self.t.join(timeout=60)
        self.sample()     # the slowest callbacks of the last minute include the phase's end
        return self


def count_listed(d, fields=("id",)):
    t0 = time.time()
    a, size = d.rpc("torrent-get", {"fields": list(fields)})
    return a["arguments"]["torrents"], time.time() - t0


def fmt_ms(us):
    return "%.1f ms" % (us / 1000.0)


def record(phase, **kv):
    results.append((phase, kv))
    say("%-8s " % phase + ", ".join("%s %s" % (k, v) for k, v in kv.items()))


# ---- phases ----

def phase_watch(tracker):
    d = Daemon("s-watch", watch=True).start()
    if not d.wait_rpc():
        record("watch", error="RPC did not answer")
        return d
    time.sleep(2)
    global EMPTY_RSS
    EMPTY_RSS = proc_rss_kib(d.pid())
    src = os.path.join(W, "torrents")
    staging = os.path.join(W, "staging")
    os.makedirs(staging, exist_ok=True)
    names = sorted(os.listdir(src))
    for name in names:
        os.link(os.path.join(src, name), os.path.join(staging, name))
    sampler = HealthSampler(d)
    t0 = time.time()
    # As a user's `mv` does: each file appears whole (IN_MOVED_TO).
    for name in names:
        os.rename(os.path.join(staging, name), os.path.join(d.watch, name))
    worst_rpc, listed = 0.0, 0
    while time.time() - t0 < PHASE_SECS:
        try:
            got, took = count_listed(d)
            listed = len(got)
            worst_rpc = max(worst_rpc, took)
        except Exception:
            worst_rpc = max(worst_rpc, 60.0)
        if listed >= N:
            break
        time.sleep(1)
    took = time.time() - t0
    sampler.done()
    record("watch", added="%d/%d" % (listed, N),
           time="%.1f s" % took + ("" if listed >= N else " (phase limit)"),
           rpc_worst="%.2f s" % worst_rpc, worst_callback=sampler.text(),
           watch_task_worst=fmt_ms(sampler.worst_of("watch ")))
    return d


TRACKER_PORT = [0]


def tracker_conns():
    """Our TCP connections to the tracker now (not TIME-WAIT): its load during a phase."""
    if not TRACKER_PORT[0]:
        return 0
    try:
        out = subprocess.run(["ss", "-Htn", "state", "connected", "exclude", "time-wait",
                              "( dport = :%d )" % TRACKER_PORT[0]], capture_output=True,
                             text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return len(out.splitlines())


def phase_stop(d, label="stop"):
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.wait(0.02):
            peak[0] = max(peak[0], tracker_conns())
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    took = d.stop()
    done.set()
    sampler.join(10)
    worst = "?"
    try:
        with open(os.path.join(d.sdir, "downpour.log"), "rb") as f:
            f.seek(max(0, os.path.getsize(f.name) - (1 << 20)))
            tail = f.read().decode("utf-8", "replace")
        found = re.findall(r"stop: (slowest callback .*|no callback.*)", tail)
        worst = found[-1] if found else "?"
        # the one with the most CPU apart: the slowest may be the scheduler's wall time
        found = re.findall(r"stop: most CPU callback (.*)", tail)
        if found:
            worst += "; most CPU %s" % found[-1]
    except OSError:
        pass
    record(label, shutdown="%.2f s" % took if took is not None else "killed after %d s" % PHASE_SECS,
           worst=worst, tracker_conns_peak=peak[0])


def phase_restart(d):
    t0 = time.time()
    d.start()
    d.wait_rpc(PHASE_SECS)
    sampler = HealthSampler(d, since=t0)     # the start before the RPC answered too
    listed, checking = 0, N
    first_all = None
    while time.time() - t0 < PHASE_SECS:
        try:
            got, _ = count_listed(d, ("id", "status"))
        except Exception:
            time.sleep(0.5)
            continue
        listed = len(got)
        if listed >= N and first_all is None:
            first_all = time.time() - t0
        checking = sum(1 for t in got if t["status"] in (1, 2))
        if listed >= N and checking == 0:
            break
        time.sleep(0.2)
    took = time.time() - t0
    sampler.done()
    states = {}
    try:
        got, _ = count_listed(d, ("id", "status"))
        for t in got:
            states[t["status"]] = states.get(t["status"], 0) + 1
    except Exception:
        pass
    names = {0: "stopped", 1: "check-wait", 2: "checking", 3: "dl-wait", 4: "downloading",
             5: "seed-wait", 6: "seeding"}
    record("restart", listed="%d/%d" % (listed, N),
           all_listed="%.2f s" % first_all if first_all else "never",
           settled="%.2f s" % took, hashed=d.log_hashed(),
           states=" ".join("%s:%d" % (names.get(k, k), v) for k, v in sorted(states.items())),
           worst_callback=sampler.text())


def phase_idle(d):
    time.sleep(5)
    # sampled every 10 s: the monitor's own answer is a callback too
    sampler = HealthSampler(d, period=10.0)
    c0, t0 = proc_cpu(d.pid()), time.time()
    time.sleep(30)
    cpu = (proc_cpu(d.pid()) - c0) / (time.time() - t0) * 100
    sampler.done()
    rss = proc_rss_kib(d.pid())
    per = (rss - EMPTY_RSS) * 1024 / max(N, 1) if EMPTY_RSS else float("nan")
    h = d.health()
    record("idle", cpu="%.2f %%" % cpu, rss="%.1f MiB" % (rss / 1024.0),
           bytes_per_torrent="%.0f" % per, lag_now=fmt_ms(h[0]) if h else "?",
           worst_callback=sampler.text())


def phase_get(d):
    fields = ["id", "name", "status", "percentDone", "rateDownload", "rateUpload", "totalSize",
              "sizeWhenDone", "leftUntilDone", "eta", "peersConnected", "uploadRatio",
              "queuePosition", "error", "errorString", "addedDate", "labels"]
    times, size = [], 0
    sampler = HealthSampler(d, match="torrent-get")
    for _ in range(5):
        t0 = time.time()
        a, size = d.rpc("torrent-get", {"fields": fields})
        times.append(time.time() - t0)
    ra = []
    for _ in range(5):
        t0 = time.time()
        d.rpc("torrent-get", {"fields": fields, "ids": "recently-active"})
        ra.append(time.time() - t0)
    sampler.done()
    record("get", torrents=len(a["arguments"]["torrents"]),
           median="%.1f ms" % (statistics.median(times) * 1000), bytes=size,
           recently_active="%.1f ms" % (statistics.median(ra) * 1000),
           worst_callback=sampler.text()
           if sampler.worst[0] else "none of torrent-get among the loop's 8 slowest")


def phase_rpc_add():
    d = Daemon("s-rpc").start()
    if not d.wait_rpc():
        record("rpc-add", error="RPC did not answer")
        return
    src = os.path.join(W, "torrents")
    names = sorted(os.listdir(src))
    sampler = HealthSampler(d)
    t0 = time.time()
    errors = [0]
    worst = [0.0]

    def worker(part):
        for name in part:
            if time.time() - t0 > PHASE_SECS:
                return
            with open(os.path.join(src, name), "rb") as f:
                meta = base64.b64encode(f.read()).decode()
            c0 = time.time()
            try:
                a, _ = d.rpc("torrent-add", {"metainfo": meta})
                if a.get("result") != "success":
                    errors[0] += 1
            except Exception:
                errors[0] += 1
            worst[0] = max(worst[0], time.time() - c0)
    threads = [threading.Thread(target=worker, args=(names[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.time() - t0
    try:
        listed = len(count_listed(d)[0])
    except Exception:
        listed = -1
    sampler.done()
    record("rpc-add", added="%d/%d" % (listed, N), time="%.1f s" % took,
           per_add_worst="%.2f s" % worst[0], errors=errors[0],
           worst_callback=sampler.text())
    phase_stop(d, "stop-rpc")


async def light_peer(i, port, info_hash, stop_at, stats):
    host = "127.0.%d.%d" % (1 + i // 250, 2 + i % 250)
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port,
                                                              local_addr=(host, 0)), 10)
    except Exception:
        stats["refused"] += 1
        return
    try:
        pid = b"-LP0001-" + ("%012d" % i).encode()
        w.write(b"\x13BitTorrent protocol" + bytes(8) + info_hash + pid)
        w.write(b"\x00\x00\x00\x01\x02")      # interested
        await w.drain()
        await asyncio.wait_for(r.readexactly(68), 10)
        stats["connected"] += 1
        unchoked = False
        next_req = time.time()
        while time.time() < stop_at:
            try:
                hdr = await asyncio.wait_for(r.readexactly(4), 1.0)
                ln = int.from_bytes(hdr, "big")
                if ln:
                    body = await r.readexactly(ln)
                    if body[0] == 1:
                        unchoked = True
                    elif body[0] == 0:
                        unchoked = False
                    elif body[0] == 7:
                        stats["blocks"] += 1
            except asyncio.TimeoutError:
                pass
            if unchoked and time.time() >= next_req:
                piece = random.randrange(PIECES)
                w.write(b"\x00\x00\x00\x0d\x06" + piece.to_bytes(4, "big") + bytes(4) +
                        (16384).to_bytes(4, "big"))
                await w.drain()
                next_req = time.time() + 1
    except Exception:
        stats["dropped"] += 1
    finally:
        w.close()


PIECES = 256


def phase_swarm(tracker):
    size = PIECES * 262144
    data_dir = os.path.join(W, "data")
    rnd = random.Random(7)
    payload = rnd.randbytes(size)
    with open(os.path.join(data_dir, "swarm.bin"), "wb") as f:
        f.write(payload)
    pieces = b"".join(hashlib.sha1(payload[i:i + 262144]).digest()
                      for i in range(0, size, 262144))
    info = {"length": size, "name": "swarm.bin", "piece length": 262144, "pieces": pieces}
    ih = hashlib.sha1(benc(info)).digest()
    tor = os.path.join(W, "swarm.torrent")
    with open(tor, "wb") as f:
        f.write(benc({"info": info}))
    d = Daemon("s-swarm", extra_conf="max_connections_global = %d;\n"
               "max_connections_per_torrent = %d;\n" % (NPEERS + 100, NPEERS + 100)).start()
    if not d.wait_rpc():
        record("swarm", error="RPC did not answer")
        return
    with open(tor, "rb") as f:
        d.rpc("torrent-add", {"metainfo": base64.b64encode(f.read()).decode()})
    end = time.time() + 60
    while time.time() < end:
        got, _ = count_listed(d, ("id", "status"))
        if got and got[0]["status"] == 6:
            break
        time.sleep(0.2)
    stats = {"connected": 0, "refused": 0, "dropped": 0, "blocks": 0}
    stop_at = time.time() + 45

    async def run_all():
        await asyncio.gather(*(light_peer(i, d.port, ih, stop_at, stats) for i in range(NPEERS)))
    th = threading.Thread(target=lambda: asyncio.run(run_all()))
    swarm_t0 = time.time()
    th.start()
    time.sleep(10)
    # lags from the steady state on; the worst callbacks from the first connection
    sampler = HealthSampler(d, period=0.5, since=swarm_t0)
    c0, t0 = proc_cpu(d.pid()), time.time()
    time.sleep(30)
    cpu = (proc_cpu(d.pid()) - c0) / (time.time() - t0) * 100
    sampler.done()
    th.join(timeout=60)
    lags = sorted(sampler.lags) or [0]
    p = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]
    record("swarm", peers="%d/%d connected" % (stats["connected"], NPEERS),
           lag_p50=fmt_ms(p(0.5)), lag_p99=fmt_ms(p(0.99)), cpu="%.1f %%" % cpu,
           blocks_served=stats["blocks"], worst_callback=sampler.text())
    phase_stop(d, "stop-swarm")


EMPTY_RSS = 0


def main():
    say("scale.sh: %d torrents, %s, phases: %s" % (N, DP, " ".join(PHASES)))
    reuse = os.environ.get("SCALE_REUSE")
    if reuse:
        # The kept torrents name their tracker's port: the tracker listens there again.
        with open(os.path.join(W, "torrents", "f00000.bin.torrent"), "rb") as f:
            tport = int(re.search(rb"127\.0\.0\.1:(\d+)/announce", f.read()).group(1))
        tracker = "http://127.0.0.1:%d/announce" % tport
        say("reusing %s" % W)
    else:
        tport = free_port()
        tracker = "http://127.0.0.1:%d/announce" % tport
        t0 = time.time()
        hashes = make_torrents(N, tracker, os.path.join(W, "data"), os.path.join(W, "torrents"))
        os.makedirs(os.path.join(W, "trk"), exist_ok=True)
        with open(os.path.join(W, "trk", "whitelist.txt"), "w") as f:
            f.write("\n".join(hashes) + "\n")
        say("made %d torrents in %.1f s" % (N, time.time() - t0))
    TRACKER_PORT[0] = tport
    trk = subprocess.Popen(["opentracker", "-i", "127.0.0.1", "-p", str(tport), "-P", str(tport),
                            "-d", os.path.join(W, "trk"), "-w", "whitelist.txt"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    d = None
    try:
        if "watch" in PHASES:
            d = phase_watch(tracker)
        elif reuse:
            d = Daemon("s-watch", watch=True)
        if d is not None and "stop" in PHASES:
            phase_stop(d)
        if d is not None and "restart" in PHASES:
            phase_restart(d)
            if "idle" in PHASES:
                phase_idle(d)
            if "get" in PHASES:
                phase_get(d)
            phase_stop(d, "stop-2")
        if "rpc-add" in PHASES:
            phase_rpc_add()
        if "swarm" in PHASES:
            phase_swarm(tracker)
    finally:
        if d is not None:
            d.stop(15)
        trk.terminate()
        try:
            trk.wait(timeout=10)
        except subprocess.TimeoutExpired:
            trk.kill()
    say("\n== scale.sh summary (%d torrents)" % N)
    for phase, kv in results:
        say("%-10s %s" % (phase, "; ".join("%s %s" % (k, v) for k, v in kv.items())))


main()
