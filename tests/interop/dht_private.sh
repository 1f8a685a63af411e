#!/bin/bash
# dht_private.sh: a private torrent never touches the DHT or LSD (BEP 27, issue 14), counted in
# datagrams: a stub DHT node and an LSD listener count what `downpour get` sends while it runs
# with the DHT and LSD on. The private torrent's info-hash appears in none of them, though the DHT
# node itself talked to the stub; the same torrent made public shows up in both (the counting
# works). Runs in a network namespace of its own (loopback only). $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_netns "$0" "$@"
sl_init dht_private "${1:-}"

# One run: torrent $1, counts into $2. downpour listens on every address of the namespace (only
# loopback), so LSD is on; it runs 12 s (several DHT and LSD rounds) and is stopped.
count_run() {
	local torrent=$1 out=$2 hash port stub
	hash=$(sl_infohash "$torrent")
	stub=$(sl_free_port)
	sl_bg sniffer "$SL_W/sniffer.log" /usr/bin/python3 "$SL_DIR/dht_sniffer.py" --port "$stub" \
	    --info-hash "$hash" --out "$out"
	local sniff=$SL_BG_PID
	SL_WAIT_PID=$sniff sl_wait 10 "the sniffer" test -s "$out"
	cat >"$SL_W/dp.conf" <<CONF
listen_address = "0.0.0.0";
dht = true;
lsd = true;
session_dir = "$SL_W/dp-session";
log_level = "debug";
CONF
	port=$(sl_free_port)
	timeout -k 5 12 "$DP" get --config "$SL_W/dp.conf" -o "$SL_W/out" --port "$port" \
	    --dht-bootstrap "127.0.0.1:$stub" "$torrent" >"$SL_W/get-$(basename "$out").log" 2>&1
	[ $? -eq 124 ] || sl_fail "downpour get of $(basename "$torrent") did not run until stopped"
	sleep 0.5
	sl_stop "$sniff" 5
	cat "$out"
}

sl_make_tree "$SL_W/src/tree" 8 3
"$DP" create -p -o "$SL_W/private.torrent" "$SL_W/src/tree" >/dev/null 2>&1 || sl_fail "create -p"
"$DP" create -o "$SL_W/public.torrent" "$SL_W/src/tree" >/dev/null 2>&1 || sl_fail "create"
"$DP" info --json "$SL_W/private.torrent" | grep -q '"private": true' ||
    sl_fail "the private torrent is not marked private"

count_run "$SL_W/private.torrent" "$SL_W/private.counts" >/dev/null
. "$SL_W/private.counts"
sl_say "private: DHT datagrams $DHT (naming the torrent $DHT_HASH), LSD $LSD ($LSD_HASH)"
[ "$DHT" -gt 0 ] || sl_fail "the DHT node never talked to the stub: the test proves nothing"
[ "$DHT_HASH" -eq 0 ] || sl_fail "$DHT_HASH DHT datagrams named the private torrent"
[ "$LSD_HASH" -eq 0 ] || sl_fail "$LSD_HASH LSD announces named the private torrent"
grep -q "dht: node" "$SL_W/get-private.counts.log" || sl_fail "the DHT was not on"
PRIV_DHT=$DHT

count_run "$SL_W/public.torrent" "$SL_W/public.counts" >/dev/null
. "$SL_W/public.counts"
sl_say "public: DHT datagrams $DHT (naming the torrent $DHT_HASH), LSD $LSD ($LSD_HASH)"
[ "$DHT_HASH" -gt 0 ] || sl_fail "the public torrent never reached the stub DHT node"
[ "$LSD_HASH" -gt 0 ] || sl_fail "the public torrent was never announced by LSD"
echo "PASS dht_private: private torrent in 0 of $PRIV_DHT DHT datagrams and 0 LSD announces;" \
    "public one in $DHT_HASH and $LSD_HASH"
