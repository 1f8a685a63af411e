#!/bin/bash
# engine_loopback.sh: downpour seeds a multi-file torrent, a second downpour downloads it over
# loopback with --peer (no tracker); the copy must be byte-identical. $1 = the downpour binary.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: engine_loopback.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
W=$(mktemp -d /tmp/dp-engine-loopback.XXXXXX)
SEED_PID=
cleanup() {
	stop_pid "$SEED_PID" 5
	rm -rf "$W"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$W"/*.log; do echo "== $f"; tail -n 30 "$f"; done >&2; exit 1; }


mkdir -p "$W/seed/set/sub" "$W/get"
head -c 5000000 /dev/urandom > "$W/seed/set/a.bin"
head -c 777 /dev/urandom > "$W/seed/set/sub/small.txt"
head -c 3333333 /dev/urandom > "$W/seed/set/sub/b.bin"
: > "$W/seed/set/empty"
"$DP" create -o "$W/t.torrent" -s 65536 -t http://127.0.0.1:9/announce "$W/seed/set" \
    >/dev/null 2>"$W/create.log" || fail "create"

SP=$(free_port); GP=$(free_port)
cat > "$W/lo.conf" <<CONF
listen_address = "127.0.0.1";
CONF
"$DP" seed --config "$W/lo.conf" -o "$W/seed" --port "$SP" "$W/t.torrent" >"$W/seed.log" 2>&1 &
SEED_PID=$!
# Wait (bounded) until the seeder verified its data.
for _ in $(seq 1 100); do
	grep -q "checked:" "$W/seed.log" && break
	kill -0 "$SEED_PID" 2>/dev/null || fail "seeder exited"
	sleep 0.1
done
grep -q "checked: .* pieces verified" "$W/seed.log" || fail "seeder did not verify its data"

START=$(date +%s.%N)
timeout 60 "$DP" get --config "$W/lo.conf" -o "$W/get" --port "$GP" --peer "127.0.0.1:$SP" \
    "$W/t.torrent" >"$W/get.log" 2>&1
RC=$?
END=$(date +%s.%N)
[ "$RC" -eq 0 ] || fail "get exited $RC"
diff -r "$W/seed/set" "$W/get/set" >/dev/null || fail "downloaded data differs"
grep -q "download complete" "$W/get.log" || fail "no completion message"

# The seeder stops cleanly on SIGTERM with status 0.
kill -TERM "$SEED_PID"
for _ in $(seq 1 60); do kill -0 "$SEED_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SEED_PID" 2>/dev/null && fail "seeder did not stop within 6 s of SIGTERM"
wait "$SEED_PID"; SRC=$?
SEED_PID=
[ "$SRC" -eq 0 ] || fail "seeder exited $SRC after SIGTERM"
echo "PASS engine_loopback: 8.3 MB in $(echo "$END - $START" | bc) s"
exit 0
