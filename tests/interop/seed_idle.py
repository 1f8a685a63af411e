#!/usr/bin/python3
# seed_idle.py DP_RPC TR_RPC DP_PEER_PORT DATA_DIR LEECH_DIR A B C LT_PORT TR_DATA_DIR: the idle seeding limit, downpour
# beside transmission-daemon (run by seed_idle.sh, which starts and stops the daemons). downpour
# seeds A (its own limit: 1 minute), B (the session's: 1 minute) and C (no limit); transmission
# seeds B under the same session limit. A libtorrent leecher, rate-limited, downloads A meanwhile:
# A must stop a minute after its last upload, not a minute after its start; B stops a minute
# after its start in both daemons; C keeps seeding. Every wait is bounded. Exit 1 on a failure.
import os
import subprocess
import sys
import time

from trpc import Checks, Rpc, add_started as add, field_of as get, wait_for as wait

dp = Rpc(int(sys.argv[1]))
tr = Rpc(int(sys.argv[2]))
peer_port, data_dir, leech_dir = int(sys.argv[3]), sys.argv[4], sys.argv[5]
paths = dict(zip("ABC", sys.argv[6:9]))
here = os.path.dirname(os.path.abspath(__file__))
check = Checks()


SEEDING = 6
ids = {k: add(dp, p, data_dir) for k, p in paths.items()}
tr_b = add(tr, paths["B"], sys.argv[10])
wait("downpour to seed A, B and C", lambda: all(
    get(dp, i, ["status"])["status"] == SEEDING for i in ids.values()), 60)
wait("transmission to seed B", lambda: get(tr, tr_b, ["status"])["status"] == SEEDING, 60)
t_start = time.monotonic()

# Transmission's defaults: the torrent follows the session (mode 0) with the session's 30 min.
for name, c, i in (("downpour", dp, ids["B"]), ("transmission", tr, tr_b)):
    t = get(c, i, ["seedIdleMode", "seedIdleLimit"])
    check("%s: a new torrent has seedIdleMode 0, seedIdleLimit 30" % name,
          t == {"seedIdleMode": 0, "seedIdleLimit": 30}, t)
dp.ok("torrent-set", {"ids": [ids["A"]], "seedIdleMode": 1, "seedIdleLimit": 1,
                      "uploadLimit": 100, "uploadLimited": True})
dp.ok("torrent-set", {"ids": [ids["C"]], "seedIdleMode": 2})
for name, c in (("downpour", dp), ("transmission", tr)):
    c.ok("session-set", {"idle-seeding-limit": 1, "idle-seeding-limit-enabled": True})
    s = c.ok("session-get", {"fields": ["idle-seeding-limit", "idle-seeding-limit-enabled"]})
    check("%s: session idle limit reads back" % name,
          s.get("idle-seeding-limit") == 1 and s.get("idle-seeding-limit-enabled") is True, s)
t = get(dp, ids["A"], ["seedIdleMode", "seedIdleLimit"])
check("downpour: A's own limit reads back", t == {"seedIdleMode": 1, "seedIdleLimit": 1}, t)

# The leecher takes A at 100 kB/s, downpour's upload limit for it (about 20 s of uploading).
leech = subprocess.Popen(["/usr/bin/python3", os.path.join(here, "lt_leech.py"), paths["A"],
                          leech_dir, "--port", sys.argv[9], "--connect",
                          "127.0.0.1:%d" % peer_port, "--timeout", "90"],
                         stdout=open(os.path.join(leech_dir + ".log"), "w"),
                         stderr=subprocess.STDOUT)
try:
    rc = leech.wait(timeout=100)
except subprocess.TimeoutExpired:
    leech.kill()
    leech.wait()
    rc = -1
t_leech_done = time.monotonic()
wall_leech_done = time.time()
check("the leecher downloaded A (exit %d) after %.0f s" % (rc, t_leech_done - t_start), rc == 0)
if rc != 0:
    sys.exit(1)
check("A uploaded for at least 10 s (the test needs its deadline moved)",
      t_leech_done - t_start >= 10, "%.0f s" % (t_leech_done - t_start))

stops = {}


def poll():
    now = time.monotonic()
    for k in "AB":
        if k not in stops and get(dp, ids[k], ["status"])["status"] == 0:
            stops[k] = now
    if "trB" not in stops and get(tr, tr_b, ["status"])["status"] == 0:
        stops["trB"] = now
    return len(stops) == 3


wait("A and B to stop in downpour and B in transmission", poll, 130)
for k, v in sorted(stops.items()):
    print("     %s stopped %.0f s after seeding began (%.0f s after the leecher finished)" %
          (k, v - t_start, v - t_leech_done), flush=True)
for k in ("B", "trB"):
    check("%s stops a minute after it began seeding (55..95 s)" % k,
          55 <= stops[k] - t_start <= 95, "%.0f s" % (stops[k] - t_start))
check("downpour and transmission stop B within 10 s of each other",
      abs(stops["B"] - stops["trB"]) <= 10, "%.0f s" % (stops["B"] - stops["trB"]))
check("A stops a minute after its last upload, not after its start (55..95 s)",
      55 <= stops["A"] - t_leech_done <= 95, "%.0f s" % (stops["A"] - t_leech_done))
a = get(dp, ids["A"], ["isFinished", "activityDate", "uploadedEver"])
check("A: isFinished, activityDate at its last upload, uploaded its size",
      a["isFinished"] is True and abs(a["activityDate"] - wall_leech_done) <= 5 and
      a["uploadedEver"] >= os.path.getsize(os.path.join(data_dir, "a.bin")), a)
check("B: isFinished in both", get(dp, ids["B"], ["isFinished"])["isFinished"] is True and
      get(tr, tr_b, ["isFinished"])["isFinished"] is True)
c = get(dp, ids["C"], ["status", "isFinished"])
check("C (seedIdleMode 2) still seeds", c == {"status": SEEDING, "isFinished": False}, c)
sys.exit(1 if check.failed else 0)
