#!/usr/bin/env bash
# soak.sh: benchmark (prints figures, asserts nothing): one `downpour daemon --foreground` on
# loopback with many small torrents under churn for MINUTES, sampling its memory, fds, threads,
# CPU, loop lag, tasks and torrent states every 5 s; prints a start/median/max/end table.
# usage: tests/bench/soak.sh [MINUTES (10)] [TORRENTS (300)]   (from the repository top)
# env: DP_BIN=path/to/downpour (default build/downpour), SOAK_SEEDERS (3 libtorrent seeders),
#      SOAK_MAX_MIB (20: sizes are 1..MAX MiB), SOAK_KEEP=1 keeps the work directory.
#
# Everything listens on 127.0.0.1: opentracker (whitelist of the torrents), SOAK_SEEDERS
# libtorrent processes each seeding two thirds of the torrents, two `downpour seed` processes,
# a corrupting peer and a stalling peer (tests/interop/bad_peer.py, announced to the tracker).
# The torrents are added in three waves (RPC, watch directory, RPC). Churn every ~6 s: remove
# with data and re-add, stop/start, recheck, global and per-torrent limit changes, a seeder
# killed and restarted. Every loop is bounded; all processes are stopped by PID at exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=${1:-10}
ntor=${2:-300}
dp=${DP_BIN:-$PWD/build/downpour}
case $dp in /*) ;; *) dp=$PWD/$dp ;; esac
[ -x "$dp" ] || { echo "soak.sh: no downpour at $dp: build it first" >&2; exit 1; }
command -v opentracker >/dev/null || { echo "soak.sh: opentracker is not installed" >&2; exit 1; }
/usr/bin/python3 -c 'import libtorrent' 2>/dev/null ||
	{ echo "soak.sh: python3-libtorrent is not installed" >&2; exit 1; }

W=$(mktemp -d /tmp/dp-soak.XXXXXX)
chmod 755 "$W"
: >"$W/pids"
cleanup() {
	local p
	# Stop in reverse start order: the daemon (TERM, then KILL after 15 s), then the peers.
	for p in $(tac "$W/pids" 2>/dev/null); do
		kill -0 "$p" 2>/dev/null || continue
		kill -TERM "$p" 2>/dev/null || true
		for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$p" 2>/dev/null && { echo "soak.sh: PID $p ignored TERM, killing" >&2; kill -KILL "$p" 2>/dev/null || true; }
	done
	if [ "${SOAK_KEEP:-0}" = 1 ]; then echo "soak.sh: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$W/multi_seed.py" <<'PY'
# multi_seed.py TORRENT_LIST DATA_DIR PORT: a libtorrent seeder on 127.0.0.1:PORT holding every
# torrent listed (one path a line), data in DATA_DIR; seeds until SIGTERM or 2 hours.
import signal, sys, time
import libtorrent as lt
stop = False
def _stop(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, _stop)
signal.signal(signal.SIGINT, _stop)
s = lt.high_performance_seed()
s.update({"listen_interfaces": "127.0.0.1:%s" % sys.argv[3], "outgoing_interfaces": "127.0.0.1",
          "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
          "enable_incoming_utp": False, "enable_outgoing_utp": False,
          "allow_multiple_connections_per_ip": True, "active_seeds": 2000, "active_limit": 2000,
          "active_tracker_limit": 2000, "stop_tracker_timeout": 1,
          "alert_mask": lt.alert.category_t.error_notification})
ses = lt.session(s, 0)
for path in open(sys.argv[1]).read().split():
    p = lt.add_torrent_params()
    p.ti = lt.torrent_info(path)
    for t in p.ti.trackers():
        if not t.url.startswith("http://127.0.0.1:"):
            sys.exit("multi_seed: refusing tracker %s" % t.url)
    p.save_path = sys.argv[2]
    p.flags = (p.flags | lt.torrent_flags.seed_mode | lt.torrent_flags.disable_dht
               | lt.torrent_flags.disable_lsd | lt.torrent_flags.disable_pex)
    p.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
    ses.add_torrent(p)
t0 = time.monotonic()
while not stop and time.monotonic() - t0 < 7200:
    ses.wait_for_alert(500)
    for a in ses.pop_alerts():
        print("multi_seed: %s" % a.message(), flush=True)
ses.pause()
PY

cat >"$W/soak.py" <<'PY'
import base64, hashlib, json, os, random, re, shutil, statistics, subprocess, sys, time
import urllib.parse, urllib.request

W, DP, MINUTES, NTOR, ROOT = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
NSEED = int(os.environ.get("SOAK_SEEDERS", "3"))
MAXMIB = int(os.environ.get("SOAK_MAX_MIB", "20"))
PY3 = "/usr/bin/python3"
rnd = random.Random(1234)
PIDS = os.path.join(W, "pids")


def log(msg):
    print("[%7.1fs] %s" % (time.monotonic() - T0, msg), flush=True)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def spawn(args, logname, **kw):
    f = open(os.path.join(W, logname), "ab")
    p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kw)
    with open(PIDS, "a") as pf:
        pf.write("%d\n" % p.pid)
    return p


def stop(p, wait=15):
    if p is None or p.poll() is not None:
        return
    p.terminate()
    try:
        p.wait(wait)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)


T0 = time.monotonic()
TP, DPORT, RPORT = free_port(), free_port(), free_port()
DATA = os.path.join(W, "data")
TDIR = os.path.join(W, "torrents")
for d in ("data", "torrents", "dl", "watch", "s", "trk"):
    os.makedirs(os.path.join(W, d), exist_ok=True)

# --- the torrents: 1..MAXMIB MiB, every fourth a folder of 2-6 files ---
log("creating %d torrents (1-%d MiB) ..." % (NTOR, MAXMIB))
tors = []   # dicts: path, name, hash, size
total = 0
for i in range(NTOR):
    name = "soak%03d" % i
    size = rnd.randint(1, MAXMIB) << 20
    src = os.path.join(DATA, name)
    if i % 4 == 3:
        os.makedirs(src)
        nf = rnd.randint(2, 6)
        cuts = sorted(rnd.sample(range(1, size), nf - 1))
        parts = [b - a for a, b in zip([0] + cuts, cuts + [size])]
        for j, n in enumerate(parts):
            sub = os.path.join(src, "d%d" % (j % 2)) if j else src
            os.makedirs(sub, exist_ok=True)
            with open(os.path.join(sub, "f%d.bin" % j), "wb") as f:
                f.write(os.urandom(n))
    else:
        with open(src, "wb") as f:
            f.write(os.urandom(size))
    tp = os.path.join(TDIR, name + ".torrent")
    r = subprocess.run([DP, "create", "-o", tp, "-t", "http://127.0.0.1:%d/announce" % TP, src],
                       capture_output=True, text=True)
    if r.returncode:
        sys.exit("create %s: %s" % (name, r.stderr))
    info = json.loads(subprocess.run([DP, "info", "--json", tp], capture_output=True,
                                     text=True, check=True).stdout)
    tors.append({"path": tp, "name": name, "hash": info["info_hash"], "size": size})
    total += size
log("%d torrents, %.0f MiB in all" % (NTOR, total / 1048576))
byhash = {t["hash"]: t for t in tors}
with open(os.path.join(W, "trk", "whitelist.txt"), "w") as f:
    f.write("".join(t["hash"] + "\n" for t in tors))

# --- tracker, seeders, bad peers ---
tracker = spawn(["opentracker", "-i", "127.0.0.1", "-p", str(TP), "-P", str(TP),
                 "-d", os.path.join(W, "trk"), "-w", "whitelist.txt"], "tracker.log")
seed_ports = [free_port() for _ in range(NSEED)]
seeders = [None] * NSEED
for k in range(NSEED):
    # seeder k holds the torrents with i % NSEED != k: every torrent has NSEED-1 seeders
    lst = os.path.join(W, "seed%d.list" % k)
    with open(lst, "w") as f:
        f.write("".join(t["path"] + "\n" for i, t in enumerate(tors) if NSEED == 1 or i % NSEED != k))


def start_seeder(k):
    seeders[k] = spawn([PY3, os.path.join(W, "multi_seed.py"), os.path.join(W, "seed%d.list" % k),
                        DATA, str(seed_ports[k])], "seed%d.log" % k)


for k in range(NSEED):
    start_seeder(k)
with open(os.path.join(W, "seed.conf"), "w") as f:
    f.write('listen_address = "127.0.0.1";\n')
dpseeds = []
for i in range(min(2, NTOR)):
    dpseeds.append(spawn([DP, "seed", "--config", os.path.join(W, "seed.conf"), "-o", DATA,
                          "--port", str(free_port()), tors[i]["path"]], "dpseed%d.log" % i))


def announce(t, port, peer_id):
    q = urllib.parse.urlencode({"info_hash": bytes.fromhex(t["hash"]), "peer_id": peer_id,
                                "port": port, "uploaded": 0, "downloaded": 0, "left": 0,
                                "event": "started", "compact": 1})
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/announce?%s" % (TP, q), timeout=5).read()
    except OSError as e:
        log("announce for bad peer failed: %s" % e)


bad = []
for idx, extra, what in ((2, [], "corrupting"), (3, ["--honest", "--delay", "3600"], "stalling")):
    if idx >= NTOR:
        continue
    port = free_port()
    bad.append(spawn([PY3, os.path.join(ROOT, "tests/interop/bad_peer.py"), tors[idx]["path"], DATA,
                      "--port", str(port), "--timeout", str(int(MINUTES * 60 + 600))] + extra,
                     "bad%d.log" % idx))
    time.sleep(0.3)
    announce(tors[idx], port, ("-BAD%03d-" % idx).encode() + os.urandom(6).hex().encode())
    log("%s peer for %s on port %d" % (what, tors[idx]["name"], port))

# --- the daemon ---
SESS = os.path.join(W, "s")
with open(os.path.join(W, "d.conf"), "w") as f:
    f.write('listen_address = "127.0.0.1";\nmax_active_downloads = 20;\n'
            'max_active_seeds = 1000;\nmax_connections_global = 800;\n')
daemon = spawn([DP, "daemon", "--foreground", "--config", os.path.join(W, "d.conf"),
                "--session", SESS, "--download-dir", os.path.join(W, "dl"),
                "--watch-dir", os.path.join(W, "watch"), "--port", str(DPORT),
                "--rpc", "--rpc-no-auth", "--rpc-bind", "127.0.0.1", "--rpc-port", str(RPORT)], "daemon.out")
DPID = daemon.pid
RPC_URL = "http://127.0.0.1:%d/transmission/rpc" % RPORT
sid = [""]
rpc_errors = [0]
rpc_ms = []


def rpc(method, args=None, timeout=30):
    body = json.dumps({"method": method, "arguments": args or {}}).encode()
    for _ in range(3):
        req = urllib.request.Request(RPC_URL, data=body,
                                     headers={"X-Transmission-Session-Id": sid[0]})
        t = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                out = json.loads(r.read())
                rpc_ms.append((time.monotonic() - t) * 1000)
                if out.get("result") != "success":
                    rpc_errors[0] += 1
                    log("rpc %s: %s" % (method, out.get("result")))
                return out.get("arguments", {})
        except urllib.error.HTTPError as e:
            if e.code == 409:
                sid[0] = e.headers.get("X-Transmission-Session-Id", "")
                continue
            rpc_errors[0] += 1
            log("rpc %s: HTTP %d" % (method, e.code))
            return {}
        except OSError as e:
            rpc_errors[0] += 1
            log("rpc %s: %s" % (method, e))
            return {}
    return {}


for _ in range(100):
    if os.path.exists(os.path.join(SESS, "monitor.sock")):
        break
    time.sleep(0.1)
if daemon.poll() is not None:
    sys.exit("daemon exited at start with %s" % daemon.returncode)
log("daemon PID %d, peer port %d, RPC %d" % (DPID, DPORT, RPORT))


def add_rpc(t):
    with open(t["path"], "rb") as f:
        meta = base64.b64encode(f.read()).decode()
    rpc("torrent-add", {"metainfo": meta})


def add_watch(t):
    tmp = os.path.join(W, t["name"] + ".tmp")
    shutil.copyfile(t["path"], tmp)
    os.rename(tmp, os.path.join(W, "watch", t["name"] + ".torrent"))


# --- sampling ---
CLK = os.sysconf("SC_CLK_TCK")
samples = []
last_cpu = [None]
last_slow = [None]
STATUS = {0: "stopped", 1: "check_wait", 2: "checking", 3: "dl_wait", 4: "downloading",
          5: "seed_wait", 6: "seeding"}


def proc_status():
    out = {}
    with open("/proc/%d/status" % DPID) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "Threads"):
                out[k] = int(v.split()[0])
    return out


def mon(*args):
    try:
        return subprocess.run([DP, "monitor", "--session", SESS] + list(args), capture_output=True,
                              text=True, timeout=20).stdout
    except subprocess.TimeoutExpired:
        return None


def sample():
    now = time.monotonic()
    st = proc_status()
    with open("/proc/%d/stat" % DPID) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLK
    cpu_pct = 0.0
    if last_cpu[0]:
        cpu_pct = 100 * (cpu - last_cpu[0][1]) / max(0.001, now - last_cpu[0][0])
    last_cpu[0] = (now, cpu)
    fds = len(os.listdir("/proc/%d/fd" % DPID))
    t = time.monotonic()
    hdr = mon("blocked", "999")
    mon_ms = (time.monotonic() - t) * 1000
    lag = lagmax = spin = None
    slow = []
    if hdr:
        m = re.search(r"lag ([\d.]+)ms \(max ([\d.]+)ms.*?(\d+) spinning", hdr)
        if m:
            lag, lagmax, spin = float(m.group(1)), float(m.group(2)), int(m.group(3))
        slow = [l[2:] for l in hdr.splitlines() if l.startswith("# slow callback")]
    ps = mon("ps")
    ntask = len(ps.splitlines()) - 1 if ps else None
    kinds = {}
    for line in (ps or "").splitlines()[1:]:
        w = line.split()
        if len(w) > 2:
            kinds[w[1]] = kinds.get(w[1], 0) + 1
    tg = rpc("torrent-get", {"fields": ["id", "hashString", "status", "percentDone", "error",
                                        "errorString", "rateDownload"]})
    torrents = tg.get("torrents", [])
    states = {}
    for x in torrents:
        k = "error" if x.get("error") else STATUS.get(x.get("status"), "?")
        states[k] = states.get(k, 0) + 1
    s = {"t": now - T0, "rss": st.get("VmRSS", 0) / 1024, "anon": st.get("RssAnon", 0) / 1024,
         "threads": st.get("Threads", 0), "fds": fds, "cpu": cpu_pct, "cpu_total": cpu,
         "lag": lag, "lagmax": lagmax, "spin": spin, "tasks": ntask, "task_states": kinds,
         "torrents": len(torrents), "states": states, "mon_ms": mon_ms, "slow": slow,
         "complete": sum(1 for x in torrents if x.get("percentDone") == 1),
         "rate": sum(x.get("rateDownload", 0) for x in torrents), "list": torrents}
    samples.append(s)
    if lagmax is not None and lagmax > 100 and slow[:1] != last_slow[0]:
        last_slow[0] = slow[:1]
        log("loop lag max %.0f ms; slowest callbacks: %s" % (lagmax, " | ".join(slow[:3])))
    return s


# --- the run: waves, churn, samples ---
waves = [tors[0::3], tors[1::3], tors[2::3]]
dur = MINUTES * 60
wave_at = [0, dur * 0.1, dur * 0.2]
wave_done = [False] * 3
pending = []          # (due time, action name, callable)
churn = {}
next_sample = time.monotonic()
next_churn = time.monotonic() + 20
end = T0 + (time.monotonic() - T0) + dur
run0 = time.monotonic()
crashed = None
removed = set()


def ids_by_hash():
    tg = rpc("torrent-get", {"fields": ["id", "hashString", "status", "percentDone"]})
    return {x["hashString"]: x for x in tg.get("torrents", [])}


def do_churn():
    cur = ids_by_hash()
    live = [h for h in cur if h not in removed]
    if not live:
        return
    a = rnd.choice(["remove", "stopstart", "stopstart", "recheck", "limit", "tlimit", "seeder",
                    "remove"])
    churn[a] = churn.get(a, 0) + 1
    h = rnd.choice(live)
    tid = cur[h]["id"]
    if a == "remove":
        rpc("torrent-remove", {"ids": [tid], "delete-local-data": True})
        removed.add(h)
        via = rnd.choice([add_rpc, add_watch])
        pending.append((time.monotonic() + rnd.uniform(3, 15), "re-add",
                        lambda t=byhash[h], v=via: (removed.discard(t["hash"]), v(t))))
    elif a == "stopstart":
        rpc("torrent-stop", {"ids": [tid]})
        pending.append((time.monotonic() + rnd.uniform(2, 20), "start",
                        lambda h=h: rpc("torrent-start", {"ids": [ids_by_hash().get(h, {}).get("id", -1)]})))
    elif a == "recheck":
        rpc("torrent-verify", {"ids": [tid]})
    elif a == "limit":
        if rnd.random() < 0.5:
            rpc("session-set", {"speed-limit-down": rnd.randint(500, 20000),
                                "speed-limit-down-enabled": True,
                                "speed-limit-up": rnd.randint(100, 5000),
                                "speed-limit-up-enabled": rnd.random() < 0.5})
            pending.append((time.monotonic() + rnd.uniform(5, 20), "unlimit",
                            lambda: rpc("session-set", {"speed-limit-down-enabled": False,
                                                        "speed-limit-up-enabled": False})))
        else:
            rpc("session-set", {"speed-limit-down-enabled": False, "speed-limit-up-enabled": False})
    elif a == "tlimit":
        rpc("torrent-set", {"ids": [tid], "downloadLimit": rnd.randint(50, 2000),
                            "downloadLimited": True})
        pending.append((time.monotonic() + rnd.uniform(5, 30), "tunlimit",
                        lambda tid=tid: rpc("torrent-set", {"ids": [tid], "downloadLimited": False})))
    elif a == "seeder":
        k = rnd.randrange(NSEED)
        if seeders[k] is not None and seeders[k].poll() is None:
            stop(seeders[k])
            pending.append((time.monotonic() + rnd.uniform(5, 20), "seeder %d back" % k,
                            lambda k=k: start_seeder(k)))
    log("churn %s %s (id %d)" % (a, byhash[h]["name"], tid))


steps = 0
while time.monotonic() < end and steps < 100000:
    steps += 1
    now = time.monotonic()
    if daemon.poll() is not None:
        crashed = daemon.returncode
        log("DAEMON EXITED with %s" % crashed)
        break
    for w in range(3):
        if not wave_done[w] and now - run0 >= wave_at[w]:
            wave_done[w] = True
            for t in waves[w]:
                (add_watch if w == 1 else add_rpc)(t)
            log("wave %d: %d torrents added by %s" % (w, len(waves[w]), "watch dir" if w == 1 else "RPC"))
    for p in [p for p in pending if p[0] <= now]:
        pending.remove(p)
        p[2]()
    if now >= next_churn and all(wave_done):
        do_churn()
        next_churn = now + rnd.uniform(3, 9)
    if now >= next_sample:
        s = sample()
        next_sample += 5
        if len(samples) % 6 == 1:
            log("rss %.1f MiB anon %.1f fds %d thr %d cpu %.0f%% lag %s/%s tasks %s torrents %d "
                "complete %d %s" % (s["rss"], s["anon"], s["fds"], s["threads"], s["cpu"], s["lag"],
                                    s["lagmax"], s["tasks"], s["torrents"], s["complete"],
                                    json.dumps(s["states"], sort_keys=True)))
    time.sleep(0.2)
# the pending re-adds and starts, so that the end state has every torrent
for p in sorted(pending, key=lambda p: p[0]):
    if daemon.poll() is None:
        p[2]()
if crashed is None:
    time.sleep(5)
    sample()

# --- the figures ---
def row(name, key, fmt="%.1f"):
    v = [s[key] for s in samples if s.get(key) is not None]
    if not v:
        return
    print("%-22s %10s %10s %10s %10s" % (name, fmt % v[0], fmt % statistics.median(v), fmt % max(v),
                                         fmt % v[-1]))


def growth(key):
    # least squares over the second half (after the waves and warm-up), per hour
    pts = [(s["t"], s[key]) for s in samples if s["t"] >= samples[-1]["t"] / 2]
    if len(pts) < 3:
        return float("nan")
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    num = sum((p[0] - mx) * (p[1] - my) for p in pts)
    den = sum((p[0] - mx) ** 2 for p in pts) or 1
    return num / den * 3600


print("\n=== soak: %.0f min, %d torrents (%.0f MiB), %d samples, daemon PID %d ===" %
      (MINUTES, NTOR, total / 1048576, len(samples), DPID))
print("%-22s %10s %10s %10s %10s" % ("", "start", "median", "max", "end"))
row("RSS MiB", "rss")
row("anon MiB", "anon")
row("open fds", "fds", "%d")
row("threads", "threads", "%d")
row("CPU %", "cpu")
row("loop lag ms", "lag", "%.2f")
row("loop lag max/min ms", "lagmax", "%.0f")
row("spinning tasks", "spin", "%d")
row("tasks (monitor ps)", "tasks", "%d")
row("torrents", "torrents", "%d")
row("complete", "complete", "%d")
row("monitor reply ms", "mon_ms", "%.0f")
if rpc_ms:
    print("%-22s %10s %10.0f %10.0f %10s" % ("RPC reply ms", "", statistics.median(rpc_ms),
                                            max(rpc_ms), ""))
print("growth per hour (2nd half, least squares): RSS %+.1f MiB, anon %+.1f MiB, fds %+.0f, "
      "tasks %+.0f" % (growth("rss"), growth("anon"), growth("fds"), growth("tasks")))
print("CPU seconds used by the daemon: %.1f" % samples[-1]["cpu_total"])
last = samples[-1]
print("end states: %s" % json.dumps(last["states"], sort_keys=True))
print("end task states: %s" % json.dumps(last["task_states"], sort_keys=True))
print("churn actions: %s; RPC errors %d" % (json.dumps(churn, sort_keys=True), rpc_errors[0]))
spikes = [s for s in samples if s["lagmax"] is not None and s["lagmax"] > 100]
print("samples with a loop lag spike > 100 ms: %d" % len(spikes))
for s in spikes[:5]:
    print("  at %.0fs max %.0f ms: %s" % (s["t"], s["lagmax"], " | ".join(s["slow"][:3])))
inc = [x for x in last["list"] if x.get("percentDone") != 1]
print("incomplete at the end: %d" % len(inc))
for x in inc[:15]:
    t = byhash.get(x["hashString"], {})
    print("  id %s %s %s %.1f%% %s" % (x["id"], t.get("name"), STATUS.get(x["status"]),
                                       100 * x.get("percentDone", 0), x.get("errorString", "")))
lg = os.path.join(SESS, "downpour.log")
levels = {}
try:
    for line in open(lg, errors="replace"):
        m = re.match(r"\S+ \S+ \[(\w+)\]", line)
        if m:
            levels[m.group(1)] = levels.get(m.group(1), 0) + 1
except OSError:
    pass
print("daemon log lines by level: %s" % json.dumps(levels, sort_keys=True))
if crashed is not None:
    print("DAEMON EXITED during the run with status %s" % crashed)
with open(os.path.join(W, "samples.json"), "w") as f:
    json.dump([{k: v for k, v in s.items() if k != "list"} for s in samples], f)
if os.environ.get("SOAK_OUT"):
    shutil.copyfile(os.path.join(W, "samples.json"), os.environ["SOAK_OUT"] + ".samples.json")
    shutil.copyfile(lg, os.environ["SOAK_OUT"] + ".daemon.log")
PY

/usr/bin/python3 "$W/soak.py" "$W" "$dp" "$minutes" "$ntor" "$PWD"
