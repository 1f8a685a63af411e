#!/bin/sh
# demo.sh: the README's first command's built-in default: a small payload and torrent made in a
# temporary directory, described by `downpour info`.
set -eu
dp=${1:-build/downpour}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/downpour-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/demo/docs"
head -c 3000000 /dev/urandom >"$tmp/demo/payload.bin"
echo "downpour demo" >"$tmp/demo/docs/README.txt"
"$dp" create -o "$tmp/demo.torrent" -t http://127.0.0.1:6969/announce -c "downpour demo" "$tmp/demo"
"$dp" info "$tmp/demo.torrent"
