#!/bin/bash
# seed_idle.sh: the idle seeding limit (Transmission's idle-seeding-limit and seedIdleMode/Limit)
# with a 1-minute limit, downpour beside a transmission-daemon 3.00 on loopback (seed_idle.py):
# a seed stops a minute after its last upload to a libtorrent leecher, one under the session's
# limit a minute after its start in both daemons, one without a limit keeps seeding; after a
# restart the stopped ones stay stopped and the limits are kept. About 2.5 minutes.
# $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_init seed_idle "${1:-}"
sl_need_lt
HERE=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$SL_W/data"
sl_make_file "$SL_W/data/a.bin" $((2 * 1024 * 1024))
sl_make_file "$SL_W/data/b.bin" 300000
sl_make_file "$SL_W/data/c.bin" 200000
for n in a b c; do
	"$DP" create -o "$SL_W/$n.torrent" -s 32768 "$SL_W/data/$n.bin" >/dev/null ||
	    sl_fail "downpour create $n"
done
# transmission seeds B from a copy (its own files, the same bytes).
mkdir -p "$SL_W/tr-data"
cp "$SL_W/data/b.bin" "$SL_W/tr-data/b.bin"
sl_transmission_start tr "$SL_W/tr-data"
DP_RPC=$(sl_free_port)
DP_PORT=$(sl_free_port)
LT_PORT=$(sl_free_port)
SL_DP_EXTRA_CONF="listen_port = $DP_PORT;
rpc = { allowed_dirs = [\"$SL_W\"]; };"
sl_dp_conf "$SL_W/dp.conf"
dp_start() {
	sl_bg dp "$SL_W/dp.log" "$DP" daemon --foreground --config "$SL_W/dp.conf" --rpc \
	    --rpc-no-auth --rpc-port "$DP_RPC"
	DP_PID=$SL_BG_PID
	SL_WAIT_PID=$DP_PID sl_wait 20 "downpour RPC" sl_listening "$DP_RPC"
}
dp_start
timeout 300 /usr/bin/python3 "$HERE/seed_idle.py" "$DP_RPC" "$SL_TR_RPC" "$DP_PORT" \
    "$SL_W/data" "$SL_W/leech" "$SL_W/a.torrent" "$SL_W/b.torrent" "$SL_W/c.torrent" \
    "$LT_PORT" "$SL_W/tr-data" || sl_fail "the idle seeding limit (above)"
grep -q "stopped seeding: nothing moved for 1 minute (idle seeding limit)" "$SL_W/dp.log" ||
    sl_fail "downpour's log does not say why it stopped seeding"

# A restart keeps the stopped seeds stopped and the limits as set.
sl_stop "$DP_PID" 20 || sl_fail "downpour did not stop on SIGTERM"
dp_start
want="1 True
a.bin 0 1 1
b.bin 0 0 30
c.bin 6 2 30"
# C seeds again once its resume file is loaded (bounded: 40 tries, 0.5 s apart).
for _ in $(seq 1 40); do
	out=$(/usr/bin/python3 - "$HERE" "$DP_RPC" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from trpc import Rpc
r = Rpc(int(sys.argv[2]))
s = r.ok("session-get", {"fields": ["idle-seeding-limit", "idle-seeding-limit-enabled"]})
print(s["idle-seeding-limit"], s["idle-seeding-limit-enabled"])
for t in sorted(r.torrents(["name", "status", "seedIdleMode", "seedIdleLimit"])["torrents"],
                key=lambda t: t["name"]):
    print(t["name"], t["status"], t["seedIdleMode"], t["seedIdleLimit"])
PY
	) || sl_fail "torrent-get after the restart"
	[ "$out" = "$want" ] && break
	sleep 0.5
done
echo "$out"
[ "$out" = "$want" ] || sl_fail "after the restart: want
$want"
sl_say "after a restart: A and B stay stopped, C seeds, the limits are kept"
echo "PASS seed_idle"
