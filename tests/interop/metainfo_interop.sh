#!/bin/bash
# metainfo_interop.sh: torrents made by mktorrent and transmission-create load in `downpour info`
# with libtorrent's info-hash and file list; torrents made by `downpour create` load in libtorrent
# and transmission-show with the same info-hash and file list, and their pieces verify; inputs
# libtorrent accepts (a trailing line end, BEP 47 links without a length, pad files without a path)
# load with libtorrent's view of them.
# usage: tests/interop/metainfo_interop.sh PATH/TO/downpour   (exit 0 = pass)
set -u

DP=${1:?usage: $0 PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
TOOL=$HERE/../../../shared/peerlab/torrent_tool.py
[ -f "$TOOL" ] || TOOL=/work/shared/peerlab/torrent_tool.py
T=30   # seconds allowed for any one command

fail=0
checks=0
TMP=$(mktemp -d /tmp/dp_interop_XXXXXX)
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT

ok() { checks=$((checks + 1)); echo "ok   $*"; }
bad() { checks=$((checks + 1)); fail=$((fail + 1)); echo "FAIL $*"; }

need() {
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "FAIL: $1 is not installed (Debian package $2)"
		exit 1
	fi
}
need mktorrent mktorrent
need transmission-create transmission-cli
need transmission-show transmission-cli
if ! $PY -c 'import libtorrent' 2>/dev/null; then
	echo "FAIL: python3-libtorrent is not installed"
	exit 1
fi

# Prints "HASH<TAB>PRIVATE<TAB>PIECE_LENGTH" then one "PATH<TAB>LENGTH" per file, as libtorrent
# sees the torrent; paths are relative to the torrent's folder, like downpour info prints them.
lt_view() {
	timeout $T $PY - "$1" <<'EOF'
import sys, libtorrent as lt
ti = lt.torrent_info(sys.argv[1])
fs = ti.files()
print("%s\t%d\t%d" % (ti.info_hash(), 1 if ti.priv() else 0, ti.piece_length()))
multi = fs.num_files() > 1 or "/" in fs.file_path(0) or "\\" in fs.file_path(0)
for i in range(fs.num_files()):
    p = fs.file_path(i).replace("\\", "/")
    if multi and not (fs.file_flags(i) & fs.flag_pad_file and p.startswith(".pad/")):
        p = p.split("/", 1)[1]
    print("%s\t%d" % (p, fs.file_size(i)))
EOF
}

# The same view from `downpour info --json`.
dp_view() {
	timeout $T "$DP" info --json "$1" | timeout $T $PY -c '
import json, sys
d = json.load(sys.stdin)
print("%s\t%d\t%d" % (d["info_hash"], 1 if d["private"] else 0, d["piece_length"]))
for f in d["files"]:
    print("%s\t%d" % (f["path"], f["length"]))
'
}

# transmission-show: "HASH" then the file paths (sizes are rounded there, so paths only).
ts_view() {
	timeout $T transmission-show "$1" | timeout $T $PY -c '
import sys
lines = sys.stdin.read().split("\n")
h = [l.split(":", 1)[1].strip() for l in lines if l.strip().startswith("Hash:")]
print(h[0] if h else "no-hash")
infiles = False
for l in lines:
    if l.strip() == "FILES":
        infiles = True
        continue
    if infiles and l.startswith("  ") and l.rstrip().endswith(")"):
        print(l.strip().rsplit(" (", 1)[0])
'
}

# Compares two views; name says what was compared.
same() {
	local what=$1 a=$2 b=$3
	if [ "$a" = "$b" ] && [ -n "$a" ]; then
		ok "$what"
	else
		bad "$what"
		diff <(echo "$a") <(echo "$b") | head -20
	fi
}

# ---- test data ----
D=$TMP/data
mkdir -p "$D/tree/sub/deeper" "$D/tree/other dir" "$D/tree/empty_dir_is_dropped"
head -c 100003 /dev/urandom >"$D/tree/sub/deeper/odd.bin"
head -c 16385 /dev/urandom >"$D/tree/sub/b.bin"
head -c 16383 /dev/urandom >"$D/tree/other dir/c d.bin"
head -c 1 /dev/urandom >"$D/tree/one"
: >"$D/tree/zero"
printf 'x' >"$D/tree/.hidden"
printf 'unicode' >"$D/tree/sub/é ü.txt"
head -c 777777 /dev/urandom >"$D/single.bin"
ANN=http://127.0.0.1:6969/announce

# ---- made by others, read by downpour ----
cd "$TMP" || exit 1
timeout $T mktorrent -a $ANN -l 15 -o mk_single.torrent "$D/single.bin" >/dev/null 2>&1 ||
	bad "mktorrent single"
timeout $T mktorrent -a $ANN -l 15 -o mk_multi.torrent "$D/tree" >/dev/null 2>&1 ||
	bad "mktorrent multi"
timeout $T transmission-create -t $ANN -o tc_single.torrent "$D/single.bin" >/dev/null 2>&1 ||
	bad "transmission-create single"
timeout $T transmission-create -t $ANN -s 16 -o tc_multi.torrent "$D/tree" >/dev/null 2>&1 ||
	bad "transmission-create multi"
for t in mk_single mk_multi tc_single tc_multi; do
	[ -f $t.torrent ] || continue
	same "downpour info reads $t.torrent like libtorrent (hash, private, piece size, files)" \
	    "$(lt_view $t.torrent 2>&1)" "$(dp_view $t.torrent 2>&1)"
done

# ---- made by downpour, read by others ----
check_dp_torrent() {
	local what=$1 tor=$2 data_parent=$3
	local lt dp ts lt_hash lt_files ts_files
	lt=$(lt_view "$tor" 2>&1)
	dp=$(dp_view "$tor" 2>&1)
	ts=$(ts_view "$tor" 2>&1)
	same "$what: libtorrent and downpour info agree" "$lt" "$dp"
	lt_hash=$(echo "$lt" | sed -n 1p | cut -f1)
	same "$what: transmission-show has the same info-hash" "$lt_hash" "$(echo "$ts" | head -1)"
	# transmission-show lists name/path for multi-file torrents, in its own order.
	lt_files=$(echo "$lt" | tail -n +2 | cut -f1 | sort)
	ts_files=$(echo "$ts" | tail -n +2 | sed "s|^$(basename "$4")/||" | sort)
	same "$what: transmission-show has the same files" "$lt_files" "$ts_files"
	if timeout $T $PY "$TOOL" verify "$tor" "$data_parent" >/dev/null 2>&1; then
		ok "$what: every piece verifies against the data (torrent_tool.py)"
	else
		bad "$what: pieces do not verify"
	fi
}

timeout $T "$DP" create -o dp_single.torrent -t $ANN "$D/single.bin" >/dev/null
check_dp_torrent "create single file" dp_single.torrent "$D" "$D/single.bin"

timeout $T "$DP" create -o dp_multi.torrent -t $ANN -t udp://127.0.0.1:6969 \
    -w http://127.0.0.1:8080/ -c "a comment" "$D/tree" >/dev/null 2>dp_multi.err
check_dp_torrent "create multi-file, odd sizes, nested dirs" dp_multi.torrent "$D" "$D/tree"
n=$(echo "$(lt_view dp_multi.torrent)" | tail -n +2 | wc -l)
if [ "$n" = 7 ]; then ok "multi-file torrent holds all 7 files (hidden and empty ones too)";
else bad "multi-file torrent holds $n files, expected 7"; fi
tiers=$(timeout $T $PY -c '
import sys, libtorrent as lt
ti = lt.torrent_info(sys.argv[1])
print(" ".join("%d:%s" % (t.tier, t.url) for t in ti.trackers()), "|", ti.comment(), "|",
      " ".join(w["url"] for w in ti.web_seeds()))' dp_multi.torrent 2>&1)
same "trackers are separate tiers, comment and web seed kept (libtorrent)" \
    "0:$ANN 1:udp://127.0.0.1:6969 | a comment | http://127.0.0.1:8080/" "$tiers"

timeout $T "$DP" create -p -o dp_private.torrent "$D/tree" >/dev/null
check_dp_torrent "create -p" dp_private.torrent "$D" "$D/tree"
same "private flag seen by libtorrent" "1" "$(lt_view dp_private.torrent | sed -n 1p | cut -f2)"
if timeout $T transmission-show dp_private.torrent | grep -q 'Private torrent'; then
	ok "private flag seen by transmission-show"
else
	bad "transmission-show does not see the private flag"
fi

timeout $T "$DP" create -s 32K -o dp_s32k.torrent "$D/single.bin" >/dev/null
check_dp_torrent "create -s 32K" dp_s32k.torrent "$D" "$D/single.bin"
same "piece length 32 KiB seen by libtorrent" "32768" "$(lt_view dp_s32k.torrent | sed -n 1p | cut -f3)"

# Same content and options as mktorrent: the same info-hash (nothing extra in info).
timeout $T "$DP" create -s 32K -o dp_like_mk.torrent "$D/single.bin" >/dev/null
timeout $T mktorrent -l 15 -o mk_like.torrent "$D/single.bin" >/dev/null 2>&1
same "downpour create and mktorrent give the same info-hash for the same file" \
    "$(lt_view mk_like.torrent | sed -n 1p | cut -f1)" "$(lt_view dp_like_mk.torrent | sed -n 1p | cut -f1)"

# ---- torrents libtorrent accepts that downpour refused (issue 11, finding 12) ----
# A line end after the final 'e', BEP 47 links with no 'length' (or one libtorrent ignores), pad
# files with no or an empty 'path': the same hash and the same file list (links and pads as
# libtorrent names and sizes them).
timeout $T $PY - "$TMP" "$HERE" <<'EOF'
import sys
out = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from benc import be, pieces as pieces_of
pl = 16384
def pieces(data):
    return pieces_of(data, pl)
data = b"a" * 20000
single = {"name": "x", "piece length": pl, "length": len(data), "pieces": pieces(data)}
open(out + "/lt_trailing_nl.torrent", "wb").write(be({"info": single}) + b"\n")
for name, link in (("nolen", {}), ("len500", {"length": 500})):
    files = [{"length": len(data), "path": ["a"]},
             dict({"attr": "l", "symlink path": ["a"], "path": ["link"]}, **link)]
    info = {"name": "d", "piece length": pl, "pieces": pieces(data), "files": files}
    open(out + "/lt_symlink_%s.torrent" % name, "wb").write(be({"info": info}))
padded = b"a" * 100 + b"\0" * (pl - 100) + b"b" * 100
for name, pad in (("nopath", {}), ("emptypath", {"path": []})):
    files = [{"length": 100, "path": ["a"]}, dict({"attr": "p", "length": pl - 100}, **pad),
             {"length": 100, "path": ["b"]}]
    info = {"name": "d", "piece length": pl, "pieces": pieces(padded), "files": files}
    open(out + "/lt_pad_%s.torrent" % name, "wb").write(be({"info": info}))
EOF
for t in lt_trailing_nl lt_symlink_nolen lt_symlink_len500 lt_pad_nopath lt_pad_emptypath; do
	same "downpour info reads $t.torrent like libtorrent" "$(lt_view $t.torrent 2>&1)" \
	    "$(dp_view $t.torrent 2>&1)"
done
if timeout $T "$DP" info --json lt_symlink_nolen.torrent | grep -q '"symlink": "a"'; then
	ok "the link's target is kept (info --json)"
else
	bad "no symlink target in info --json"
fi

# ---- exit statuses ----
status() { timeout $T "$DP" "$@" >/dev/null 2>&1; echo $?; }
mkdir -p "$TMP/empty"
same "create on an empty directory exits 2" 2 "$(status create -o e.torrent "$TMP/empty")"
same "create on a missing path exits 2" 2 "$(status create "$TMP/nope")"
same "create -s 1000 exits 2" 2 "$(status create -s 1000 "$D/single.bin")"
same "create -t not-a-url exits 2" 2 "$(status create -t nope "$D/single.bin")"
same "create refuses an existing output (exit 2)" 2 "$(status create -o dp_single.torrent "$D/single.bin")"
same "create -f overwrites (exit 0)" 0 "$(status create -f -o dp_single.torrent "$D/single.bin")"
same "create into a missing directory exits 1" 1 "$(status create -o "$TMP/no/dir/x.torrent" "$D/single.bin")"
if [ -z "$(ls "$TMP" | grep '\.torrent\.')" ]; then ok "no temporary files left behind";
else bad "temporary files left: $(ls "$TMP" | grep '\.torrent\.')"; fi
( cd "$TMP" && timeout $T "$DP" create "$D/single.bin" >/dev/null 2>&1 )
if [ -f "$TMP/single.bin.torrent" ]; then ok "default output is NAME.torrent in the current directory";
else bad "no single.bin.torrent in the current directory"; fi

echo "$checks checks, $fail failed"
[ $fail -eq 0 ]
