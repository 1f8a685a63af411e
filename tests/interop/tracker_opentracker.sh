#!/bin/bash
# tracker_opentracker.sh: downpour's tracker code against Debian's opentracker on 127.0.0.1, over
# HTTP and UDP: a first client stays registered, a second must get it as a peer, then stops, and
# a third must no longer see the second. $1 = the tracker_probe binary (built by make check), or
# the downpour binary of a build tree (as tests/run-suite.sh passes), next to which it is found.
set -u
. "$(dirname "$0")/../lib.sh"
PROBE=${1:?usage: tracker_opentracker.sh PATH/TO/tests/interop/tracker_probe}
case $PROBE in
*/downpour) PROBE=$(dirname "$PROBE")/tests/interop/tracker_probe ;;
esac
[ -x "$PROBE" ] || { echo "FAIL: $PROBE not built (make check builds it)"; exit 1; }
command -v opentracker >/dev/null || { echo "FAIL: opentracker not installed (apt-get install opentracker)"; exit 1; }
W=$(mktemp -d /tmp/dp-tracker-ot.XXXXXX)
OT_PID=
cleanup() {
	stop_pid "$OT_PID" 5
	rm -rf "$W"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$W"/*.log; do echo "== $f"; tail -n 20 "$f"; done >&2; exit 1; }

IH=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
IH2=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
chmod 755 "$W"
echo "$IH" > "$W/whitelist.txt"
chmod 644 "$W/whitelist.txt"
PORT=$(free_port)
# Whitelist mode (the Debian build); -i before -p/-P binds both listeners to loopback.
opentracker -i 127.0.0.1 -p "$PORT" -P "$PORT" -d "$W" -w whitelist.txt >"$W/opentracker.log" 2>&1 &
OT_PID=$!
for _ in $(seq 1 50); do ss -Hltn "sport = :$PORT" | grep -q . && break; sleep 0.1; done
ss -Hltn "sport = :$PORT" | grep -q . || fail "opentracker did not start"

for URL in "http://127.0.0.1:$PORT/announce" "udp://127.0.0.1:$PORT/announce"; do
	S=${URL%%:*}
	A=$(free_port); B=$(free_port)
	[ "$S" = udp ] && { A=$((A + 1)); B=$((B + 1)); }
	timeout 30 "$PROBE" "$URL" "$IH" "$A" --stay >"$W/$S-a.out" 2>"$W/$S-a.log" || fail "$S: first announce"
	timeout 30 "$PROBE" "$URL" "$IH" "$B" "$A" >"$W/$S-b.out" 2>"$W/$S-b.log" || fail "$S: second client did not get the first as a peer"
	grep -q "^STOPPED=yes" "$W/$S-b.out" || fail "$S: stopped not sent"
	grep -q "stopped announce failed\|no reply to stopped" "$W/$S-b.log" && fail "$S: stopped got no reply"
	timeout 30 "$PROBE" "$URL" "$IH" "$((B + 2))" --stay >"$W/$S-c.out" 2>"$W/$S-c.log" || fail "$S: third announce"
	grep -q "^PEER=127.0.0.1:$B\$" "$W/$S-c.out" && fail "$S: the stopped client is still listed"
	grep -q "^PEER=127.0.0.1:$A\$" "$W/$S-c.out" || fail "$S: the first client is missing"
	grep -q "^SEEDERS=[0-9]" "$W/$S-c.out" || fail "$S: no seeder count"
	# A hash that is not whitelisted: the tracker's refusal comes back as a clear error.
	timeout 30 "$PROBE" "$URL" "$IH2" "$A" --stay >"$W/$S-d.out" 2>"$W/$S-d.log" && fail "$S: unlisted hash accepted"
	grep -q "^ERROR=" "$W/$S-d.out" || fail "$S: no error for an unlisted hash"
	echo "ok $S: $(grep -c '^PEER=' "$W/$S-c.out") peers, $(grep '^ERROR=' "$W/$S-d.out")"
done
echo "PASS tracker_opentracker"
