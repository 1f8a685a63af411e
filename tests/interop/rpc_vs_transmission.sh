#!/bin/bash
# rpc_vs_transmission.sh: a transmission-daemon 3.00 and a downpour daemon side by side on
# loopback; rpc_vs_transmission.py sends both the same requests and checks the answers where the
# behaviour is Transmission's; then session-close stops each of them. $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_init rpc_vs_transmission "${1:-}"
HERE=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$SL_W/tr-dl" "$SL_W/dp-dl" "$SL_W/src"
# Two torrents whose data nobody has (they stay stopped or look for peers).
for n in 1 2; do
	sl_make_file "$SL_W/src/data$n.bin" $((300000 + n))
	"$DP" create -o "$SL_W/t$n.torrent" -s 32768 "$SL_W/src/data$n.bin" >/dev/null ||
	    sl_fail "downpour create t$n"
done
# A two-file torrent for wanted and priority.
mkdir -p "$SL_W/src/pair"
sl_make_file "$SL_W/src/pair/a.bin" 70000
sl_make_file "$SL_W/src/pair/b.bin" 90000
"$DP" create -o "$SL_W/pair.torrent" -s 32768 "$SL_W/src/pair" >/dev/null || sl_fail "create pair"
# Trackers: opentracker refusing a hash it does not list (a failure reason), a port where
# nothing listens, and one that announces without counts and has no /scrape.
sl_tracker_start
DEAD_PORT=$(sl_free_port)
NOSCRAPE_PORT=$(sl_free_port)
sl_bg noscrape "$SL_W/noscrape.log" /usr/bin/python3 "$(dirname "$0")/tracker_no_scrape.py" "$NOSCRAPE_PORT"
SL_WAIT_PID=$SL_BG_PID sl_wait 10 "the no-scrape tracker" sl_listening "$NOSCRAPE_PORT"
for pair in "refused:$SL_ANNOUNCE_HTTP" "dead:http://127.0.0.1:$DEAD_PORT/announce" \
    "noscrape:http://127.0.0.1:$NOSCRAPE_PORT/announce"; do
	name=${pair%%:*} url=${pair#*:}
	sl_make_file "$SL_W/src/$name.bin" 100000
	"$DP" create -o "$SL_W/$name.torrent" -s 32768 -t "$url" "$SL_W/src/$name.bin" >/dev/null ||
	    sl_fail "downpour create $name"
done
sl_transmission_start tr "$SL_W/tr-dl"
TR_PID=$SL_TR_PID
DP_RPC=$(sl_free_port)
DP_PORT=$(sl_free_port)
cat >"$SL_W/dp.conf" <<CONF
listen_address = "127.0.0.1";
listen_port = $DP_PORT;
download_dir = "$SL_W/dp-dl";
session_dir = "$SL_W/dp-session";
# torrent-set-location moves to a sibling of dp-dl: RPC paths must lie under an allowed directory.
rpc = { allowed_dirs = ["$SL_W"]; };
CONF
sl_bg dp "$SL_W/dp.log" "$DP" daemon --foreground --config "$SL_W/dp.conf" --rpc --rpc-no-auth --rpc-port "$DP_RPC"
DP_PID=$SL_BG_PID
SL_WAIT_PID=$DP_PID sl_wait 20 "downpour RPC" sl_listening "$DP_RPC"

timeout 300 /usr/bin/python3 "$HERE/rpc_vs_transmission.py" "$SL_TR_RPC" "$DP_RPC" \
    "$SL_W/t1.torrent" "$SL_W/t2.torrent" "$SL_W/refused.torrent" "$SL_W/dead.torrent" \
    "$SL_W/noscrape.torrent" "$SL_W/pair.torrent" >"$SL_W/compare.log" 2>&1
RC=$?
cat "$SL_W/compare.log"
[ $RC = 0 ] || sl_fail "the RPC answers differ (above)"

# session-close: each daemon answers, then exits on its own (bounded).
for pair in "tr:$SL_TR_RPC:$TR_PID" "dp:$DP_RPC:$DP_PID"; do
	IFS=: read -r name port pid <<<"$pair"
	/usr/bin/python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); from trpc import Rpc; Rpc(int(sys.argv[2])).ok("session-close")' \
	    "$HERE" "$port" || sl_fail "$name: session-close was not answered with success"
	for _ in $(seq 1 100); do sl_alive "$pid" || break; sleep 0.1; done
	sl_alive "$pid" && sl_fail "$name still runs 10 s after session-close"
	wait "$pid"; rc=$?
	[ "$rc" = 0 ] || sl_fail "$name exited with status $rc after session-close"
	sl_say "$name: session-close answered, exited 0"
done
echo "PASS rpc_vs_transmission"
