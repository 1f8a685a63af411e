#!/bin/bash
# web_client.sh: Transmission 3.00's web client (Debian's transmission-common) served by a downpour
# daemon on /transmission/web/ and driven in headless Chromium (Debian's chromium and
# chromium-driver) by web_client.py, with a torrent downloading from a local libtorrent seeder and
# one seeding. $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_init web_client "${1:-}"
HERE=$(cd "$(dirname "$0")" && pwd)
sl_need chromium chromium /usr/bin/chromium
sl_need chromedriver chromium-driver
[ -f /usr/share/transmission/web/index.html ] || sl_fail "transmission-common's web client is not installed"
sl_need_lt

mkdir -p "$SL_W/src" "$SL_W/dl"
# two files: the inspector's files tab lets the page change a file only in a multi-file torrent
mkdir -p "$SL_W/src/moving"
sl_make_file "$SL_W/src/moving/a.bin" $((6 * 1048576 + 5))
sl_make_file "$SL_W/src/moving/b.bin" $((1048576 + 3))
sl_make_file "$SL_W/src/seeded.bin" $((1048576 + 7))
"$DP" create -o "$SL_W/moving.torrent" -s 65536 "$SL_W/src/moving" >/dev/null || sl_fail "create"
# the seeded torrent announces to opentracker: the inspector's trackers tab shows its counts
sl_tracker_start
"$DP" create -o "$SL_W/seeded.torrent" -s 65536 -t "$SL_ANNOUNCE_HTTP" "$SL_W/src/seeded.bin" \
    >/dev/null || sl_fail "create"
sl_tracker_allow "$SL_W/seeded.torrent"

DP_RPC=$(sl_free_port)
DP_PORT=$(sl_free_port)
cat >"$SL_W/dp.conf" <<CONF
listen_address = "127.0.0.1";
listen_port = $DP_PORT;
download_dir = "$SL_W/dl";
session_dir = "$SL_W/dp-session";
# torrent-add names $SL_W/src as download-dir: RPC paths must lie under an allowed directory.
rpc = { allowed_dirs = ["$SL_W"]; };
CONF
sl_bg dp "$SL_W/dp.log" "$DP" daemon --foreground --config "$SL_W/dp.conf" --rpc --rpc-no-auth --rpc-port "$DP_RPC"
DP_PID=$SL_BG_PID
SL_WAIT_PID=$DP_PID sl_wait 20 "downpour RPC" sl_listening "$DP_RPC"
rpc() { /usr/bin/python3 "$HERE/rpc_call.py" "$DP_RPC" "$@" >>"$SL_W/rpc.log" || sl_fail "rpc $*"; }
B64=$(base64 -w0 "$SL_W/moving.torrent")
rpc torrent-add "{\"metainfo\": \"$B64\"}"
B64=$(base64 -w0 "$SL_W/seeded.torrent")
rpc torrent-add "{\"metainfo\": \"$B64\", \"download-dir\": \"$SL_W/src\"}"

# The libtorrent seeder dials downpour and feeds it slowly, so the download lasts the test.
LT_PORT=$(sl_free_port)
sl_bg lt-seed "$SL_W/lt-seed.log" /usr/bin/python3 "$HERE/lt_seed.py" "$SL_W/moving.torrent" \
    "$SL_W/src" --port "$LT_PORT" --no-tracker --upload-limit 40000 --connect "127.0.0.1:$DP_PORT"

timeout 400 /usr/bin/python3 "$HERE/web_client.py" "$DP_RPC" moving seeded.bin "$SL_W" \
    >"$SL_W/web.log" 2>&1
RC=$?
cat "$SL_W/web.log"
[ $RC = 0 ] || sl_fail "the web client checks failed (above)"
sl_alive "$DP_PID" || sl_fail "downpour died"
echo "PASS web_client"
