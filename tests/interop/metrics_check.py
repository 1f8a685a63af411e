#!/usr/bin/python3
# metrics_check.py RPC_PORT USER PASS TRACKER_HOST DEAD_HOST: scrapes downpour's /metrics and
# checks each figure against what the RPC says at the same time: torrents by state, byte totals,
# peers, per-tracker announce outcomes; and that /metrics wants the RPC's credentials. Exit 1 on
# any failed check.
import base64
import os
import re
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trpc import Rpc  # noqa: E402

port, user, pw, tracker, dead = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
rpc = Rpc(port, user, pw)
url = "http://127.0.0.1:%d/metrics" % port
failed = []


def check(name, cond, detail=""):
    print("%s %s%s" % ("ok  " if cond else "FAIL", name, (": " + str(detail)) if detail else ""),
          flush=True)
    if not cond:
        failed.append(name)
    return cond


def scrape(auth=True):
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(
            ("%s:%s" % (user, pw)).encode()).decode())
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.headers.get("Content-Type"), r.read().decode()


LINE = re.compile(r'^([a-z_]+)(?:\{([^}]*)\})? (\S+)$')


def parse(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        if not m:
            raise ValueError("not the Prometheus text format: %r" % line)
        labels = tuple(sorted(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


try:
    scrape(auth=False)
    check("/metrics without credentials is refused", False, "it answered")
except urllib.error.HTTPError as e:
    check("/metrics without credentials is refused (401)", e.code == 401, e.code)

ctype, text = scrape()
check("/metrics is Prometheus text", ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype)
m = parse(text)

# Torrents by state against torrent-get (status codes, error for the error state).
ts = rpc.torrents(["id", "status", "error", "peersConnected", "trackerStats", "name"])["torrents"]
want = {"stopped": 0, "queued": 0, "checking": 0, "metadata": 0, "downloading": 0, "seeding": 0,
        "error": 0}
for t in ts:
    st = {0: "error" if t["error"] == 3 else "stopped", 1: "checking", 2: "checking",
          3: "queued", 4: "downloading", 5: "queued", 6: "seeding"}[t["status"]]
    want[st] += 1
got = {k: int(m.get(("downpour_torrents", (("state", k),)), -1)) for k in want}
check("torrents by state match torrent-get", got == want, "metrics %r, rpc %r" % (got, want))

# Totals and peers against session-stats and torrent-get, read back to back (nothing moves).
ss = rpc.ok("session-stats")
_, text = scrape()
m = parse(text)
cur = ss["current-stats"]
check("downloaded bytes match session-stats",
      m[("downpour_downloaded_bytes_total", ())] == cur["downloadedBytes"],
      (m[("downpour_downloaded_bytes_total", ())], cur["downloadedBytes"]))
check("uploaded bytes match session-stats (and a leecher took 2 MiB)",
      m[("downpour_uploaded_bytes_total", ())] == cur["uploadedBytes"] >= 2 * 1048576,
      (m[("downpour_uploaded_bytes_total", ())], cur["uploadedBytes"]))
check("download rate matches session-stats",
      m[("downpour_download_rate_bytes", ())] == ss["downloadSpeed"])
peers = sum(t["peersConnected"] for t in ts)
check("connected peers match torrent-get", m[("downpour_peers_connected", ())] >= peers,
      (m[("downpour_peers_connected", ())], peers))

# Per tracker: the working tracker's successes, the dead one's failures, as trackerStats says.
ok_rpc = sum(1 for t in ts for s in t["trackerStats"] if s["host"] == tracker and s["lastAnnounceSucceeded"])
bad_rpc = sum(1 for t in ts for s in t["trackerStats"] if s["host"] == dead and s["hasAnnounced"] and not s["lastAnnounceSucceeded"])
ok_m = m.get(("downpour_tracker_announces_total", (("result", "success"), ("tracker", tracker))), 0)
bad_m = m.get(("downpour_tracker_announces_total", (("result", "failure"), ("tracker", dead))), 0)
check("announce successes of %s (rpc: %d torrents announced)" % (tracker, ok_rpc),
      ok_rpc >= 1 and ok_m >= ok_rpc, ok_m)
check("announce failures of %s (rpc: %d torrents failed)" % (dead, bad_rpc),
      bad_rpc >= 1 and bad_m >= bad_rpc, bad_m)
lat = m.get(("downpour_tracker_announce_latency_seconds_count", (("tracker", tracker),)), 0)
check("announce latency counted for %s" % tracker, lat >= ok_m and
      m.get(("downpour_tracker_announce_latency_seconds_sum", (("tracker", tracker),)), -1) >= 0)

# Nothing was stopped: no stopped announce dropped, yet each tracker has its series.
for host in (tracker, dead):
    key = ("downpour_tracker_stops_dropped_total", (("tracker", host),))
    check("stopped announces dropped at %s: none" % host, m.get(key, -1) == 0, m.get(key))
# Multi-hash scrapes: each asks one tracker for at least one hash and at most 74.
sb = m.get(("downpour_tracker_scrape_batches_total", ()), -1)
sh = m.get(("downpour_tracker_scrape_batch_hashes_total", ()), -1)
check("scrape batches and their hashes are reported", sb >= 0 and sb <= sh <= 74 * sb,
      (sb, sh))

lag = m.get(("downpour_loop_lag_seconds", ()), -1)
check("loop lag is reported", 0 <= lag < 5, lag)
tasks = sum(v for (k, _), v in m.items() if k == "downpour_tasks")
check("tasks by state are reported", tasks > 0, tasks)
check("disk queue is reported", ("downpour_disk_queue_bytes", ()) in m)

if failed:
    print("FAILED: %d check(s): %s" % (len(failed), ", ".join(failed)))
    sys.exit(1)
print("all checks passed")
