#!/bin/bash
# mse_interop.sh: encrypted connections (MSE/PE, RC4) with real peers on loopback: downpour
# downloads from a libtorrent seeder that accepts only RC4 and from a transmission-daemon that
# requires encryption; a libtorrent leecher that insists on RC4 downloads from downpour with
# --encryption required, and one with encryption off gets nothing. Byte-identical every time.
# usage: tests/interop/mse_interop.sh PATH/TO/downpour
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_init mse_interop "${1:-}"
sl_need_lt
SIZE_MIB=${DP_SWARM_MIB:-64}
export SL_DP_LOG_LEVEL=debug
# libtorrent: pe_forced (0) both ways, RC4 only (allowed_enc_level 2); pe_disabled is 2.
LT_RC4_ONLY=(--set in_enc_policy=0 --set out_enc_policy=0 --set allowed_enc_level=2)
LT_PLAIN_ONLY=(--set in_enc_policy=2 --set out_enc_policy=2)

# wait_exit PID SECONDS: waits (bounded) for our child to exit by itself; its status in $RC.
wait_exit() {
	sl_wait "$2" "process $1 to finish" eval '! sl_alive '"$1"
	wait "$1" 2>/dev/null
	RC=$?
}

mkdir -p "$SL_W/src"
sl_make_file "$SL_W/src/payload.bin" $((SIZE_MIB * 1048576 + 4321))
"$DP" create -o "$SL_W/p.torrent" -s 524288 "$SL_W/src/payload.bin" >"$SL_W/create.log" 2>&1 ||
    sl_fail "downpour create"

# 1. libtorrent seeder that accepts only RC4 -> downpour with its defaults (preferred).
LT_PORT=$(sl_free_port)
sl_bg lt-seed "$SL_W/lt-seed.log" /usr/bin/python3 "$SL_DIR/lt_seed.py" "$SL_W/p.torrent" \
    "$SL_W/src" --port "$LT_PORT" --no-tracker --ready-file "$SL_W/lt-seed.ready" "${LT_RC4_ONLY[@]}"
LT_SEED_PID=$SL_BG_PID
SL_WAIT_PID=$LT_SEED_PID sl_wait 60 "the libtorrent seeder" test -s "$SL_W/lt-seed.ready"
sl_dp_get dp-get1 "$SL_W/p.torrent" "$SL_W/out1" 120 --peer "127.0.0.1:$LT_PORT"
sl_same "$SL_W/src/payload.bin" "$SL_W/out1/payload.bin" || sl_fail "the copy from libtorrent differs"
grep -q "127.0.0.1:$LT_PORT: connected over [a-zA-Z]*+RC4" "$SL_W/dp-get1.log" ||
    sl_fail "downpour did not report an RC4 connection to the libtorrent seeder"
sl_say "libtorrent (RC4 only) -> downpour: $SIZE_MIB MiB byte-identical in $SL_WALL s over RC4"
sl_stop "$LT_SEED_PID" 10

# 2. downpour seeds with --encryption required; a libtorrent leecher that insists on RC4 gets it.
sl_dp_conf "$SL_W/dp-seed.conf"
DP_PORT=$(sl_free_port)
sl_bg dp-seed "$SL_W/dp-seed.log" "$DP" seed --config "$SL_W/dp-seed.conf" -o "$SL_W/src" \
    --port "$DP_PORT" --encryption required "$SL_W/p.torrent"
DP_SEED_PID=$SL_BG_PID
SL_WAIT_PID=$DP_SEED_PID sl_wait 120 "downpour seed to verify its data" \
    grep -q "checked: .* pieces verified" "$SL_W/dp-seed.log"
sl_bg lt-rc4 "$SL_W/lt-rc4.log" /usr/bin/python3 "$SL_DIR/lt_leech.py" "$SL_W/p.torrent" \
    "$SL_W/out2" --port "$(sl_free_port)" --connect "127.0.0.1:$DP_PORT" --timeout 120 \
    "${LT_RC4_ONLY[@]}"
wait_exit "$SL_BG_PID" 130
[ "$RC" -eq 0 ] || sl_fail "the RC4-only libtorrent leecher exited $RC"
sl_same "$SL_W/src/payload.bin" "$SL_W/out2/payload.bin" || sl_fail "libtorrent's copy differs"
grep -q "connected over [a-zA-Z]*+RC4" "$SL_W/dp-seed.log" ||
    sl_fail "downpour's seed did not report an RC4 connection"
sl_say "downpour (--encryption required) -> libtorrent (RC4 only): byte-identical"

# 3. The same seed refuses a libtorrent leecher with encryption off: it gets nothing.
sl_bg lt-plain "$SL_W/lt-plain.log" /usr/bin/python3 "$SL_DIR/lt_leech.py" "$SL_W/p.torrent" \
    "$SL_W/out3" --port "$(sl_free_port)" --connect "127.0.0.1:$DP_PORT" --timeout 15 \
    "${LT_PLAIN_ONLY[@]}"
wait_exit "$SL_BG_PID" 40
[ "$RC" -eq 3 ] || sl_fail "the plaintext libtorrent leecher exited $RC (3: timed out with nothing)"
grep -q "lt_leech: 0.0%" "$SL_W/lt-plain.log" || sl_fail "the plaintext leecher made progress"
grep -q "plaintext refused: encryption is required" "$SL_W/dp-seed.log" ||
    sl_fail "downpour did not say why it refused the plaintext leecher"
sl_say "downpour (--encryption required) refused a plaintext libtorrent leecher"
sl_stop "$DP_SEED_PID" 10 || sl_fail "downpour seed exited $? on SIGTERM"

# 4. transmission-daemon that requires encryption seeds; downpour dials it.
SL_TR_ENCRYPTION=2 sl_transmission_start tr-seed "$SL_W/src"
TR_PID=$SL_TR_PID
sl_tr -a "$SL_W/p.torrent" -w "$SL_W/src" >>"$SL_W/tr-seed.log" 2>&1 || sl_fail "transmission-remote -a"
SL_WAIT_PID=$TR_PID sl_wait 120 "transmission to verify its data" sl_tr_done
sl_dp_get dp-get4 "$SL_W/p.torrent" "$SL_W/out4" 180 --peer "127.0.0.1:$SL_TR_PORT"
sl_same "$SL_W/src/payload.bin" "$SL_W/out4/payload.bin" || sl_fail "the copy from transmission differs"
grep -q "127.0.0.1:$SL_TR_PORT: connected over [a-zA-Z]*+RC4" "$SL_W/dp-get4.log" ||
    sl_fail "downpour did not report an RC4 connection to transmission"
sl_say "transmission (encryption required) -> downpour: byte-identical in $SL_WALL s over RC4"
sl_stop "$TR_PID" 15 || sl_fail "transmission exited $? on SIGTERM"
echo "PASS mse_interop: RC4 with libtorrent both ways, plaintext refused, transmission required"
exit 0
