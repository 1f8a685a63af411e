#!/bin/bash
# tracker_ipv6.sh: BEP 7 (issue 14): a tracker named by a host name that resolves to 127.0.0.1
# and ::1 hears from downpour over both families, with one key; a seed listening on ::1 only
# announces over IPv6 only, and the downloader reaches it through the tracker's peers6 (the
# only address it could use), byte-identical. The tracker is a small dual-stack one
# (tracker6.py: Debian's opentracker is IPv4-only). Runs in network and mount namespaces of its
# own (the name goes in their /etc/hosts). $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_netns "$0" "$@"
sl_init tracker_ipv6 "${1:-}"

# The name: both loopbacks, in this mount namespace's /etc/hosts only.
printf '127.0.0.1 localhost\n127.0.0.1 dual.test\n::1 dual.test\n' >"$SL_W/hosts"
mount --bind "$SL_W/hosts" /etc/hosts || sl_fail "cannot bind-mount /etc/hosts in the namespace"

TPORT=$(sl_free_port)
sl_bg tracker6 "$SL_W/tracker6.log" /usr/bin/python3 "$SL_DIR/tracker6.py" "$TPORT" \
    "$SL_W/announces"
SL_WAIT_PID=$SL_BG_PID sl_wait 10 "the tracker" test -e "$SL_W/announces"
sl_make_tree "$SL_W/src/tree" 20 4
"$DP" create -o "$SL_W/t.torrent" -t "http://dual.test:$TPORT/announce" -s 32768 "$SL_W/src/tree" \
    >/dev/null 2>&1 || sl_fail "create"

conf() {
	printf 'listen_address = "%s";\ndht = false;\nlsd = false;\nsession_dir = "%s";\n' \
	    "$2" "$SL_W/session-$(basename "$1" .conf)" >"$1"
}
conf "$SL_W/seed.conf" "::1"
conf "$SL_W/get.conf" "127.0.0.1"
SEED_PORT=$(sl_free_port)
sl_bg dp-seed "$SL_W/dp-seed.log" "$DP" seed --config "$SL_W/seed.conf" -o "$SL_W/src" \
    --port "$SEED_PORT" "$SL_W/t.torrent"
SEED_PID=$SL_BG_PID
SL_WAIT_PID=$SEED_PID sl_wait 30 "the seed's announce" grep -q "port=$SEED_PORT event=started" \
    "$SL_W/announces"
grep "port=$SEED_PORT " "$SL_W/announces" | grep -q "family=4" &&
    sl_fail "the seed listens on ::1 only but announced over IPv4"

timeout -k 5 60 "$DP" get --config "$SL_W/get.conf" -o "$SL_W/out" --port "$(sl_free_port)" \
    "$SL_W/t.torrent" >"$SL_W/dp-get.log" 2>&1
rc=$?
[ $rc -eq 0 ] || sl_fail "downpour get exited $rc"
sl_same "$SL_W/src/tree" "$SL_W/out/tree" || sl_fail "the download differs"
grep -q "\[::1\]:$SEED_PORT" "$SL_W/dp-get.log" || sl_fail "the download did not come from [::1]:$SEED_PORT"
GET=$(grep -v "port=$SEED_PORT " "$SL_W/announces" | grep "event=started")
echo "$GET" | grep -q "family=4" || sl_fail "the downloader never announced over IPv4"
echo "$GET" | grep -q "family=6" || sl_fail "the downloader never announced over IPv6"
[ "$(echo "$GET" | sed -n 's/.*key=\([^ ]*\).*/\1/p' | sort -u | wc -l)" -eq 1 ] ||
    sl_fail "the two announces carried different keys"
sl_stop "$SEED_PID" 10 || sl_fail "downpour seed exited $? on SIGTERM"
echo "PASS tracker_ipv6: announces over both families with one key; the peer came from peers6"
