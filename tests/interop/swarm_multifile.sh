#!/bin/bash
# swarm_multifile.sh: a torrent of 400 files of odd sizes (empty, one byte, up to ~300 KiB) in
# nested folders, made by mktorrent, through every client: libtorrent seeds and downpour downloads
# (UDP tracker); downpour seeds and libtorrent (UDP) and aria2 (HTTP) download at the same time;
# downpour seeds and dials transmission, which downloads. Every copy must equal the original
# tree byte for byte (Transmission 3.00's: its non-empty files; it creates no empty ones). $1 = the downpour binary.
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_init swarm_multifile "${1:-}"
sl_need_lt
sl_need mktorrent mktorrent
sl_need aria2c aria2
NFILES=${DP_SWARM_FILES:-400}

sl_tracker_start
mkdir -p "$SL_W/src"
sl_make_tree "$SL_W/src/tree" "$NFILES" 20240611
BYTES=$(du -sb --apparent-size "$SL_W/src/tree" | cut -f1)
# 2^16-byte pieces: most pieces span several files, many files share a piece.
mktorrent -l 16 -a "$SL_ANNOUNCE_UDP" -o "$SL_W/udp.torrent" "$SL_W/src/tree" \
    >"$SL_W/mktorrent.log" 2>&1 || sl_fail "mktorrent"
sl_retrack "$SL_W/udp.torrent" "$SL_ANNOUNCE_HTTP" "$SL_W/http.torrent"
sl_tracker_allow "$SL_W/udp.torrent"
"$DP" info "$SL_W/udp.torrent" >"$SL_W/info.out" 2>&1 || sl_fail "downpour info on mktorrent's torrent"
NFILES_DP=$(sed -n '/^FILES$/,$p' "$SL_W/info.out" | grep -c '^  [^ ]')
[ "$NFILES_DP" -eq "$NFILES" ] || sl_fail "downpour info lists $NFILES_DP files, not $NFILES"
sl_say "$NFILES files, $BYTES bytes, $(grep 'Pieces:' "$SL_W/info.out" | tr -s ' ')"

# 1. libtorrent seeds, downpour downloads (UDP tracker).
LT_PORT=$(sl_free_port)
sl_bg lt-seed "$SL_W/lt-seed.log" /usr/bin/python3 "$SL_DIR/lt_seed.py" "$SL_W/udp.torrent" \
    "$SL_W/src" --port "$LT_PORT" --ready-file "$SL_W/lt-seed.ready"
LT_PID=$SL_BG_PID
SL_WAIT_PID=$LT_PID sl_wait 120 "the libtorrent seeder" test -f "$SL_W/lt-seed.ready"
sl_dp_get dp-get "$SL_W/udp.torrent" "$SL_W/dp-out" 180
sl_same "$SL_W/src/tree" "$SL_W/dp-out/tree" || sl_fail "downpour's tree differs"
sl_say "libtorrent -> downpour: $NFILES files identical in $SL_WALL s"
sl_stop "$LT_PID" 10 || sl_fail "libtorrent seeder exited $? on SIGTERM"

# 2. downpour seeds its copy; libtorrent and aria2 download from it at the same time.
sl_dp_seed dp-seed "$SL_W/http.torrent" "$SL_W/dp-out"
SL_WAIT_PID=$SL_DP_SEED_PID sl_wait 30 "downpour's announce" sl_tracker_has_seeds "$SL_W/http.torrent"
T0=$SECONDS
sl_bg lt-get "$SL_W/lt-get.log" timeout -k 5 200 /usr/bin/python3 "$SL_DIR/lt_leech.py" \
    "$SL_W/udp.torrent" "$SL_W/lt-out" --port "$(sl_free_port)" --timeout 180
LTG_PID=$SL_BG_PID
# shellcheck disable=SC2046
sl_bg aria2-get "$SL_W/aria2-get.log" timeout -k 5 200 aria2c $(sl_aria2_args) \
    --listen-port="$(sl_free_port)" --seed-time=0 --dir="$SL_W/aria2-out" "$SL_W/http.torrent"
A_PID=$SL_BG_PID
wait "$LTG_PID"; RC=$?
[ $RC -eq 0 ] || sl_fail "libtorrent leecher exited $RC"
wait "$A_PID"; RC=$?
[ $RC -eq 0 ] || sl_fail "aria2 leecher exited $RC"
sl_same "$SL_W/src/tree" "$SL_W/lt-out/tree" || sl_fail "libtorrent's tree differs"
sl_same "$SL_W/src/tree" "$SL_W/aria2-out/tree" || sl_fail "aria2's tree differs"
sl_say "downpour -> libtorrent + aria2 at once: both trees identical in $((SECONDS - T0)) s"
sl_stop "$SL_DP_SEED_PID" 10 || sl_fail "downpour seed exited $? on SIGTERM"

# 3. downpour seeds and dials transmission (which never dials loopback tracker peers).
sl_transmission_start tr-get "$SL_W/tr-out"
TR_PID=$SL_TR_PID
mkdir -p "$SL_W/tr-out"
T0=$SECONDS
sl_tr -a "$SL_W/http.torrent" -w "$SL_W/tr-out" >>"$SL_W/tr-get.log" 2>&1 || sl_fail "transmission-remote -a"
sl_dp_conf "$SL_W/dp-seed2.conf"
sl_bg dp-seed2 "$SL_W/dp-seed2.log" "$DP" seed --config "$SL_W/dp-seed2.conf" -o "$SL_W/dp-out" \
    --port "$(sl_free_port)" --peer "127.0.0.1:$SL_TR_PORT" "$SL_W/http.torrent"
DPS_PID=$SL_BG_PID
SL_WAIT_PID=$DPS_PID sl_wait 180 "transmission to complete the tree" sl_tr_done
sl_same_nonempty "$SL_W/src/tree" "$SL_W/tr-out/tree" || sl_fail "transmission's tree differs"
sl_say "downpour -> transmission: every non-empty file identical in $((SECONDS - T0)) s" \
    "(Transmission 3.00 does not create empty files)"
sl_stop "$DPS_PID" 10 || sl_fail "downpour seed exited $? on SIGTERM"
sl_stop "$TR_PID" 15 || sl_fail "transmission exited $? on SIGTERM"
echo "PASS swarm_multifile: $NFILES files ($BYTES bytes) libtorrent -> downpour -> libtorrent," \
    "aria2, transmission"
exit 0
