#!/usr/bin/env bash
# run-suite.sh: the whole test suite: the layering check, unit tests (plain, ASan+UBSan, valgrind),
# fuzz smoke runs, interoperability and TUI scripts, distcheck. Ends with "N passed, N failed".
# Expects tests/quickstart.sh to have installed the dependencies and built build/.
set -u
cd "$(dirname "$0")/.."
top=$PWD
jobs=$(nproc)
passed=0
failed=0
failures=()
logdir=$top/build/test-logs
mkdir -p "$logdir"
# The TUI keeps the user's column choice in $XDG_STATE_HOME: the suite's runs keep theirs in a
# directory of their own, so a choice saved on this machine changes no test's screen and no
# test writes into the user's home.
export XDG_STATE_HOME=$top/build/test-state
rm -rf "$XDG_STATE_HOME" && mkdir -p "$XDG_STATE_HOME"

pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); failures+=("$1"); echo "FAIL: $1 (log: ${2:-})"; }

# The layering check first: it takes a second and names what is wrong without a build.
stage_lint() {
	local log=$logdir/lint.log
	if tests/lint/include_cycles.py "$top" >"$log" 2>&1; then
		pass "lint: include cycles, engine-internal headers ($(tail -n 1 "$log"))"
		grep -E '^(known cycle|stale|include_cycles.allow can)' "$log"
	else
		fail "lint: include cycles, engine-internal headers" "$log"
		cat "$log"
	fi
}

# The suites that take longest (seconds of wall time, most of it waiting on timers): a pool that
# starts them first does not end on one of them. The others follow in suites.h's order.
slow_suites="engine picker ut_pex review task rpc dht attach ut_metadata transport tracker storage idmap
  utp tracker_scrape utp_recovery tracker_gate piece_mem"

# unit_suites: every suite of tests/unit/suites.h, the slow ones first.
unit_suites() {
	local s all
	all=$(sed -nE 's/^[[:space:]]*X\(([a-z0-9_]+)\).*/\1/p' tests/unit/suites.h)
	for s in $slow_suites; do grep -qx "$s" <<<"$all" && echo "$s"; done
	grep -vxF -f <(xargs -n 1 <<<"$slow_suites") <<<"$all"
}

# run_suites NAME WIDTH PREFIX CMD...: every Check suite in its own process of CMD (CK_RUN_SUITE;
# Check forks each test anyway, so a suite sees what it saw in one runner), WIDTH at a time: the
# unit tests spend most of their time waiting on timers (a serial run: 150 s of wall time for
# 20 s of CPU), so suites side by side take the wall time of the slowest few. Each suite's log,
# exit status and seconds land in PREFIX-SUITE.log, .rc, .secs; Check's counts are added up.
run_suites() {
	local name=$1 width=$2 prefix=$3 s log line n f e rc checks=0 fails=0 errs=0 suites=()
	shift 3
	mapfile -t suites < <(unit_suites)
	[ ${#suites[@]} -gt 0 ] || { fail "$name (no suites found in tests/unit/suites.h)"; return; }
	for s in "${suites[@]}"; do
		while [ "$(jobs -rp | wc -l)" -ge "$width" ]; do wait -n; done
		log=$prefix-$s.log
		rm -f "$log" "$log.rc" "$log.secs"
		(
			start=$(date +%s)
			CK_RUN_SUITE=$s "$@" >"$log" 2>&1
			echo $? >"$log.rc"
			echo $(($(date +%s) - start)) >"$log.secs"
		) &
	done
	wait
	for s in "${suites[@]}"; do
		log=$prefix-$s.log
		rc=$(cat "$log.rc" 2>/dev/null || echo missing)
		line=$(grep -E '^[0-9]+%: Checks: ' "$log" 2>/dev/null | tail -n 1)
		if [ -z "$line" ]; then
			fail "$name suite $s (no Check summary, exit $rc)" "$log"
			tail -n 25 "$log" 2>/dev/null | sed 's/^/  | /'
			continue
		fi
		n=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
		f=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
		e=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
		checks=$((checks + n))
		fails=$((fails + f))
		errs=$((errs + e))
		if [ $((f + e)) -ne 0 ]; then
			failures+=("$name suite $s")
			echo "$name: suite $s: $line ($log):"
			grep -E ':[A-Z]:' "$log" | head -n 20 | sed 's/^/  | /'
		elif [ "$rc" != 0 ]; then
			fail "$name suite $s (exit $rc)" "$log"
		fi
	done
	passed=$((passed + checks - fails - errs))
	failed=$((failed + fails + errs))
	echo "$name: Checks: $checks, Failures: $fails, Errors: $errs (${#suites[@]} suites, $width at a time," \
		"slowest: $(for s in "${suites[@]}"; do echo "$(cat "$prefix-$s.log.secs" 2>/dev/null || echo 0) $s"; done |
			sort -rn | head -n 3 | awk '{printf "%s%s %ss", (NR > 1 ? ", " : ""), $2, $1}'))"
}

# Suites side by side: wait-bound (above), so more than the cores; the CPU stays below half busy.
unit_jobs=${DP_UNIT_JOBS:-4}

# make check builds the runner (and the benchmark helpers); TESTS= runs nothing: the lint stage
# ran the layering check, the suites run here side by side.
stage_unit() {
	make -C build -s -j"$jobs" check TESTS= >"$logdir/unit-check.log" 2>&1 ||
		{ fail "unit (make check build)" "$logdir/unit-check.log"; return; }
	run_suites "unit" "$unit_jobs" "$logdir/unit" build/tests/unit/unit_tests
}

# The ASan+UBSan build uses clang: its UBSan checks what gcc's does not (pointer overflow: a
# NULL + 0 in monitor_server.c passed gcc's, 34ef6d8). Not its opt-in implicit-conversion
# checks: they report uTP's 16-bit sequence numbers wrapping through int (seq_nr++ at 65535 as
# a signed truncation, a - b below zero as a sign change). A build-asan configured otherwise
# (gcc, before this) is configured again, and when that changes the compiler or its flags its
# objects are built again: make alone would keep those built with the old ones (and the two
# compilers' sanitizer runtimes do not mix).
asan_options="CC=clang --enable-asan --enable-werror --enable-debug"
stage_asan() {
	local flags used='^(CC|DP_CFLAGS|DP_LDFLAGS) ='
	if ! command -v clang >/dev/null; then fail "asan (clang not installed)"; return; fi
	mkdir -p build-asan
	flags=$(grep -sE "$used" build-asan/Makefile)
	if [ ! -f build-asan/Makefile ] || [ configure -nt build-asan/config.status ] ||
		[ "$(build-asan/config.status --config)" != "$asan_options" ]; then
		# shellcheck disable=SC2086
		(cd build-asan && ../configure -q $asan_options) \
			>"$logdir/asan-build.log" 2>&1 || { fail "asan configure" "$logdir/asan-build.log"; return; }
		if [ -n "$flags" ] && [ "$(grep -sE "$used" build-asan/Makefile)" != "$flags" ]; then
			make -C build-asan -s clean >>"$logdir/asan-build.log" 2>&1
		fi
	fi
	make -C build-asan -s -j"$jobs" downpour tests/unit/unit_tests >>"$logdir/asan-build.log" 2>&1 ||
		{ fail "asan build" "$logdir/asan-build.log"; return; }
	CK_TIMEOUT_MULTIPLIER=4 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		run_suites "unit-asan" "$unit_jobs" "$logdir/asan" build-asan/tests/unit/unit_tests
}

# One Check suite under valgrind; its exit status lands in LOG.rc.
valgrind_suite() {
	local suite=$1 log=$2
	CK_FORK=no CK_RUN_SUITE=$suite DP_UNDER_VALGRIND=1 valgrind -q \
		--suppressions="$top/tests/valgrind.supp" --leak-check=full \
		--show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
		build/tests/unit/unit_tests >"$log" 2>&1
	echo $? >"$log.rc"
}

# Every suite on its own, DP_SCRIPT_JOBS at a time, in suites.h's order: a crash names its suite
# and leaves the others running. (Not the slow ones first: which suites run side by side matters
# here; started with engine, picker and ut_pex, task's dump and utp_recovery's tail probe failed
# under valgrind at load 4-5, passing in this order.)
stage_valgrind() {
	local s suites=() bad=() checks=0 log slowest
	if ! command -v valgrind >/dev/null; then fail "valgrind (not installed)"; return; fi
	mapfile -t suites < <(sed -nE 's/^[[:space:]]*X\(([a-z0-9_]+)\).*/\1/p' tests/unit/suites.h)
	[ ${#suites[@]} -gt 0 ] || { fail "valgrind (no suites found in tests/unit/suites.h)"; return; }
	for s in "${suites[@]}"; do
		while [ "$(jobs -rp | wc -l)" -ge "$script_jobs" ]; do wait -n; done
		(
			start=$(date +%s)
			valgrind_suite "$s" "$logdir/valgrind-$s.log"
			echo $(($(date +%s) - start)) >"$logdir/valgrind-$s.log.secs"
		) &
	done
	wait
	for s in "${suites[@]}"; do
		log=$logdir/valgrind-$s.log
		if [ "$(cat "$log.rc" 2>/dev/null)" = 0 ] && grep -qE '^100%: Checks: ' "$log"; then
			checks=$((checks + $(sed -nE 's/^100%: Checks: ([0-9]+).*/\1/p' "$log" | tail -n 1)))
		else
			bad+=("$s")
			echo "valgrind: suite $s: exit $(cat "$log.rc" 2>/dev/null) ($log):"
			grep -vE '^(Running suite|100%)' "$log" | tail -n 25 | sed 's/^/  | /'
		fi
	done
	if [ ${#bad[@]} -eq 0 ]; then
		slowest=$(for s in "${suites[@]}"; do
			echo "$(cat "$logdir/valgrind-$s.log.secs" 2>/dev/null || echo 0) $s"
		done | sort -rn | head -n 3 | awk '{printf "%s%s %ss", (NR > 1 ? ", " : ""), $2, $1}')
		pass "valgrind unit tests (${#suites[@]} suites, $checks checks, no leaks, no errors; slowest: $slowest)"
	else
		fail "valgrind unit tests (suites: ${bad[*]})" "$logdir/valgrind-*.log"
	fi
}

# One fuzz target for secs seconds on a copy of its seeds; its exit code lands in LOG.rc.
# A unit running 10 s is a hang (inputs take milliseconds), and `timeout` bounds a target that
# hangs before libFuzzer's own alarm is armed.
fuzz_one() {
	local t=$1 secs=$2 name corpus work
	name=$(basename "$t")
	corpus=$top/tests/fuzz/corpus/${name#fuzz_}
	work=$(mktemp -d)
	[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
	# A network namespace of its own with only loopback: a fuzzed RPC request may add a torrent
	# whose tracker or peer is any address, and nothing may leave this machine.
	unshare -n sh -c 'ip link set lo up && exec "$@"' sh \
		timeout $((secs + 120)) "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -artifact_prefix="$logdir/$name-" "$work" >"$logdir/$name.log" 2>&1
	echo $? >"$logdir/$name.rc"
	rm -rf "$work"
}

stage_fuzz() {
	local secs=${DP_FUZZ_SECONDS:-10}
	if ! command -v clang >/dev/null; then fail "fuzz (clang not installed)"; return; fi
	if ! unshare -n true 2>/dev/null || ! command -v ip >/dev/null; then
		fail "fuzz (needs unshare -n and ip, as root, to keep fuzzed traffic on loopback)"
		return
	fi
	mkdir -p build-fuzz
	if [ ! -f build-fuzz/Makefile ] || [ configure -nt build-fuzz/config.status ]; then
		(cd build-fuzz && ../configure -q CC=clang --enable-fuzzing) >"$logdir/fuzz-build.log" 2>&1 ||
			{ fail "fuzz configure" "$logdir/fuzz-build.log"; return; }
	fi
	make -C build-fuzz -s -j"$jobs" >>"$logdir/fuzz-build.log" 2>&1 ||
		{ fail "fuzz build" "$logdir/fuzz-build.log"; return; }
	# Targets run side by side, one per core (at most 2): ~16 targets at 15 s stay near 2 min.
	local slots=$((jobs < 2 ? jobs : 2)) t name rc names=()
	for t in build-fuzz/tests/fuzz/fuzz_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		names+=("$name")
		rm -f "$logdir/$name.rc"
		while [ "$(jobs -rp | wc -l)" -ge "$slots" ]; do wait -n; done
		fuzz_one "$t" "$secs" &
	done
	wait
	for name in "${names[@]}"; do
		rc=$(cat "$logdir/$name.rc" 2>/dev/null || echo missing)
		if [ "$rc" = 0 ]; then
			pass "fuzz $name (${secs}s)"
		else
			fail "fuzz $name (exit $rc)" "$logdir/$name.log"
		fi
	done
}

# Scripts run DP_SCRIPT_JOBS at a time (default 3: most of a script's time is spent waiting on
# its peers' timers, and two at a time left the suite near CI's 30 minutes): each is independent
# (its own temp dir, free ports, a private tmux server) and bounded by `timeout`. Results are
# reported in a fixed order with each script's time, so the suite's time stays visible.
script_jobs=${DP_SCRIPT_JOBS:-3}

# run_script LOG CMD...: runs one script in the background pool, in a network namespace of its
# own with only loopback up: test traffic must never leave the machine (the DHT, LSD and
# trackers now reach out by default), and scripts running side by side cannot take each other's
# ports. Its exit status and wall seconds land in LOG.rc and LOG.secs.
run_script() {
	local log=$1 start
	shift
	while [ "$(jobs -rp | wc -l)" -ge "$script_jobs" ]; do wait -n; done
	(
		start=$(date +%s)
		unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@" >"$log" 2>&1
		echo $? >"$log.rc"
		echo $(($(date +%s) - start)) >"$log.secs"
	) &
}

# The script stages need unshare -n and ip (root): without them they fail, as CI must not skip.
scripts_can_run() {
	if ! unshare -n true 2>/dev/null || ! command -v ip >/dev/null; then
		fail "$1 (needs unshare -n and ip, as root, to keep test traffic on loopback)"
		return 1
	fi
}

# script_result NAME LOG [REPORTS_DIR]: pass or fail NAME from its LOG.rc (and no sanitizer
# report in REPORTS_DIR when given).
script_result() {
	local name=$1 log=$2 reports=${3:-} rc secs
	rc=$(cat "$log.rc" 2>/dev/null || echo missing)
	secs=$(cat "$log.secs" 2>/dev/null || echo "?")
	if [ "$rc" = 0 ] && { [ -z "$reports" ] || ! ls "$reports"/* >/dev/null 2>&1; }; then
		pass "$name (${secs}s)"
	else
		fail "$name (exit $rc, ${secs}s)" "$log"
		tail -n 15 "$log"
		[ -n "$reports" ] && cat "$reports"/* 2>/dev/null | head -n 40
	fi
}

# The script stages (interop, asan-scripts, tui) share one pool: no stage waits for the last
# long script of the one before. The ASan scripts, the longest, start first. Each script is one
# test: exit 0 passes (and, for the ASan runs, no sanitizer report).
script_names=()
script_logs=()
script_reports=()

queue_dir() {
	local dir=$1 t name
	for t in "$top"/tests/"$dir"/*.sh; do
		[ -x "$t" ] || continue
		name=$dir/$(basename "$t" .sh)
		script_names+=("$name")
		script_logs+=("$logdir/${name//\//_}.log")
		script_reports+=("")
		rm -f "${script_logs[-1]}.rc" "${script_logs[-1]}.secs"
		run_script "${script_logs[-1]}" timeout 600 "$t" "$top/build/downpour"
	done
}

# The scripts that exercise most of the engine's life cycles, run against the ASan+UBSan build
# (tests/lib.sh's DP_ASAN switch): the unit tests alone did not catch a freed task still in use
# (issue 17). A script fails on its exit status or on any sanitizer report it leaves.
asan_scripts="interop/hostile_peers interop/harden_rpc_flood interop/ops_rpc_churn
  interop/ops_faults interop/v2_magnet interop/swarm_corrupt_peer interop/magnet_libtorrent
  interop/harden_missing_data interop/rpc_transmission_remote interop/ops_daemon
  interop/harden_fifo interop/harden_escape interop/harden_move interop/harden_rpc_auth"
queue_asan() {
	local s name
	if [ ! -x build-asan/downpour ]; then
		fail "asan scripts (build-asan/downpour not built)"
		return
	fi
	for s in $asan_scripts; do
		name=asan_${s//\//_}
		script_names+=("$s (ASan+UBSan)")
		script_logs+=("$logdir/$name.log")
		script_reports+=("$logdir/$name.reports")
		rm -rf "${script_reports[-1]}" "${script_logs[-1]}.rc" "${script_logs[-1]}.secs"
		mkdir -p "${script_reports[-1]}"
		run_script "${script_logs[-1]}" env DP_ASAN=1 DP_ASAN_LOGS="${script_reports[-1]}" \
			timeout 900 "$top/tests/$s.sh" "$top/build/downpour"
	done
}

stage_scripts() {
	local want=" $* " i
	scripts_can_run "scripts" || return
	[[ $want == *" asan-scripts "* ]] && queue_asan
	[[ $want == *" interop "* ]] && queue_dir interop
	[[ $want == *" tui "* ]] && queue_dir tui
	wait
	for i in "${!script_names[@]}"; do
		script_result "${script_names[$i]}" "${script_logs[$i]}" "${script_reports[$i]}"
	done
}

# The tarball builds and its unit tests compile; they are not run again (the unit stage did).
stage_distcheck() {
	if make -C build -s -j"$jobs" distcheck TESTS= >"$logdir/distcheck.log" 2>&1; then
		pass "make distcheck"
	else
		fail "make distcheck" "$logdir/distcheck.log"
		tail -n 20 "$logdir/distcheck.log"
	fi
}

only=${DP_STAGES:-lint unit asan valgrind fuzz interop asan-scripts tui distcheck}
scripts_done=false
suite_start=$(date +%s)
for s in $only; do
	case $s in
	interop | asan-scripts | tui)
		$scripts_done && continue
		scripts_done=true
		# shellcheck disable=SC2046
		set -- $(for x in $only; do case $x in interop | asan-scripts | tui) echo "$x" ;; esac; done)
		s="scripts ($*)"
		;;
	esac
	echo "== $s"
	stage_start=$(date +%s)
	case $s in
	lint) stage_lint ;;
	unit) stage_unit ;;
	asan) stage_asan ;;
	valgrind) stage_valgrind ;;
	fuzz) stage_fuzz ;;
	scripts*) stage_scripts "$@" ;;
	distcheck) stage_distcheck ;;
	*) fail "unknown stage $s" ;;
	esac
	echo "== $s took $(($(date +%s) - stage_start)) s"
done
echo "== run-suite took $(($(date +%s) - suite_start)) s"

if [ ${#failures[@]} -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
