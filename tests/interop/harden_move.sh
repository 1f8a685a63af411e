#!/bin/bash
# harden_move.sh: the move to completed_dir on a shared machine (issue 11, finding 9). Three
# downloads from libtorrent seeders finish in a daemon with completed_dir: one whose folder name
# another user planted in completed_dir as a symbolic link to their directory, one whose file
# name exists there already, and a plain one. The first two end in the error state naming what
# is in the way, their data kept in the download directory and the other files untouched; the
# third moves. Before: the move followed the link and replaced the file behind it, and
# replaced the existing file.
# $1 = the downpour binary.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: harden_move.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/dp-harden-move.XXXXXX)
PIDS=()
DPID=
cleanup() {
	local p
	for p in "${PIDS[@]}" $DPID; do stop_pid "$p"; done
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	tail -n 30 "$W/s/downpour.log" >&2 2>/dev/null
	exit 1
}
RP=$(free_port)
DPORT=$(free_port)
rpc() { /usr/bin/python3 "$HERE/rpc_call.py" "$RP" "$@"; }
field() {   # field ID NAME
	rpc torrent-get "{\"ids\":[$1],\"fields\":[\"$2\"]}" | /usr/bin/python3 -c \
	    "import json,sys; t=json.load(sys.stdin)['arguments']['torrents']; print(t[0]['$2'] if t else '')"
}
mkdir -p "$W/src/pkg" "$W/dl" "$W/done" "$W/victim" "$W/s"
head -c 200000 /dev/urandom >"$W/src/pkg/a.bin"
head -c 100000 /dev/urandom >"$W/src/pkg/b.bin"
head -c 150000 /dev/urandom >"$W/src/single.bin"
head -c 120000 /dev/urandom >"$W/src/ok.bin"
for t in pkg single.bin ok.bin; do
	"$DP" create -o "$W/$t.torrent" -s 16384 "$W/src/$t" >/dev/null 2>&1 || fail "create $t"
done
# Another user's planted link and an existing file of the same name.
echo "the victim's file" >"$W/victim/a.bin"
ln -s "$W/victim" "$W/done/pkg"
echo "someone's single.bin" >"$W/done/single.bin"
cat >"$W/d.conf" <<CONF
listen_address = "127.0.0.1";
completed_dir = "$W/done";
CONF
"$DP" daemon --foreground --config "$W/d.conf" --session "$W/s" --download-dir "$W/dl" \
    --port "$DPORT" --rpc-no-auth --rpc-port "$RP" >"$W/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 1 100); do rpc session-get >/dev/null 2>&1 && break; sleep 0.1; done
rpc session-get >/dev/null || fail "the daemon's RPC does not answer"
declare -A ID
for t in pkg single.bin ok.bin; do
	ID[$t]=$(rpc torrent-add "{\"metainfo\":\"$(base64 -w0 "$W/$t.torrent")\",\"paused\":false}" |
	    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["arguments"]["torrent-added"]["id"])') ||
	    fail "torrent-add $t"
	/usr/bin/python3 "$HERE/lt_seed.py" "$W/$t.torrent" "$W/src" --port "$(free_port)" \
	    --no-tracker --connect "127.0.0.1:$DPORT" --timeout 120 >"$W/seed-$t.log" 2>&1 &
	PIDS+=($!)
done
# Done when ok.bin has moved and the other two report an error (60 s at most).
END=$((SECONDS + 60))
while [ $SECONDS -lt $END ]; do
	[ -f "$W/done/ok.bin" ] && [ -n "$(field "${ID[pkg]}" errorString)" ] &&
	    [ -n "$(field "${ID[single.bin]}" errorString)" ] && break
	sleep 0.2
done
cmp -s "$W/src/ok.bin" "$W/done/ok.bin" || fail "the plain torrent was not moved intact"
E1=$(field "${ID[pkg]}" errorString)
E2=$(field "${ID[single.bin]}" errorString)
cmp -s "$W/victim/a.bin" <(echo "the victim's file") || fail "the file behind the planted link was replaced ($E1)"
[ -L "$W/done/pkg" ] || fail "the planted link was replaced"
echo "$E1" | grep -q "done/pkg: a symbolic link" || fail "pkg's error does not name the link: '$E1'"
cmp -s "$W/done/single.bin" <(echo "someone's single.bin") || fail "the existing single.bin was replaced ($E2)"
echo "$E2" | grep -q "done/single.bin: exists; not replacing it" || fail "single.bin's error: '$E2'"
for f in pkg/a.bin pkg/b.bin single.bin; do
	cmp -s "$W/src/$f" "$W/dl/$f" || fail "$f is not kept in the download directory"
done
echo "PASS: harden_move (pkg: $E1; single.bin: $E2)"
