#!/bin/bash
# get_complete.sh: `downpour get FILE.torrent` whose data is already complete checks it and exits
# 0 ("exits 0 when complete"; it seeded forever instead: issue 11, finding 13); with --seed it
# keeps seeding; with a piece damaged it does not claim completion and goes on downloading.
# $1 = the downpour binary.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: get_complete.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
W=$(mktemp -d /tmp/dp-get-complete.XXXXXX)
PID=
cleanup() {
	stop_pid "$PID"
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	for f in "$W"/*.out "$W"/*.err; do [ -f "$f" ] && { echo "== $f"; tail -n 20 "$f"; }; done >&2
	exit 1
}
mkdir -p "$W/d"
head -c 1000000 /dev/urandom > "$W/d/f.bin"
cp "$W/d/f.bin" "$W/orig.bin"
"$DP" create -o "$W/t.torrent" -s 32768 "$W/d/f.bin" >/dev/null 2>&1 || fail "create"
printf 'listen_address = "127.0.0.1";\n' > "$W/get.conf"

# 1. Complete data: checked, then exit 0 (bounded: 30 s).
timeout 30 "$DP" get --config "$W/get.conf" --port "$(free_port)" -o "$W/d" "$W/t.torrent" \
    >"$W/get1.out" 2>"$W/get1.err"
RC=$?
[ "$RC" -eq 0 ] || fail "get of complete data exited $RC (124: still running after 30 s)"
grep -q "already complete" "$W/get1.out" || fail "get did not say the data was complete"
grep -q "31 of 31 pieces verified" "$W/get1.err" || fail "get did not check the data"
cmp -s "$W/d/f.bin" "$W/orig.bin" || fail "the data changed"

# 2. --seed: it stays, seeding, until interrupted; then exit 0 (it had everything).
"$DP" get --seed --config "$W/get.conf" --port "$(free_port)" -o "$W/d" "$W/t.torrent" \
    >"$W/get2.out" 2>"$W/get2.err" &
PID=$!
for _ in $(seq 1 100); do grep -qs "seeding until interrupted" "$W/get2.out" && break; sleep 0.1; done
grep -q "seeding until interrupted" "$W/get2.out" || fail "get --seed did not say it seeds"
sleep 1
kill -0 "$PID" 2>/dev/null || fail "get --seed left instead of seeding"
kill -TERM "$PID"
wait "$PID"
RC=$?
PID=
[ "$RC" -eq 0 ] || fail "get --seed exited $RC after SIGTERM"

# 3. One damaged piece and no peer: not complete, so it waits to download (exit 1 when stopped).
printf 'XXXX' | dd of="$W/d/f.bin" bs=1 seek=40000 conv=notrunc 2>/dev/null
"$DP" get --config "$W/get.conf" --port "$(free_port)" -o "$W/d" "$W/t.torrent" \
    >"$W/get3.out" 2>"$W/get3.err" &
PID=$!
for _ in $(seq 1 100); do grep -qs "pieces verified" "$W/get3.err" && break; sleep 0.1; done
grep -q "30 of 31 pieces verified" "$W/get3.err" || fail "the damaged piece was not found"
sleep 1
kill -0 "$PID" 2>/dev/null || fail "get with a damaged piece exited as if complete"
kill -TERM "$PID"
wait "$PID"
RC=$?
PID=
[ "$RC" -eq 1 ] || fail "get interrupted before completion exited $RC, want 1"
echo "PASS: get_complete"
