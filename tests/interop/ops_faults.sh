#!/bin/bash
# ops_faults.sh: the daemon under faults on loopback: kill -9 twice during a download, then a
# restart that completes it byte-identical; queueing (one active download) with a disk-full
# torrent on a small tmpfs that goes to the error state (error hook run) while the other
# finishes, and resumes after the disk grows and the daemon restarts; a seed stopped at its ratio.
# $1 = the downpour binary. Needs opentracker; the tmpfs part needs mount (root).
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: ops_faults.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
W=$(mktemp -d /tmp/dp-ops-faults.XXXXXX)
PIDS=() MOUNTED=
daemon_pid() { cat "$W/s/downpour.pid" 2>/dev/null; }
cleanup() {
	stop_pid "$(daemon_pid)"
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	[ -n "$MOUNTED" ] && umount "$W/small" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	tail -n 50 "$W/s/downpour.log" >&2
	exit 1
}
command -v opentracker >/dev/null || { echo "FAIL: opentracker is not installed"; exit 1; }

TP=$(free_port); DPORT=$(free_port); RP=$(free_port)
rpc() { /usr/bin/python3 "$(dirname "$0")/rpc_call.py" "$RP" "$@"; }
mkdir -p "$W/seed" "$W/trk" "$W/watch" "$W/s" "$W/dl" && chmod 755 "$W" "$W/trk"
head -c 6000000 /dev/urandom > "$W/seed/big.bin"
head -c 500000 /dev/urandom > "$W/seed/small.bin"
for f in big small; do
	"$DP" create -o "$W/$f.torrent" -s 32768 -t "http://127.0.0.1:$TP/announce" \
	    "$W/seed/$f.bin" >/dev/null 2>&1 || fail "create $f"
	hash_of "$W/$f.torrent" >> "$W/trk/whitelist.txt"
done
opentracker -i 127.0.0.1 -p "$TP" -P "$TP" -d "$W/trk" -w whitelist.txt >"$W/tracker.log" 2>&1 &
PIDS+=($!)
# Seeders limited to 1 MB/s so the download takes a few seconds and can be interrupted; small's
# to 100 kB/s, so that it is still downloading (5 s) when big joins the queue behind it (at
# 1 MB/s it was done in 0.5 s, sometimes before the script had copied big in).
printf 'listen_address = "127.0.0.1";\nupload_rate_limit = 1000000;\n' > "$W/seed-big.conf"
printf 'listen_address = "127.0.0.1";\nupload_rate_limit = 100000;\n' > "$W/seed-small.conf"
for f in big small; do
	"$DP" seed --config "$W/seed-$f.conf" -o "$W/seed" --port "$(free_port)" "$W/$f.torrent" \
	    >"$W/seed-$f.out" 2>&1 &
	PIDS+=($!)
done
cat > "$W/d.conf" <<CONF
listen_address = "127.0.0.1";
max_active_downloads = 1;
error_hook = "sh -c 'env | grep ^DOWNPOUR_ > $W/error.env'";
CONF
start_daemon() {
	"$DP" daemon --config "$W/d.conf" --session "$W/s" --download-dir "$1" \
	    --watch-dir "$W/watch" --port "$DPORT" --rpc-no-auth --rpc-port "$RP" 2>>"$W/daemon.err" ||
	    fail "daemon start"
}

# 1. kill -9 twice during the download, then let it finish.
start_daemon "$W/dl"
cp "$W/big.torrent" "$W/watch/"
wait_log "added big.bin" 5 || fail "big.torrent not added"
sleep 2.5
kill -9 "$(daemon_pid)"; sleep 0.3
start_daemon "$W/dl"
sleep 2.7
kill -9 "$(daemon_pid)"; sleep 0.3
: > "$W/s/downpour.log"
start_daemon "$W/dl"
wait_log "download complete" 60 || fail "no completion after two kill -9"
cmp -s "$W/seed/big.bin" "$W/dl/big.bin" || fail "data after kill -9 and restarts differs"
grep -q "changed since the last save: rechecking" "$W/s/downpour.log" ||
    echo "note: no file changed after the last save at the last kill" >&2
stop_pid "$(daemon_pid)"

# 2. Disk full on a 2 MB tmpfs: small (first in the queue) completes, big fails; other
#    torrents unaffected; after the disk grows, a restart resumes and completes big.
if mkdir -p "$W/small" && mount -t tmpfs -o size=2m tmpfs "$W/small" 2>/dev/null; then
	MOUNTED=1
	rm -rf "$W/s" && mkdir -p "$W/s"
	start_daemon "$W/small"
	cp "$W/small.torrent" "$W/watch/"
	wait_log "added small.bin" 5 || fail "small not added"
	cp "$W/big.torrent" "$W/watch/"
	wait_log "big.bin: queued" 5 || fail "big was not queued behind small"
	wait_log "small.bin: download complete" 30 || fail "small did not complete"
	wait_log "big.bin: .*No space left on device" 60 || fail "big did not fail with ENOSPC"
	wait_log "error hook for big.bin: exited with status 0" 10 || fail "error hook did not run"
	grep -q "^DOWNPOUR_ERROR=.*No space left" "$W/error.env" || fail "error hook env"
	kill -USR1 "$(daemon_pid)"
	wait_log "torrent [0-9]* error big.bin" 5 || fail "big not in the error state"
	grep -q "torrent [0-9]* seeding small.bin 100.0%" "$W/s/downpour.log" || fail "small affected"
	cmp -s "$W/seed/small.bin" "$W/small/small.bin" || fail "small data differs"
	stop_pid "$(daemon_pid)"
	mount -o remount,size=20m "$W/small" || fail "remount"
	: > "$W/s/downpour.log"
	start_daemon "$W/small"
	# The error outlives the restart; the user starts the torrent once the cause is fixed.
	wait_log "big.bin: still in the error state" 10 || fail "big's error was not kept"
	rpc torrent-start "{\"ids\":[\"$(hash_of "$W/big.torrent")\"]}" >/dev/null ||
	    fail "torrent-start big"
	wait_log "big.bin: download complete" 60 || fail "big did not resume after the disk grew"
	cmp -s "$W/seed/big.bin" "$W/small/big.bin" || fail "big data differs after resuming"
	stop_pid "$(daemon_pid)"
else
	fail "can't mount a tmpfs for the disk-full part (needs root)"
fi

# 3. Seed ratio: the daemon seeds big (data in dl/) with a ratio limit of 0.5; a leecher
#    downloads it all and the daemon stops seeding.
rm -rf "$W/s" && mkdir -p "$W/s"
printf 'seed_ratio_limit = 0.5;\n' >> "$W/d.conf"
start_daemon "$W/dl"
cp "$W/big.torrent" "$W/watch/"
wait_log "big.bin: checked" 20 || fail "seed data not checked"
mkdir -p "$W/leech"
timeout 60 "$DP" get --config "$W/seed-big.conf" -o "$W/leech" --port "$(free_port)" \
    --peer "127.0.0.1:$DPORT" "$W/big.torrent" >"$W/leech.out" 2>&1 || fail "leecher failed"
wait_log "big.bin: stopped seeding: seed ratio" 10 || fail "seeding did not stop at the ratio"
stop_pid "$(daemon_pid)"
echo "PASS: ops_faults"
