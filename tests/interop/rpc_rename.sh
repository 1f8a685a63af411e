#!/bin/bash
# rpc_rename.sh: torrent-rename-path against a transmission-daemon 3.00 side by side
# (rpc_rename.py: the same requests, the same answers and names, the same files on disk; a name
# the torrent has, an existing file and a link on the way refused by downpour; Debian's
# transmission-remote 3.00 has no --rename, so the requests are raw RPC); then a restart of
# downpour keeps the new names and the torrent seeds from the renamed files without a recheck.
# $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_init rpc_rename "${1:-}"
HERE=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$SL_W/src/folder/sub" "$SL_W/outside"
sl_make_file "$SL_W/src/folder/a.bin" 100000
sl_make_file "$SL_W/src/folder/sub/b.bin" 50000
"$DP" create -o "$SL_W/f.torrent" -s 32768 "$SL_W/src/folder" >/dev/null || sl_fail "create"
mkdir -p "$SL_W/dp-data" "$SL_W/tr-data"
cp -r "$SL_W/src/folder" "$SL_W/dp-data/"
cp -r "$SL_W/src/folder" "$SL_W/tr-data/"
sl_transmission_start tr "$SL_W/tr-data"
DP_RPC=$(sl_free_port)
DP_PORT=$(sl_free_port)
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
timeout 200 /usr/bin/python3 "$HERE/rpc_rename.py" "$DP_RPC" "$SL_TR_RPC" "$SL_W/f.torrent" \
    "$SL_W/dp-data" "$SL_W/tr-data" "$SL_W/outside" || sl_fail "torrent-rename-path (above)"

# A restart keeps the names; the pieces are trusted (no recheck) and it seeds from them.
sl_stop "$DP_PID" 20 || sl_fail "downpour did not stop on SIGTERM"
dp_start
want="renamed renamed/sub2/b.bin renamed/x.bin 6"
for _ in $(seq 1 40); do
	out=$(/usr/bin/python3 - "$HERE" "$DP_RPC" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from trpc import Rpc
t = Rpc(int(sys.argv[2])).torrents(["name", "files", "status"])["torrents"][0]
print(t["name"], " ".join(sorted(f["name"] for f in t["files"])), t["status"])
PY
	) || sl_fail "torrent-get after the restart"
	[ "$out" = "$want" ] && break
	sleep 0.5
done
[ "$out" = "$want" ] || sl_fail "after the restart: '$out', want '$want'"
grep -q "checking existing data" "$SL_W/dp.log" &&
    sl_fail "the renamed torrent was rechecked after the restart"
sl_say "after a restart: the new names, seeding, no recheck"
echo "PASS rpc_rename"
