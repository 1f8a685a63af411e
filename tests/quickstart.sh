#!/bin/sh
# quickstart.sh: the README's two commands. Installs whatever is missing (Debian, as root),
# builds, then either runs downpour on its built-in default, the local demo swarm in the TUI
# ("run"), or the whole test suite ("test").
set -eu
cd "$(dirname "$0")/.."
mode=${1:-run}

build_pkgs="build-essential autoconf automake pkg-config libncurses-dev libevent-dev libssl-dev
  libconfig-dev libjansson-dev check libminiupnpc-dev libnatpmp-dev"
test_pkgs="clang libclang-rt-14-dev valgrind tmux opentracker aria2 transmission-cli
  transmission-daemon python3-libtorrent mktorrent socat iproute2 util-linux miniupnpd
  miniupnpd-nftables nftables chromium chromium-driver"

case $mode in
run) want=$build_pkgs ;;
test) want="$build_pkgs $test_pkgs" ;;
*) echo "usage: tests/quickstart.sh run|test" >&2; exit 2 ;;
esac

missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "quickstart: installing$missing"
	sudo_cmd=
	[ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
	$sudo_cmd apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	./autogen.sh
fi
mkdir -p build
if [ ! -f build/Makefile ] || [ configure -nt build/config.status ]; then
	(cd build && ../configure --enable-werror -q)
fi
make -C build -s -j"$(nproc)"

case $mode in
run) exec build/downpour --demo ;;
test) exec tests/run-suite.sh ;;
esac
