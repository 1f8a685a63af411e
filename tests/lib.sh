# lib.sh: shell helpers the interop and TUI tests share (sourced, not run): a free loopback
# port, stopping a process by PID, and bounded waits for a process, a log line or a file.
# shellcheck shell=bash

# DP_ASAN=1 (the switch): run the ASan+UBSan build of downpour. A script given .../build/downpour
# runs .../build-asan/downpour of the same tree instead (`run-suite.sh`'s asan stage builds it, or
# `make -C build-asan downpour` after configuring it with CC=clang --enable-asan). A sanitizer
# report aborts the process and is written under $DP_ASAN_LOGS (default: a new temp dir,
# printed), so a report from a daemon whose exit status no script sees is still found:
# run-suite fails a script that leaves one there. Leaks are the unit tests' and valgrind's job
# (detect_leaks=0).
if [ "${DP_ASAN:-0}" = 1 ]; then
	: "${DP_ASAN_LOGS:=$(mktemp -d /tmp/dp-asan.XXXXXX)}"
	export DP_ASAN_LOGS
	export ASAN_OPTIONS="abort_on_error=1:detect_leaks=0:log_path=$DP_ASAN_LOGS/asan"
	export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$DP_ASAN_LOGS/ubsan"
	case "${1:-}" in
	build/downpour | */build/downpour) set -- "${1%build/downpour}build-asan/downpour" "${@:2}" ;;
	esac
	[ -x "${1:-}" ] || { echo "lib.sh: DP_ASAN=1 but ${1:-(no binary)} is not built" >&2; exit 1; }
	echo "lib.sh: DP_ASAN=1: running $1; sanitizer reports go to $DP_ASAN_LOGS" >&2
fi

# free_port: a TCP port free on 127.0.0.1 at this moment, and not one this script was given
# before: two picks made before either is listened on could get the same port from the kernel
# (a clean-clone run had ops_magnet_restart's seeder and RPC on one port). The ports given go
# to $TMPDIR/downpour-ports.PID of the script ($$ is the script's in a $(...) too); files of
# scripts no longer running are removed.
free_port() {
	/usr/bin/python3 - "${TMPDIR:-/tmp}" "$$" <<'PY'
import glob, os, socket, sys
d, pid = sys.argv[1], sys.argv[2]
for f in glob.glob(os.path.join(d, "downpour-ports.*")):
    try:
        os.kill(int(f.rsplit(".", 1)[1]), 0)
    except ProcessLookupError:
        try:
            os.unlink(f)
        except OSError:
            pass
    except (ValueError, PermissionError):
        pass
state = os.path.join(d, "downpour-ports." + pid)
try:
    with open(state) as fh:
        given = set(fh.read().split())
except OSError:
    given = set()
for _ in range(100):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    if str(p) not in given:
        break
with open(state, "a") as fh:
    fh.write("%d\n" % p)
print(p)
PY
}

# stop_pid PID [SECONDS]: SIGTERM, wait up to SECONDS (default 8) for it to go, then SIGKILL.
# An empty PID or one already gone is fine.
stop_pid() {
	local p=$1 tenths=$(( ${2:-8} * 10 ))
	[ -n "$p" ] || return 0
	kill -0 "$p" 2>/dev/null || return 0
	kill -TERM "$p" 2>/dev/null
	for _ in $(seq 1 "$tenths"); do
		kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null; return 0; }
		sleep 0.1
	done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

# wait_gone PID SECONDS: until the process has exited; 1 if it still runs.
wait_gone() {
	for _ in $(seq 1 $(( $2 * 10 ))); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	return 1
}

# wait_log PATTERN SECONDS [LOG]: until a line of LOG (the daemon's, $W/s/downpour.log) from
# line $LOG0 on (1: all of it) matches PATTERN; 1 if none does in time.
wait_log() {
	local log=${3:-$W/s/downpour.log}
	for _ in $(seq 1 $(( $2 * 10 ))); do
		tail -n "+${LOG0:-1}" "$log" 2>/dev/null | grep -q -- "$1" && return 0
		sleep 0.1
	done
	return 1
}

# wait_file FILE: until FILE exists and is not empty (5 s at most).
wait_file() { for _ in $(seq 1 50); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }

# hash_of TORRENT: its hex info hash, from `$DP info --json`.
hash_of() {
	"$DP" info --json "$1" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["info_hash"])'
}
