#!/bin/bash
# blocklist.sh: the IP filter against real peers. Two libtorrent seeders of one torrent announce
# to opentracker, one from 127.0.0.1 and one from 127.0.0.2 (a second loopback host); downpour's
# daemon runs with a blocklist (P2P, DAT and CIDR lines) naming 127.0.0.2. It downloads the
# torrent from the first seeder and never connects to the second, whose own dials are refused
# (both counted in /metrics and in `downpour monitor blocked`). Then blocklist-update fetches a
# new list from a loopback HTTP server (RPC: blocklist-size, -enabled, -url), and a list that is
# switched off blocks nothing. $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_init blocklist "${1:-}"
sl_need_lt
HERE=$(cd "$(dirname "$0")" && pwd)
sl_need curl curl

sl_tracker_start
sl_make_file "$SL_W/src/data.bin" $((1024 * 1024))
"$DP" create -o "$SL_W/t.torrent" -s 32768 -t "$SL_ANNOUNCE_HTTP" "$SL_W/src/data.bin" \
    >/dev/null || sl_fail "downpour create"
sl_tracker_allow "$SL_W/t.torrent"
DP_PORT=$(sl_free_port)
PA=$(sl_free_port)
PB=$(sl_free_port)
sl_bg seed-a "$SL_W/seed-a.log" /usr/bin/python3 "$HERE/lt_seed.py" "$SL_W/t.torrent" \
    "$SL_W/src" --port "$PA" --ready-file "$SL_W/a.ready"
A_PID=$SL_BG_PID
SL_WAIT_PID=$A_PID sl_wait 60 "seeder A to announce" test -f "$SL_W/a.ready"

cat >"$SL_W/block.p2p" <<'LIST'
# the second seeder, and some ranges in the other formats
Test seeder B:127.0.0.2-127.0.0.2
010.000.000.000 - 010.255.255.255 , 000 , private
192.168.0.0/16
not a rule at all
LIST
DP_RPC=$(sl_free_port)
SL_DP_EXTRA_CONF="listen_port = $DP_PORT;
blocklist = true;
blocklist_file = \"$SL_W/block.p2p\";"
sl_dp_conf "$SL_W/dp.conf"
mkdir -p "$SL_W/dl"
sl_bg dp "$SL_W/dp.log" "$DP" daemon --foreground --config "$SL_W/dp.conf" --rpc --rpc-no-auth \
    --rpc-port "$DP_RPC"
DP_PID=$SL_BG_PID
SL_WAIT_PID=$DP_PID sl_wait 20 "downpour RPC" sl_listening "$DP_RPC"
SL_WAIT_PID=$DP_PID sl_wait 20 "the blocklist to load" grep -q "blocklist: 3 ranges" "$SL_W/dp.log"
rpc() { /usr/bin/python3 "$HERE/rpc_call.py" "$DP_RPC" "$@"; }
rpc session-get '{"fields":["blocklist-enabled","blocklist-size"]}' >"$SL_W/sg.json" ||
    sl_fail "session-get"
grep -q '"blocklist-enabled": true' "$SL_W/sg.json" && grep -q '"blocklist-size": 3' "$SL_W/sg.json" ||
    sl_fail "session-get: $(cat "$SL_W/sg.json")"
# B starts once downpour listens (a refused dial before that would put libtorrent's retry off).
sl_bg seed-b "$SL_W/seed-b.log" /usr/bin/python3 "$HERE/lt_seed.py" "$SL_W/t.torrent" \
    "$SL_W/src" --port "$PB" --address 127.0.0.2 --ready-file "$SL_W/b.ready" \
    --connect "127.0.0.1:$DP_PORT"
B_PID=$SL_BG_PID
SL_WAIT_PID=$B_PID sl_wait 60 "seeder B to announce" test -f "$SL_W/b.ready"
sl_wait 20 "the tracker to list both seeders" sl_tracker_has_seeds "$SL_W/t.torrent" 2
meta=$(base64 -w0 "$SL_W/t.torrent")
rpc torrent-add "{\"metainfo\":\"$meta\",\"download-dir\":\"$SL_W/dl\"}" >/dev/null ||
    sl_fail "torrent-add"

# Downloaded from A while B, named by the tracker and dialling in itself, is never a peer.
done_dl() {
	rpc torrent-get '{"fields":["percentDone","peers"]}' >"$SL_W/tg.json" || return 1
	grep -q '127.0.0.2' "$SL_W/tg.json" && sl_fail "downpour has a peer at 127.0.0.2: $(cat "$SL_W/tg.json")"
	grep -q '"percentDone": 1' "$SL_W/tg.json"
}
SL_WAIT_PID=$DP_PID sl_wait 90 "the download from seeder A" done_dl
sl_same "$SL_W/src/data.bin" "$SL_W/dl/data.bin"
# B dials in (1 s apart) and the tracker names it: both directions counted.
refusals() {
	curl -s --max-time 10 "http://127.0.0.1:$DP_RPC/metrics" >"$SL_W/metrics.txt" || return 1
	in=$(sed -n 's/^downpour_blocklist_refused_total{direction="in"} //p' "$SL_W/metrics.txt")
	out=$(sed -n 's/^downpour_blocklist_refused_total{direction="out"} //p' "$SL_W/metrics.txt")
	[ "${in:-0}" -ge 1 ] && [ "${out:-0}" -ge 1 ]
}
for _ in $(seq 1 30); do refusals && break; sleep 0.5; done
grep -q '^downpour_blocklist_ranges 3$' "$SL_W/metrics.txt" || sl_fail "/metrics: no 3 ranges"
[ "${in:-0}" -ge 1 ] && [ "${out:-0}" -ge 1 ] ||
    sl_fail "/metrics: refused in=${in:-?} out=${out:-?}, want both >= 1"
"$DP" monitor --config "$SL_W/dp.conf" blocked >"$SL_W/monitor.txt" 2>&1 ||
    sl_fail "downpour monitor blocked: $(cat "$SL_W/monitor.txt")"
grep -q "^# blocklist: 3 ranges, refused [1-9][0-9]* connections in, [1-9][0-9]* addresses out" \
    "$SL_W/monitor.txt" || sl_fail "monitor: $(head -3 "$SL_W/monitor.txt")"
sl_say "downloaded from 127.0.0.1; 127.0.0.2 refused $in times in, $out out"
sl_stop "$B_PID" 10
grep -q "lt_seed: uploaded 0 bytes" "$SL_W/seed-b.log" || sl_fail "seeder B uploaded to downpour"
grep -Eq "lt_seed: uploaded [1-9][0-9]{5,} bytes" "$SL_W/seed-a.log" ||
    { sl_stop "$A_PID" 10; grep -Eq "lt_seed: uploaded [1-9][0-9]{5,} bytes" "$SL_W/seed-a.log"; } ||
    sl_fail "seeder A did not upload the data"

# blocklist-update from a loopback HTTP server: a DAT list of two ranges.
mkdir -p "$SL_W/www"
printf '127.0.0.5 - 127.0.0.9 , 000 , five to nine\n172.16.0.0 - 172.31.255.255 , 000 , x\n' \
    >"$SL_W/www/list.dat"
HP=$(sl_free_port)
sl_bg http "$SL_W/http.log" /usr/bin/python3 -m http.server --bind 127.0.0.1 --directory \
    "$SL_W/www" "$HP"
SL_WAIT_PID=$SL_BG_PID sl_wait 10 "the HTTP server" sl_listening "$HP"
rpc session-set '{"blocklist-url":"https://127.0.0.1/x"}' >/dev/null &&
    sl_fail "an https blocklist-url was accepted"
rpc session-set "{\"blocklist-url\":\"http://127.0.0.1:$HP/list.dat\"}" >/dev/null ||
    sl_fail "session-set blocklist-url"
rpc blocklist-update >"$SL_W/bu.json" || sl_fail "blocklist-update: $(cat "$SL_W/bu.json")"
grep -q '"blocklist-size": 2' "$SL_W/bu.json" || sl_fail "blocklist-update: $(cat "$SL_W/bu.json")"
cmp -s "$SL_W/www/list.dat" "$SL_W/block.p2p" || sl_fail "the downloaded list was not kept in blocklist_file"
rpc session-get '{"fields":["blocklist-size","blocklist-url"]}' >"$SL_W/sg2.json"
grep -q '"blocklist-size": 2' "$SL_W/sg2.json" && grep -q "list.dat" "$SL_W/sg2.json" ||
    sl_fail "session-get after the update: $(cat "$SL_W/sg2.json")"
# A missing list fails with the reason and leaves the one in force.
rpc session-set "{\"blocklist-url\":\"http://127.0.0.1:$HP/missing\"}" >/dev/null
rpc blocklist-update >"$SL_W/bu2.json" && sl_fail "a 404 was answered with success"
grep -q "HTTP 404" "$SL_W/bu2.json" || sl_fail "blocklist-update of a 404: $(cat "$SL_W/bu2.json")"
rpc session-get '{"fields":["blocklist-size"]}' | grep -q '"blocklist-size": 2' ||
    sl_fail "the failed update replaced the list"
# Switched off: no list, no refusals.
rpc session-set '{"blocklist-enabled":false}' >/dev/null || sl_fail "blocklist-enabled false"
rpc session-get '{"fields":["blocklist-enabled","blocklist-size"]}' >"$SL_W/sg3.json"
grep -q '"blocklist-enabled": false' "$SL_W/sg3.json" && grep -q '"blocklist-size": 0' "$SL_W/sg3.json" ||
    sl_fail "switched off: $(cat "$SL_W/sg3.json")"
sl_say "blocklist-update: 2 rules from http://127.0.0.1:$HP/list.dat, kept; a 404 refused; off"
echo "PASS blocklist"
