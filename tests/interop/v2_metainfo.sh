#!/bin/bash
# v2_metainfo.sh: BitTorrent v2 and hybrid torrents (BEP 52) against libtorrent: `downpour create
# --format v2|hybrid -s N` gives the info-hashes libtorrent computes for the same folder and piece
# size (nested folders, an empty file, odd sizes, identical files), libtorrent loads those
# torrents and finds every piece of the data valid, `downpour info --json` reads libtorrent's own
# v2 and hybrid torrents with the same hashes and files (info_hash absent for v2-only), and
# libtorrent's test torrents load or are refused as libtorrent's own test expects.
# usage: tests/interop/v2_metainfo.sh PATH/TO/downpour   (exit 0 = pass)
set -u
. "$(dirname "$0")/../lib.sh"

DP=${1:?usage: $0 PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
T=60   # seconds allowed for any one command

fail=0
checks=0
TMP=$(mktemp -d /tmp/dp_v2meta_XXXXXX)
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT

ok() { checks=$((checks + 1)); echo "ok   $*"; }
bad() { checks=$((checks + 1)); fail=$((fail + 1)); echo "FAIL $*"; }

if ! $PY -c 'import libtorrent' 2>/dev/null; then
	echo "FAIL: python3-libtorrent is not installed"
	exit 1
fi

same() {
	local what=$1 a=$2 b=$3
	if [ "$a" = "$b" ] && [ -n "$a" ]; then
		ok "$what"
	else
		bad "$what"
		diff <(echo "$a") <(echo "$b") | head -20
	fi
}

# libtorrent makes a torrent: lt_make PATH FORMAT PIECE_SIZE OUT
lt_make() {
	timeout $T $PY - "$@" <<'EOF'
import os, sys, libtorrent as lt
path, fmt, ps, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
fs = lt.file_storage()
lt.add_files(fs, path)
flags = {"v2": lt.create_torrent.v2_only, "hybrid": 0}[fmt]
ct = lt.create_torrent(fs, ps, flags=flags)
lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(path)))
open(out, "wb").write(lt.bencode(ct.generate()))
EOF
}

# What libtorrent sees: "V1 V2 PIECES" ('-' for a missing hash), then "PATH<TAB>SIZE" for each
# file that is not padding, relative to the torrent's folder.
lt_view() {
	timeout $T $PY - "$1" <<'EOF'
import sys, libtorrent as lt
ti = lt.torrent_info(sys.argv[1])
ih = ti.info_hashes()
print("%s %s %d" % (ih.v1 if ih.has_v1() else "-", ih.v2 if ih.has_v2() else "-",
                    ti.num_pieces()))
fs = ti.files()
real = [i for i in range(fs.num_files()) if not fs.file_flags(i) & fs.flag_pad_file]
multi = any("/" in fs.file_path(i) for i in real)
for i in real:
    p = fs.file_path(i)
    print("%s\t%d" % (p.split("/", 1)[1] if multi and "/" in p else p, fs.file_size(i)))
EOF
}

# The same view from `downpour info --json`.
dp_view() {
	timeout $T "$DP" info --json "$1" | timeout $T $PY -c '
import json, sys
d = json.load(sys.stdin)
print("%s %s %d" % (d.get("info_hash", "-"), d.get("info_hash_v2", "-"), d["piece_count"]))
for f in d["files"]:
    if not f["pad"]:
        print("%s\t%d" % (f["path"], f["length"]))
'
}

# libtorrent checks the data against a torrent: prints "PIECES_VALID/PIECES".
lt_verify() {
	timeout $T $PY - "$1" "$2" "$HERE" <<'EOF'
import sys, time
sys.path.insert(0, sys.argv[3])
import libtorrent as lt
import lt_common
ses = lt.session(lt_common.settings(0, tracker_alerts=False))
p = lt.add_torrent_params()
p.ti = lt.torrent_info(sys.argv[1])
p.save_path = sys.argv[2]
lt_common.set_flags(p)
h = ses.add_torrent(p)
deadline = time.time() + 40
while time.time() < deadline and h.status().state != lt.torrent_status.seeding:
    time.sleep(0.1)
s = h.status()
print("%d/%d" % (s.num_pieces, p.ti.num_pieces()))
EOF
}

# ---- test data ----
D=$TMP/data
mkdir -p "$D/tree/sub/deeper" "$D/tree/other dir" "$D/tree/a"
head -c 100003 /dev/urandom >"$D/tree/sub/deeper/odd.bin"
head -c 16385 /dev/urandom >"$D/tree/sub/b.bin"
head -c 16383 /dev/urandom >"$D/tree/other dir/c d.bin"
head -c 65536 /dev/urandom >"$D/tree/sub/exact64k"
head -c 1 /dev/urandom >"$D/tree/one"
head -c 300001 /dev/urandom >"$D/tree/a/big"
cp "$D/tree/a/big" "$D/tree/a/big_copy"          # identical files share a piece layer
: >"$D/tree/a/empty"
: >"$D/tree/zero"
printf 'x' >"$D/tree/.hidden"
printf 'unicode' >"$D/tree/sub/é ü.txt"
head -c 777777 /dev/urandom >"$D/single.bin"
head -c 5000 /dev/urandom >"$D/small.bin"
# Executables get attr "x" (BEP 47) in libtorrent's torrents, so they change the info-hashes:
# one in a folder, an empty one, and a single-file torrent of one.
chmod 755 "$D/tree/sub/deeper/odd.bin" "$D/tree/a/empty" "$D/small.bin"
cd "$TMP" || exit 1

# ---- made by downpour: libtorrent's hashes, and the data verifies ----
for src in tree single.bin small.bin; do
	for fmt in v2 hybrid; do
		for ps in 16384 65536 262144; do
			name="$src $fmt ${ps}"
			rm -f dp.torrent lt.torrent
			if ! timeout $T "$DP" create --format $fmt -s $ps -o dp.torrent "$D/$src" \
			    >create.out 2>&1; then
				bad "$name: downpour create failed: $(head -3 create.out)"
				continue
			fi
			lt_make "$D/$src" $fmt $ps lt.torrent || { bad "$name: libtorrent create"; continue; }
			same "$name: libtorrent reads downpour's torrent with the hashes of its own" \
			    "$(lt_view lt.torrent 2>&1)" "$(lt_view dp.torrent 2>&1)"
			same "$name: downpour info reads libtorrent's torrent as libtorrent does" \
			    "$(lt_view lt.torrent 2>&1)" "$(dp_view lt.torrent 2>&1)"
			if [ "$ps" = 16384 ]; then
				want=$(lt_view dp.torrent 2>&1 | head -1 | cut -d' ' -f3)
				same "$name: libtorrent finds every piece of the data valid" \
				    "$want/$want" "$(lt_verify dp.torrent "$D" 2>&1)"
			fi
		done
	done
done

# the executables are marked in every format
timeout $T "$DP" create --format hybrid -s 16384 -o x.torrent "$D/tree" >/dev/null 2>&1
timeout $T "$DP" create -s 16384 -o x1.torrent "$D/small.bin" >/dev/null 2>&1
marks=$(timeout $T $PY - x.torrent x1.torrent <<'EOF'
import sys, libtorrent as lt
out = []
for f in sys.argv[1:]:
    fs = lt.torrent_info(f).files()
    out += [fs.file_path(i) for i in range(fs.num_files())
            if fs.file_flags(i) & fs.flag_executable]
print(" ".join(sorted(out)))
EOF
)
same "executable files carry attr x (v1 list, v2 tree, single file)" \
    "small.bin tree/a/empty tree/sub/deeper/odd.bin" "$marks"

# downpour's default piece size and the printed hashes
timeout $T "$DP" create --format hybrid -o dflt.torrent "$D/tree" >dflt.out 2>&1
line=$(lt_view dflt.torrent 2>&1 | head -1)
if grep -q "info hash ${line%% *}, v2 info hash $(echo "$line" | cut -d' ' -f2) " dflt.out; then
	ok "create --format hybrid prints both info-hashes as libtorrent computes them"
else
	bad "create --format hybrid output: $(cat dflt.out) / libtorrent: $line"
fi
out=$(timeout $T "$DP" create --format v3 -o x.torrent "$D/tree" 2>&1)
if [ $? -eq 2 ] && echo "$out" | grep -q "not v1, v2 or hybrid"; then
	ok "create --format v3 is a usage error"
else
	bad "create --format v3: $out"
fi
# v1 stays v1: no v2 keys, the same torrent as before
timeout $T "$DP" create -s 16384 -o v1.torrent "$D/tree" >/dev/null 2>&1
v1=$(timeout $T "$DP" info --json v1.torrent 2>&1)
if echo "$v1" | grep -q '"format": "v1"' && ! echo "$v1" | grep -q info_hash_v2 &&
    [ "$(lt_view v1.torrent | head -1 | cut -d' ' -f2)" = "-" ]; then
	ok "create without --format makes a v1 torrent"
else
	bad "create without --format: $v1"
fi

# ---- libtorrent's test torrents ----
LTT=$HERE/lt_test_torrents
n=0
while read -r f want; do
	[ -n "$f" ] || continue
	n=$((n + 1))
	if timeout $T "$DP" info --json "$LTT/$f" >got.json 2>got.err; then
		got=ok
	else
		got=refused
	fi
	if [ "$got" != "$want" ]; then
		bad "libtorrent's $f: downpour says $got, libtorrent expects $want $(head -c 200 got.err)"
	elif [ "$got" = ok ]; then
		# Paths aside: a name with a bad byte and a '/' is made safe differently (libtorrent
		# drops the '/', downpour turns it into '_').
		same "libtorrent's $f loads with libtorrent's hashes, pieces and file sizes" \
		    "$(lt_view "$LTT/$f" 2>&1 | sed 's/^.*\t//')" \
		    "$(dp_view "$LTT/$f" 2>&1 | sed 's/^.*\t//')"
	else
		ok "libtorrent's $f is refused ($(sed 's/^downpour: [^:]*: //' got.err | head -c 100))"
	fi
done <"$LTT/expected.txt"
[ "$n" -ge 30 ] || bad "only $n test torrents listed"

echo "$checks checks, $fail failed"
[ "$fail" -eq 0 ]
