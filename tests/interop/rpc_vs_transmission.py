#!/usr/bin/python3
# rpc_vs_transmission.py TR_RPC_PORT DP_RPC_PORT TORRENT...: the same requests to a transmission-daemon and
# to a downpour daemon on loopback, each answer checked where the behaviour is Transmission's
# (and where downpour differs on purpose, that it says so). Prints one line per check; exit 1 if
# any failed. The daemons are started and stopped by rpc_vs_transmission.sh.
import base64
import re
import subprocess
import sys
import time

from trpc import Rpc

tr = Rpc(int(sys.argv[1]))
dp = Rpc(int(sys.argv[2]))
failed = []


def check(name, cond, detail=""):
    print("%s %s%s" % ("ok  " if cond else "FAIL", name, (": " + str(detail)) if detail else ""), flush=True)
    if not cond:
        failed.append(name)


def sonarr_version(s):
    """The number Sonarr's and Radarr's TransmissionBase takes from session-get's version: the
    first run of digits and dots not preceded by '(' and not followed by ')'."""
    m = re.search(r"(?<![(\d.])[\d.]+(?![)\d.])", s)
    return tuple(int(x) for x in m.group(0).split(".") if x) if m else None


# ---- version: both pass the *arr apps' check (>= 2.40), both speak rpc-version >= 15 ----
for name, c in (("transmission", tr), ("downpour", dp)):
    s = c.ok("session-get")
    v = sonarr_version(s["version"])
    check("%s version %r parses as >= 2.40" % (name, s["version"]), v is not None and v >= (2, 40))
    check("%s rpc-version %s >= 15" % (name, s.get("rpc-version")), s.get("rpc-version", 0) >= 15)
check("downpour names itself in version", "downpour" in dp.ok("session-get")["version"])

# ---- session-set: what Transmission accepts, downpour applies or refuses; never a silent no ----
for key, value in (("rename-partial-files", True), ("incomplete-dir-enabled", True),
                   ("trash-original-torrent-files", True)):
    res, _ = dp.call("session-set", {key: value})
    after = dp.ok("session-get").get(key)
    check("downpour session-set %s=%s is applied or refused" % (key, value),
          (res == "success" and after == value) or (res != "success" and after != value),
          "result %r, reads back %r" % (res, after))

# ---- a limit switched on alone reads back on, with its value (issue 18) ----
for name, c in (("transmission", tr), ("downpour", dp)):
    c.ok("session-set", {"speed-limit-up-enabled": True})
    a = c.ok("session-get")
    check("%s: speed-limit-up-enabled alone reads back on (limit %s kB/s)" % (name, a.get("speed-limit-up")),
          a.get("speed-limit-up-enabled") is True and a.get("speed-limit-up", 0) > 0)
    c.ok("session-set", {"speed-limit-up-enabled": False})

# ---- alternative speed limits: set, switched on and off, read back ----
for name, c in (("transmission", tr), ("downpour", dp)):
    c.ok("session-set", {"alt-speed-down": 33, "alt-speed-up": 11, "alt-speed-enabled": True,
                         "alt-speed-time-begin": 60, "alt-speed-time-end": 120,
                         "alt-speed-time-day": 62})
    a = c.ok("session-get")
    got = [a.get(k) for k in ("alt-speed-down", "alt-speed-up", "alt-speed-enabled",
                              "alt-speed-time-begin", "alt-speed-time-end", "alt-speed-time-day")]
    check("%s: alt-speed settings read back" % name, got == [33, 11, True, 60, 120, 62], got)
    c.ok("session-set", {"alt-speed-enabled": False})
    check("%s: alt-speed switched off" % name, c.ok("session-get")["alt-speed-enabled"] is False)

# ---- the schedule: switched on with a window around now, the limits come on at once; the
# window moved away, they go off; begin == end is a whole day in Transmission ----
def alt_after(c, args, want):
    c.ok("session-set", args)
    got = None
    for _ in range(30):
        got = c.ok("session-get")["alt-speed-enabled"]
        if got == want:
            break
        time.sleep(0.1)
    return got


lt = time.localtime()
now_min = lt.tm_hour * 60 + lt.tm_min
for name, c in (("transmission", tr), ("downpour", dp)):
    for args, want in (
            ({"alt-speed-time-begin": (now_min + 1439) % 1440, "alt-speed-time-end": (now_min + 3) % 1440,
              "alt-speed-time-day": 127, "alt-speed-time-enabled": True}, True),
            ({"alt-speed-time-begin": (now_min + 10) % 1440, "alt-speed-time-end": (now_min + 20) % 1440}, False),
            ({"alt-speed-time-begin": (now_min + 10) % 1440, "alt-speed-time-end": (now_min + 10) % 1440}, True),
            ({"alt-speed-time-day": 0}, False)):
        got = alt_after(c, args, want)
        check("%s: schedule %s -> alt-speed-enabled %s" % (name, args, want), got is want, got)
    c.ok("session-set", {"alt-speed-time-enabled": False, "alt-speed-enabled": False})

# ---- port-test: transmission asks an outside server; downpour says it cannot test ----
res, a = dp.call("port-test")
check("downpour port-test answers honestly", res != "success" and "cannot test" in res, res)

# ---- trackers: errors as Transmission reports them, scrape URLs, scrape failures ----
def add(c, path):
    meta = base64.b64encode(open(path, "rb").read()).decode()
    return c.ok("torrent-add", {"metainfo": meta})["torrent-added"]["id"]


tids = {}
for name, c in (("transmission", tr), ("downpour", dp)):
    tids[name] = [add(c, p) for p in sys.argv[5:8]]
FIELDS = ["id", "error", "errorString", "trackers", "trackerStats"]


def tstate(c, tid):
    return c.torrents(FIELDS, [tid])["torrents"][0]


for name, c in (("transmission", tr), ("downpour", dp)):
    refused, dead, noscrape = tids[name]
    try:
        st = None
        end = time.time() + 40
        while time.time() < end:
            st = tstate(c, refused)
            if st["error"] != 0:
                break
            time.sleep(0.5)
        check("%s: the only tracker's failure reason is error 2" % name,
              st["error"] == 2 and "not authorized" in st["errorString"],
              "%r %r" % (st["error"], st["errorString"]))
        check("%s: its trackers[].scrape is the BEP 48 URL" % name,
              st["trackers"][0]["scrape"].endswith("/scrape"), st["trackers"][0]["scrape"])
        check("%s: trackerStats[].scrape too" % name,
              st["trackerStats"][0]["scrape"] == st["trackers"][0]["scrape"])
        end = time.time() + 40
        while time.time() < end:
            st = tstate(c, dead)
            if st["trackerStats"][0]["lastAnnounceResult"]:
                break
            time.sleep(0.5)
        ts0 = st["trackerStats"][0]
        check("%s: an unreachable tracker is no torrent error (error %d)" % (name, st["error"]),
              st["error"] == 0 and st["errorString"] == "")
        check("%s: trackerStats says the announce failed: %r" % (name, ts0["lastAnnounceResult"]),
              not ts0["lastAnnounceSucceeded"] and ts0["lastAnnounceResult"] != "")
    except Exception as e:
        check("%s: tracker checks ran" % name, False, e)

# A tracker whose /scrape is 404: downpour reports the scrape as failed, not as a success.
end = time.time() + 40
st = None
while time.time() < end:
    st = tstate(dp, tids["downpour"][2])["trackerStats"][0]
    if st["hasScraped"]:
        break
    time.sleep(0.5)
check("downpour: a 404 scrape is a failed scrape (%r)" % st["lastScrapeResult"],
      st["hasScraped"] and not st["lastScrapeSucceeded"] and "404" in st["lastScrapeResult"]
      and st["lastScrapeTime"] >= st["lastScrapeStartTime"] > 0)
# A tracker added to a running torrent is announced to at once: opentracker's refusal of the
# dead torrent's hash comes back from it.
for name, c in (("transmission", tr), ("downpour", dp)):
    refused, dead, noscrape = tids[name]
    url = tstate(c, refused)["trackers"][0]["announce"]
    c.ok("torrent-set", {"ids": [dead], "trackerAdd": [url]})
    row = None
    end = time.time() + 30
    while time.time() < end:
        rows = [r for r in tstate(c, dead)["trackerStats"] if r["announce"] == url]
        row = rows[0] if rows else None
        if row and "not authorized" in row["lastAnnounceResult"]:
            break
        time.sleep(0.5)
    check("%s: a tracker added to a running torrent is announced to" % name,
          row is not None and row["hasAnnounced"] and "not authorized" in row["lastAnnounceResult"],
          row and row["lastAnnounceResult"])
# Trackers replaced while the torrent's stopped announces are on their way (the no-scrape
# tracker took its started), then started again: the new list is announced to. downpour only:
# transmission-daemon 3.00 keeps the replaced tracker's last result ("Success") for a while.
for name, c in (("downpour", dp),):
    refused, dead, noscrape = tids[name]
    url = tstate(c, refused)["trackers"][0]["announce"]
    c.ok("torrent-stop", {"ids": [noscrape]})
    c.ok("torrent-set", {"ids": [noscrape], "trackerList": url + "\n"})
    c.ok("torrent-start", {"ids": [noscrape]})
    row = None
    end = time.time() + 30
    while time.time() < end:
        rows = tstate(c, noscrape)["trackerStats"]
        row = rows[0] if len(rows) == 1 else None
        if row and row["announce"] == url and "not authorized" in row["lastAnnounceResult"]:
            break
        time.sleep(0.5)
    check("%s: trackers replaced while stopping, then started: the new one is announced to" % name,
          row is not None and row["announce"] == url and "not authorized" in row["lastAnnounceResult"],
          row and (row["announce"], row["lastAnnounceResult"]))
for name, c in (("transmission", tr), ("downpour", dp)):
    c.ok("torrent-remove", {"ids": tids[name]})

# ---- files: wanted and priority are apart (issue 18) ----
for name, c in (("transmission", tr), ("downpour", dp)):
    tid = c.ok("torrent-add", {"metainfo": base64.b64encode(open(sys.argv[8], "rb").read()).decode(),
                               "paused": True})["torrent-added"]["id"]

    def fs():
        return [(f["wanted"], f["priority"]) for f in
                c.torrents(["fileStats"], [tid])["torrents"][0]["fileStats"]]
    c.ok("torrent-set", {"ids": [tid], "priority-high": [0]})
    c.ok("torrent-set", {"ids": [tid], "files-unwanted": [0]})
    check("%s: unwanting a high file keeps it high" % name, fs()[0] == (False, 1), fs())
    c.ok("torrent-set", {"ids": [tid], "priority-low": [0]})
    check("%s: a skipped file's priority can change" % name, fs()[0] == (False, -1), fs())
    c.ok("torrent-set", {"ids": [tid], "files-wanted": [0]})
    check("%s: wanted again, it has the priority it was given" % name, fs()[0] == (True, -1), fs())
    # Labels (rpc-version 16): set, read back, a comma refused.
    c.ok("torrent-set", {"ids": [tid], "labels": ["tv", "hd"]})
    got = c.torrents(["labels"], [tid])["torrents"][0].get("labels")
    check("%s: labels read back" % name, got == ["tv", "hd"], got)
    res, _ = c.call("torrent-set", {"ids": [tid], "labels": ["a,b"]})
    check("%s: a label with a comma is refused (%s)" % (name, res), res != "success")

    # Trackers edited: trackerAdd gives each URL a tier of its own, a URL there already or not
    # a tracker's is refused, trackerReplace and trackerRemove go by trackers[].id.
    def tiers():
        rows = c.torrents(["trackers"], [tid])["torrents"][0]["trackers"]
        out = {}
        for r in rows:
            out.setdefault(r["tier"], []).append(r["announce"])
        return [out[k] for k in sorted(out)]

    def tracker_id(url):
        rows = c.torrents(["trackers"], [tid])["torrents"][0]["trackers"]
        return [r["id"] for r in rows if r["announce"] == url][0]
    ta, tb, tc_ = "http://127.0.0.1:1/announce", "udp://127.0.0.1:2", "http://127.0.0.1:3/announce"
    c.ok("torrent-set", {"ids": [tid], "trackerAdd": [ta, tb]})
    check("%s: trackerAdd, a tier each" % name, tiers() == [[ta], [tb]], tiers())
    res, _ = c.call("torrent-set", {"ids": [tid], "trackerAdd": [ta]})
    check("%s: trackerAdd of a URL there already is refused (%s)" % (name, res), res != "success")
    res, _ = c.call("torrent-set", {"ids": [tid], "trackerAdd": ["gopher://127.0.0.1:4/"]})
    check("%s: trackerAdd of no tracker URL is refused (%s)" % (name, res), res != "success")
    c.ok("torrent-set", {"ids": [tid], "trackerReplace": [tracker_id(ta), tc_]})
    check("%s: trackerReplace keeps the tier" % name, tiers() == [[tc_], [tb]], tiers())
    c.ok("torrent-set", {"ids": [tid], "trackerRemove": [tracker_id(tb)]})
    check("%s: trackerRemove" % name, tiers() == [[tc_]], tiers())

    # torrent-set-location: a relative path is refused; a move changes downloadDir.
    res, _ = c.call("torrent-set-location", {"ids": [tid], "location": "rel/dir", "move": True})
    check("%s: torrent-set-location refuses a relative path (%s)" % (name, res), res != "success")
    where = c.torrents(["downloadDir"], [tid])["torrents"][0]["downloadDir"].rstrip("/") + "-moved"
    c.ok("torrent-set-location", {"ids": [tid], "location": where, "move": True})
    got = None
    end = time.time() + 15
    while time.time() < end:
        got = c.torrents(["downloadDir"], [tid])["torrents"][0]["downloadDir"]
        if got == where:
            break
        time.sleep(0.2)
    check("%s: torrent-set-location moves it (downloadDir %s)" % (name, got), got == where)
    c.ok("torrent-remove", {"ids": [tid]})

# ---- recently-active: what changed in the last 60 s, and what was removed ----
torrents = sys.argv[3:5]  # t1, t2
ids = {}
for name, c in (("transmission", tr), ("downpour", dp)):
    ids[name] = []
    for path in torrents:
        meta = base64.b64encode(open(path, "rb").read()).decode()
        a = c.ok("torrent-add", {"metainfo": meta, "paused": True})
        ids[name].append(a["torrent-added"]["id"])
print("waiting 62 s for every torrent to be inactive for longer than the 60 s window")
time.sleep(62)


def recent(c):
    a = c.ok("torrent-get", {"ids": "recently-active", "fields": ["id", "status"]})
    return sorted(t["id"] for t in a["torrents"]), sorted(a.get("removed", []))


for name, c in (("transmission", tr), ("downpour", dp)):
    got, removed = recent(c)
    check("%s: nothing recently active after 62 s idle" % name, got == [] and removed == [],
          "torrents %r removed %r" % (got, removed))
    first, second = ids[name]
    c.ok("torrent-start", {"ids": [first]})
    time.sleep(1)
    got, removed = recent(c)
    check("%s: a started torrent is recently active, the other not" % name, got == [first],
          "torrents %r (started %d)" % (got, first))
    c.ok("torrent-stop", {"ids": [first]})
    got, _ = recent(c)
    check("%s: stopped, it is still listed (its state changed)" % name, first in got, repr(got))
    c.ok("torrent-remove", {"ids": [second]})
    got, removed = recent(c)
    check("%s: the removed torrent is in removed" % name, removed == [second] and second not in got,
          "torrents %r removed %r" % (got, removed))
    # transmission-remote's -t active is recently-active.
    port = c.url.split(":")[2].split("/")[0]
    out = subprocess.run(["transmission-remote", "127.0.0.1:" + port, "-t", "active", "-l"],
                         capture_output=True, text=True, timeout=30).stdout
    rows = [l.split()[0].rstrip("*") for l in out.splitlines()[1:-1]]
    check("%s: transmission-remote -t active -l lists the changed torrent only" % name,
          rows == [str(first)], "%r" % rows)

if failed:
    print("FAILED: %d check(s): %s" % (len(failed), ", ".join(failed)))
    sys.exit(1)
print("all checks passed")
