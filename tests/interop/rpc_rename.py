#!/usr/bin/python3
# rpc_rename.py DP_RPC TR_RPC TORRENT DP_DATA TR_DATA OUTSIDE: torrent-rename-path, the same requests
# to a transmission-daemon and to a downpour daemon seeding the same two-file torrent (run by
# rpc_rename.sh). Where the behaviour is Transmission's the answers, the names torrent-get shows
# and the files on disk must agree; where downpour refuses what Transmission accepts (a name the
# torrent has already, which leaves Transmission with two files of one path) or guards the disk
# (a link on the way, an existing file) it must say so and change nothing. Exit 1 on a failure.
import os
import sys

from trpc import Checks, Rpc, add_started as add, field_of as get, wait_for as wait

dp = Rpc(int(sys.argv[1]))
tr = Rpc(int(sys.argv[2]))
torrent, dp_data, tr_data, outside = sys.argv[3:7]
check = Checks()


def tree(root):
    out = []
    for d, _, files in os.walk(root):
        out += [os.path.relpath(os.path.join(d, f), root) for f in files]
    return sorted(out)


def names(c, tid):
    t = get(c, tid, ["name", "files"])
    return t["name"], sorted(f["name"] for f in t["files"])


SEEDING = 6
ids = {"dp": add(dp, torrent, dp_data), "tr": add(tr, torrent, tr_data)}
both = (("dp", dp), ("tr", tr))
for k, c in both:
    wait("%s to seed" % k, lambda: get(c, ids[k], ["status"])["status"] == SEEDING, 60)

steps = [("folder", "renamed", True), ("renamed/a.bin", "x.bin", True),
         ("renamed/sub/b.bin", "../y", False), ("renamed/a.bin", "q", False),
         ("renamed/x.bin", "a/b", False), ("renamed/x.bin", "", False),
         ("renamed/x.bin", "..", False), ("renamed/x.bin", ".", False),
         ("nope", "z", False), ("renamed/sub", "sub2", True)]
for path, name, want in steps:
    got = {}
    for k, c in both:
        res, a = c.call("torrent-rename-path", {"ids": [ids[k]], "path": path, "name": name})
        got[k] = (res, a)
    ok = {k: got[k][0] == "success" for k in got}
    check("rename %r -> %r: %s in both" % (path, name, "success" if want else "refused"),
          ok["dp"] == want and ok["tr"] == want, got)
    if want:
        check("rename %r -> %r: the same answer's arguments" % (path, name),
              got["dp"][1] == {"id": ids["dp"], "path": path, "name": name} and
              got["tr"][1] == {"id": ids["tr"], "path": path, "name": name}, got)
for k, c in both:
    res, _ = c.call("torrent-rename-path", {"ids": [], "path": "renamed", "name": "q"})
    check("%s: no torrent named is refused" % k, res != "success", res)

n_dp, n_tr = names(dp, ids["dp"]), names(tr, ids["tr"])
check("torrent-get shows the same names in both", n_dp == n_tr, (n_dp, n_tr))
check("the same files on disk in both", tree(dp_data) == tree(tr_data) ==
      ["renamed/sub2/b.bin", "renamed/x.bin"], (tree(dp_data), tree(tr_data)))
for k, c in both:
    wait("%s to seed again after the renames" % k,
         lambda: get(c, ids[k], ["status"])["status"] == SEEDING, 30)

# downpour only: a name the torrent has already (Transmission accepts it and shows two files
# named renamed/sub2 and renamed/sub2/b.bin).
res, _ = dp.call("torrent-rename-path", {"ids": [ids["dp"]], "path": "renamed/x.bin",
                                         "name": "sub2"})
check("downpour refuses a name the torrent has already", res != "success" and "already" in res,
      res)
# ... an existing file on disk is never replaced.
victim = os.path.join(dp_data, "renamed", "exists.bin")
open(victim, "w").write("not the torrent's")
res, _ = dp.call("torrent-rename-path", {"ids": [ids["dp"]], "path": "renamed/x.bin",
                                         "name": "exists.bin"})
check("downpour refuses to rename over an existing file", res != "success" and "exists" in res,
      res)
check("... and the existing file and the torrent's are untouched",
      open(victim).read() == "not the torrent's" and
      os.path.exists(os.path.join(dp_data, "renamed", "x.bin")))
os.unlink(victim)
# ... a symbolic link on the way is not followed: sub2 moved outside, a link in its place.
dp.ok("torrent-stop", {"ids": [ids["dp"]]})
wait("downpour to stop", lambda: get(dp, ids["dp"], ["status"])["status"] == 0, 20)
real_sub = os.path.join(dp_data, "renamed", "sub2")
os.rename(real_sub, os.path.join(outside, "sub2"))
os.symlink(os.path.join(outside, "sub2"), real_sub)
res, _ = dp.call("torrent-rename-path", {"ids": [ids["dp"]], "path": "renamed/sub2/b.bin",
                                         "name": "z.bin"})
check("downpour refuses to rename through a symbolic link", res != "success" and
      "symbolic link" in res, res)
check("... and the directory the link points to is untouched",
      sorted(os.listdir(os.path.join(outside, "sub2"))) == ["b.bin"])
os.unlink(real_sub)
os.rename(os.path.join(outside, "sub2"), real_sub)
dp.ok("torrent-start", {"ids": [ids["dp"]]})
wait("downpour to seed again", lambda: get(dp, ids["dp"], ["status"])["status"] == SEEDING, 30)
print("     downpour names: %s" % (names(dp, ids["dp"]),), flush=True)
sys.exit(1 if check.failed else 0)
