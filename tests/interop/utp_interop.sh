#!/bin/bash
# utp_interop.sh: uTP (BEP 29) with real peers on loopback: downpour downloads 64 MiB from a
# libtorrent seeder with TCP off (uTP only) and a uTP-only libtorrent leecher downloads from
# downpour; then the same both ways with transmission-daemon, whose TCP port is closed by a
# firewall rule so that only uTP connects. Byte-identical every time; downpour's log must say
# uTP. Runs in a network namespace of its own (unshare -n, root) so the rule touches nothing else.
# usage: tests/interop/utp_interop.sh PATH/TO/downpour
set -u
if [ -z "${UTP_INTEROP_NETNS:-}" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "FAIL utp_interop: needs root (unshare -n, nft)" >&2; exit 1; }
	command -v unshare >/dev/null && command -v nft >/dev/null && command -v ip >/dev/null ||
	    { echo "FAIL utp_interop: needs unshare, nft and ip (util-linux, nftables, iproute2)" >&2;
	      exit 1; }
	export UTP_INTEROP_NETNS=1
	exec unshare -n -- "$0" "$@"
fi
ip link set lo up || { echo "FAIL utp_interop: can't bring lo up in the namespace" >&2; exit 1; }
. "$(dirname "$0")/swarm_lib.sh"
sl_init utp_interop "${1:-}"
sl_need_lt
SIZE_MIB=${DP_SWARM_MIB:-64}
export SL_DP_LOG_LEVEL=debug
LT_UTP_ONLY=(--set enable_incoming_tcp=false --set enable_outgoing_tcp=false
    --set enable_incoming_utp=true --set enable_outgoing_utp=true)

# wait_exit PID SECONDS: waits (bounded) for our child to exit by itself; its status in $RC.
wait_exit() {
	sl_wait "$2" "process $1 to finish" eval '! sl_alive '"$1"
	wait "$1" 2>/dev/null
	RC=$?
}

# tcp_reject PORT: TCP to PORT is refused (RST) in this namespace: only uTP gets there.
tcp_reject() {
	nft list table inet utp_interop >/dev/null 2>&1 || {
		nft add table inet utp_interop &&
		    nft 'add chain inet utp_interop input { type filter hook input priority 0; }'
	} || sl_fail "nft: can't make the table"
	nft add rule inet utp_interop input tcp dport "$1" reject with tcp reset ||
	    sl_fail "nft: can't refuse TCP to port $1"
}

mkdir -p "$SL_W/src"
sl_make_file "$SL_W/src/payload.bin" $((SIZE_MIB * 1048576 + 1234))
"$DP" create -o "$SL_W/p.torrent" -s 1048576 "$SL_W/src/payload.bin" >"$SL_W/create.log" 2>&1 ||
    sl_fail "downpour create"

# 1. libtorrent seeder with TCP off -> downpour with its defaults.
LT_PORT=$(sl_free_port)
sl_bg lt-seed "$SL_W/lt-seed.log" /usr/bin/python3 "$SL_DIR/lt_seed.py" "$SL_W/p.torrent" \
    "$SL_W/src" --port "$LT_PORT" --no-tracker --ready-file "$SL_W/lt-seed.ready" "${LT_UTP_ONLY[@]}"
LT_SEED_PID=$SL_BG_PID
SL_WAIT_PID=$LT_SEED_PID sl_wait 60 "the libtorrent seeder" test -s "$SL_W/lt-seed.ready"
sl_dp_get dp-get1 "$SL_W/p.torrent" "$SL_W/out1" 180 --peer "127.0.0.1:$LT_PORT"
sl_same "$SL_W/src/payload.bin" "$SL_W/out1/payload.bin" || sl_fail "the copy from libtorrent differs"
grep -q "127.0.0.1:$LT_PORT: connected over uTP" "$SL_W/dp-get1.log" ||
    sl_fail "downpour did not report a uTP connection to the libtorrent seeder"
sl_say "libtorrent (uTP only) -> downpour: $SIZE_MIB MiB byte-identical in $SL_WALL s over uTP"
sl_stop "$LT_SEED_PID" 10

# 2. downpour seeds; a libtorrent leecher with TCP off downloads.
sl_dp_conf "$SL_W/dp-seed.conf"
DP_PORT=$(sl_free_port)
sl_bg dp-seed "$SL_W/dp-seed.log" "$DP" seed --config "$SL_W/dp-seed.conf" -o "$SL_W/src" \
    --port "$DP_PORT" "$SL_W/p.torrent"
DP_SEED_PID=$SL_BG_PID
SL_WAIT_PID=$DP_SEED_PID sl_wait 120 "downpour seed to verify its data" \
    grep -q "checked: .* pieces verified" "$SL_W/dp-seed.log"
T0=$(date +%s.%N)
sl_bg lt-get "$SL_W/lt-get.log" /usr/bin/python3 "$SL_DIR/lt_leech.py" "$SL_W/p.torrent" \
    "$SL_W/out2" --port "$(sl_free_port)" --connect "127.0.0.1:$DP_PORT" --timeout 170 \
    "${LT_UTP_ONLY[@]}"
wait_exit "$SL_BG_PID" 180
[ "$RC" -eq 0 ] || sl_fail "the uTP-only libtorrent leecher exited $RC"
WALL=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
sl_same "$SL_W/src/payload.bin" "$SL_W/out2/payload.bin" || sl_fail "libtorrent's copy differs"
grep -q "connected over uTP" "$SL_W/dp-seed.log" || sl_fail "downpour's seed did not report uTP"
sl_say "downpour -> libtorrent (uTP only): byte-identical in $WALL s over uTP"
sl_stop "$DP_SEED_PID" 10 || sl_fail "downpour seed exited $? on SIGTERM"

# 3. transmission-daemon seeds with uTP on and its TCP port refused; downpour dials it.
SL_TR_UTP=true sl_transmission_start tr-seed "$SL_W/src"
TR_PID=$SL_TR_PID
sl_tr -a "$SL_W/p.torrent" -w "$SL_W/src" >>"$SL_W/tr-seed.log" 2>&1 || sl_fail "transmission-remote -a"
SL_WAIT_PID=$TR_PID sl_wait 120 "transmission to verify its data" sl_tr_done
tcp_reject "$SL_TR_PORT"
sl_dp_get dp-get3 "$SL_W/p.torrent" "$SL_W/out3" 240 --peer "127.0.0.1:$SL_TR_PORT"
sl_same "$SL_W/src/payload.bin" "$SL_W/out3/payload.bin" || sl_fail "the copy from transmission differs"
grep -q "127.0.0.1:$SL_TR_PORT: connected over uTP" "$SL_W/dp-get3.log" ||
    sl_fail "downpour did not report a uTP connection to transmission"
sl_say "transmission (TCP refused) -> downpour: byte-identical in $SL_WALL s over uTP"
sl_stop "$TR_PID" 15 || sl_fail "transmission exited $? on SIGTERM"

# 4. transmission-daemon leeches (uTP on, TCP refused); downpour's seed dials it.
SL_TR_UTP=true sl_transmission_start tr-get "$SL_W/out4"
TR_PID=$SL_TR_PID
mkdir -p "$SL_W/out4"
tcp_reject "$SL_TR_PORT"
sl_tr -a "$SL_W/p.torrent" -w "$SL_W/out4" >>"$SL_W/tr-get.log" 2>&1 || sl_fail "transmission-remote -a"
sl_dp_conf "$SL_W/dp-seed4.conf"
T0=$(date +%s.%N)
sl_bg dp-seed4 "$SL_W/dp-seed4.log" "$DP" seed --config "$SL_W/dp-seed4.conf" -o "$SL_W/src" \
    --port "$(sl_free_port)" --peer "127.0.0.1:$SL_TR_PORT" "$SL_W/p.torrent"
DP_SEED_PID=$SL_BG_PID
SL_WAIT_PID=$DP_SEED_PID sl_wait 240 "transmission to complete the download" sl_tr_done
WALL=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
sl_same "$SL_W/src/payload.bin" "$SL_W/out4/payload.bin" || sl_fail "transmission's copy differs"
grep -q "127.0.0.1:$SL_TR_PORT: connected over uTP" "$SL_W/dp-seed4.log" ||
    sl_fail "downpour's seed did not report uTP to transmission"
sl_say "downpour -> transmission (TCP refused): byte-identical in $WALL s over uTP"
sl_stop "$DP_SEED_PID" 10 || sl_fail "downpour seed exited $? on SIGTERM"
sl_stop "$TR_PID" 15 || sl_fail "transmission exited $? on SIGTERM"
echo "PASS utp_interop: uTP with libtorrent and transmission, both ways ($SIZE_MIB MiB each)"
exit 0
