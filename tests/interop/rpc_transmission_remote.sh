#!/bin/bash
# rpc_transmission_remote.sh: Debian's transmission-remote drives a downpour daemon over the RPC on
# loopback: add (file; a magnet must be accepted), list while a `downpour seed` peer feeds it,
# info, files, wants, start/stop, limits, session info and stats, remove, remove-and-delete, authentication.
# $1 = the downpour binary. Exit 0 = pass.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: rpc_transmission_remote.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
command -v transmission-remote >/dev/null || { echo "FAIL: transmission-remote not installed" >&2; exit 1; }
W=$(mktemp -d /tmp/dp-rpc-tr.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do stop_pid "$p" 5; done
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	for f in "$W"/*.log "$W"/sess/downpour.log; do [ -f "$f" ] && { echo "== $f"; tail -n 25 "$f"; }; done >&2
	exit 1
}

mkdir -p "$W/data/multi" "$W/dl" "$W/seed"
head -c 3000000 /dev/urandom > "$W/seed/file1.bin"
head -c 400000 /dev/urandom > "$W/data/multi/a.bin"
head -c 600000 /dev/urandom > "$W/data/multi/b.bin"
"$DP" create -o "$W/one.torrent" -s 65536 "$W/seed/file1.bin" >/dev/null || fail "create one"
"$DP" create -o "$W/multi.torrent" -s 65536 "$W/data/multi" >/dev/null || fail "create multi"

LP=$(free_port); RP=$(free_port); SP=$(free_port)
cat > "$W/d.conf" <<CONF
session_dir = "$W/sess";
download_dir = "$W/dl";
listen_address = "127.0.0.1";
listen_port = $LP;
CONF
"$DP" daemon --foreground --config "$W/d.conf" --rpc --rpc-no-auth --rpc-port "$RP" >"$W/daemon.log" 2>&1 &
PIDS+=($!)
TR=(transmission-remote "127.0.0.1:$RP")
for _ in $(seq 1 50); do "${TR[@]}" -l >/dev/null 2>&1 && break; sleep 0.1; done
"${TR[@]}" -l >/dev/null 2>&1 || fail "the RPC does not answer on port $RP"

# -a FILE, and the same again (a duplicate is not an error)
"${TR[@]}" -a "$W/one.torrent" | grep -q 'responded: "success"' || fail "-a one.torrent"
"${TR[@]}" -a "$W/one.torrent" | grep -q 'responded: "success"' || fail "-a duplicate"
# -d: a download limit keeps the transfer slow enough to see it moving
"${TR[@]}" -d 800 | grep -q success || fail "-d 800"
"${TR[@]}" -si | grep -q "Download speed limit: 800 kB/s" || fail "-si after -d"

# A downpour seeder connects to the daemon; the daemon downloads.
"$DP" seed --config <(echo 'listen_address = "127.0.0.1";') -o "$W/seed" --port "$SP" \
    --peer "127.0.0.1:$LP" "$W/one.torrent" >"$W/seed.log" 2>&1 &
PIDS+=($!)
SAW_RATE=0
for _ in $(seq 1 300); do
	L=$("${TR[@]}" -l)
	line=$(echo "$L" | grep 'file1.bin')
	# Fixed columns: ID(4) mark(1) Done(4) Have(9) ETA(8) Up(6) Down(6), two spaces apart.
	down=$(echo "$line" | cut -c43-48)
	if echo "$line" | grep -qE 'Downloading|Up & Down' && \
	    awk -v d="$down" 'BEGIN { exit !(d + 0 > 0) }'; then
		SAW_RATE=1
		echo "$line" > "$W/moving.txt"
	fi
	echo "$line" | grep -q '100%' && break
	sleep 0.2
done
echo "$L" > "$W/list.txt"
grep 'file1.bin' "$W/list.txt" | grep -q '100%' || fail "download did not finish: $(cat "$W/list.txt")"
grep 'file1.bin' "$W/list.txt" | grep -q 'Done' || fail "ETA column is not Done"
grep 'file1.bin' "$W/list.txt" | grep -qE 'Seeding|Idle|Uploading' || fail "status after completion"
[ "$SAW_RATE" = 1 ] || fail "-l never showed a download rate while downloading"
cmp "$W/seed/file1.bin" "$W/dl/file1.bin" || fail "downloaded data differs"
"${TR[@]}" -D | grep -q success || fail "-D"

# -t N -i
ID1=$(echo "$L" | awk '/file1.bin/ { sub(/\*/, "", $1); print $1 }')
I=$("${TR[@]}" -t "$ID1" -i)
echo "$I" | grep -q "Name: file1.bin" || fail "-i name"
echo "$I" | grep -q "Percent Done: 100%" || fail "-i percent"
echo "$I" | grep -q "Hash: $("$DP" info --json "$W/one.torrent" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["info_hash"])')" \
    || fail "-i hash"
echo "$I" | grep -q "Total size: 3.00 MB" || fail "-i size"

# multi-file: -f, -G, -g
"${TR[@]}" -a "$W/multi.torrent" | grep -q success || fail "-a multi"
ID2=$("${TR[@]}" -l | awk '/ multi$/ { sub(/\*/, "", $1); print $1 }')
[ -n "$ID2" ] || fail "multi not listed"
F=$("${TR[@]}" -t "$ID2" -f)
echo "$F" | grep -q "multi (2 files)" || fail "-f header: $F"
echo "$F" | grep -qE '^ +1: .* Yes .*multi/b.bin' || fail "-f row: $F"
"${TR[@]}" -t "$ID2" -G 1 | grep -q success || fail "-G"
"${TR[@]}" -t "$ID2" -f | grep -qE '^ +1: .* No .*multi/b.bin' || fail "-G did not unwant file 1"
"${TR[@]}" -t "$ID2" -g 1 | grep -q success || fail "-g"
"${TR[@]}" -t "$ID2" -f | grep -qE '^ +1: .* Yes .*multi/b.bin' || fail "-g did not want file 1"

# -S / -s
"${TR[@]}" -t "$ID2" -S | grep -q success || fail "-S"
"${TR[@]}" -l | grep ' multi$' | grep -q Stopped || fail "-S: not Stopped"
"${TR[@]}" -t "$ID2" -s | grep -q success || fail "-s"
sleep 0.3
"${TR[@]}" -l | grep ' multi$' | grep -q Stopped && fail "-s: still Stopped"

# per-torrent limits
"${TR[@]}" -t "$ID2" -d 300 -u 40 | grep -q success || fail "-t -d -u"
"${TR[@]}" -t "$ID2" -i | grep -q "Download Limit: 300 kB/s" || fail "torrent download limit"
"${TR[@]}" -t "$ID2" -i | grep -q "Upload Limit: 40 kB/s" || fail "torrent upload limit"
"${TR[@]}" -u 250 | grep -q success || fail "-u"
"${TR[@]}" -si | grep -q "Upload speed limit: 250 kB/s" || fail "-si after -u"

# session info and stats
S=$("${TR[@]}" -si)
echo "$S" | grep -q "Daemon version: 4.0.0 (downpour " || fail "-si version"
echo "$S" | grep -q "Listenport: $LP" || fail "-si port"
echo "$S" | grep -q "Download directory: $W/dl" || fail "-si download dir"
ST=$("${TR[@]}" -st)
echo "$ST" | grep -q "CURRENT SESSION" || fail "-st"
echo "$ST" | grep -A3 "CURRENT SESSION" | grep -q "Downloaded: 3.00 MB" || fail "-st downloaded: $ST"

# -a MAGNET: added (fetching its metadata from peers), listed, and a second add is a duplicate
MAG="magnet:?xt=urn:btih:$(printf '%040d' 7)&dn=magnet-test"
M=$("${TR[@]}" -a "$MAG" 2>&1)
echo "$M" | grep -q 'responded: "success"' || fail "-a MAGNET: $M"
"${TR[@]}" -l | grep -q "magnet-test" || fail "magnet not listed"
M=$("${TR[@]}" -a "$MAG" 2>&1)
echo "$M" | grep -q 'responded: "success"' || fail "-a MAGNET again (a duplicate is not an error): $M"
[ "$("${TR[@]}" -l | grep -c "magnet-test")" = 1 ] || fail "magnet listed twice"

# -r keeps data, --remove-and-delete deletes it
"${TR[@]}" -t "$ID1" -r | grep -q success || fail "-r"
"${TR[@]}" -l | grep -q file1.bin && fail "-r: still listed"
[ -f "$W/dl/file1.bin" ] || fail "-r deleted the data"
for _ in $(seq 1 30); do [ -f "$W/dl/multi/a.bin" ] && break; sleep 0.1; done
"${TR[@]}" -t "$ID2" --remove-and-delete | grep -q success || fail "--remove-and-delete"
for _ in $(seq 1 50); do [ -e "$W/dl/multi/a.bin" ] || break; sleep 0.1; done
[ -e "$W/dl/multi/a.bin" ] && fail "--remove-and-delete left the data"

# Authentication: a second daemon with --rpc-auth refuses wrong credentials.
stop_pid "${PIDS[0]}" 5
RP2=$(free_port)
"$DP" daemon --foreground --config "$W/d.conf" --rpc-port "$RP2" --rpc-auth alice:s3cret \
    >"$W/daemon2.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do transmission-remote "127.0.0.1:$RP2" -n alice:s3cret -l >/dev/null 2>&1 && break; sleep 0.1; done
transmission-remote "127.0.0.1:$RP2" -n alice:s3cret -l >/dev/null 2>&1 || fail "right credentials refused"
transmission-remote "127.0.0.1:$RP2" -n alice:wrong -l >"$W/auth.txt" 2>&1 && fail "wrong password accepted"
grep -q "401" "$W/auth.txt" || fail "wrong password: no 401: $(cat "$W/auth.txt")"
transmission-remote "127.0.0.1:$RP2" -l >/dev/null 2>&1 && fail "no credentials accepted"
echo "PASS: transmission-remote against downpour's RPC"
exit 0
