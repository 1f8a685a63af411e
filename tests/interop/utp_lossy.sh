#!/bin/bash
# utp_lossy.sh: uTP under loss and delay. Two network namespaces joined by a link that delays
# every packet 50 ms each way and drops 1 % each way (tc netem when the kernel has it, else
# netem_wire.py over TUN devices: this kernel lacks sch_netem). downpour seeds in one, downloads
# in the other over TCP (--no-utp) with the kernel's congestion control and with CUBIC, and over
# uTP (every TCP packet in the seeder's namespace refused by nft, both ways); all complete
# byte-identical. Prints the rates and their ratios (figures, not assertions).
# DP_LOSSY_REF=1 (tests/bench/utp_lossy.sh) adds, in the same run, the references the rates are
# judged by: TCP through the same wire without loss (and the wire's own CPU, so the wire is
# known not to be the limit), and uTP libtorrent -> libtorrent, libtorrent -> downpour and
# downpour -> libtorrent (lt_netns.py: libtorrent bound to the link's addresses).
# DP_LOSSY_DPLT=N runs only uTP downpour -> libtorrent, N times (a rare collapse is found by
# repeating it), each with the seed's account of its connection (timeouts, cuts, resends).
# Root: ip netns, nft. usage: tests/interop/utp_lossy.sh PATH/TO/downpour
set -u
. "$(dirname "$0")/swarm_lib.sh"
sl_init utp_lossy "${1:-}"
[ "$(id -u)" -eq 0 ] || sl_fail "needs root (ip netns, nft)"
sl_need ip iproute2
sl_need nft nftables
SIZE_MIB=${DP_LOSSY_MIB:-24}
DELAY_MS=${DP_LOSSY_DELAY_MS:-50}
LOSS=${DP_LOSSY_LOSS:-1}
REF=${DP_LOSSY_REF:-}
DPLT=${DP_LOSSY_DPLT:-}
[ -n "$REF" ] && [ -n "$DPLT" ] && sl_fail "DP_LOSSY_REF and DP_LOSSY_DPLT are separate modes"
[ -n "$REF$DPLT" ] && sl_need_lt
NA=dpla$$
NB=dplb$$
NETNS_MADE=
WIRE_PID=
HZ=$(getconf CLK_TCK)

lossy_cleanup() {
	[ -n "$NETNS_MADE" ] && { ip netns del "$NA" 2>/dev/null; ip netns del "$NB" 2>/dev/null; }
	sl_cleanup
}
trap lossy_cleanup EXIT

# cpu_of PID: user+system seconds so far.
cpu_of() {
	awk -v hz="$HZ" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# wire_start LOSS: the user-space link with LOSS % (a running one is stopped first).
wire_start() {
	if [ -n "$WIRE_PID" ]; then
		sl_stop "$WIRE_PID" 5
		tail -n 1 "$SL_W/wire.log"
	fi
	rm -f "$SL_W/wire.ready"
	sl_bg wire "$SL_W/wire.log" /usr/bin/python3 "$SL_DIR/netem_wire.py" "$NA" tw0 "$NB" tw0 \
	    --delay-ms "$DELAY_MS" --loss "$1" --ready-file "$SL_W/wire.ready"
	WIRE_PID=$SL_BG_PID
	SL_WAIT_PID=$WIRE_PID sl_wait 10 "the wire" test -s "$SL_W/wire.ready"
}

# Drops besides the wire's own, per namespace: UDP receive buffers, and UDP sends the device's
# queue refused (SndbufErrors: a qdisc drop is silent to a socket without IP_RECVERR); then the
# wire's own count.
lossy_drops() {
	local n
	for n in "$NA" "$NB"; do
		ip netns exec "$n" awk -v ns="$n" '$1 == "Udp:" && $2 ~ /^[0-9]/ {
			printf "drops in %s: UDP receive buffers %d, sends dropped at the device %d\n",
			    ns, $6, $7
		}' /proc/net/snmp
	done
	[ -n "$WIRE_PID" ] && { sl_stop "$WIRE_PID" 5; tail -n 1 "$SL_W/wire.log"; }
}

ip netns add "$NA" && ip netns add "$NB" || sl_fail "ip netns add"
NETNS_MADE=1
for n in "$NA" "$NB"; do
	ip -n "$n" link set lo up || sl_fail "lo up in $n"
done
if ip -n "$NA" link add va type veth peer name vb netns "$NB" 2>/dev/null &&
    ip netns exec "$NA" tc qdisc add dev va root netem delay "${DELAY_MS}ms" loss "${LOSS}%" \
    2>/dev/null; then
	ip netns exec "$NB" tc qdisc add dev vb root netem delay "${DELAY_MS}ms" loss "${LOSS}%" ||
	    sl_fail "tc netem on vb"
	A_DEV=va
	B_DEV=vb
	LINK="tc netem"
	[ -n "$REF" ] && sl_fail "DP_LOSSY_REF needs the user-space wire (a link without loss)"
else
	# No sch_netem in this kernel: the same link in user space.
	ip -n "$NA" link del va 2>/dev/null
	for n in "$NA" "$NB"; do
		ip -n "$n" tuntap add dev tw0 mode tun || sl_fail "tuntap in $n"
	done
	A_DEV=tw0
	B_DEV=tw0
	wire_start "$([ -n "$REF" ] && echo 0 || echo "$LOSS")"
	LINK="netem_wire.py (no sch_netem in this kernel)"
fi
ip -n "$NA" addr add 10.201.0.1/24 dev "$A_DEV" && ip -n "$NA" link set "$A_DEV" up &&
    ip -n "$NB" addr add 10.201.0.2/24 dev "$B_DEV" && ip -n "$NB" link set "$B_DEV" up ||
    sl_fail "addresses on the link"
sl_say "link: ${DELAY_MS} ms each way, ${LOSS} % loss each way ($LINK)"

mkdir -p "$SL_W/src"
sl_make_file "$SL_W/src/payload.bin" $((SIZE_MIB * 1048576 + 99))
"$DP" create -o "$SL_W/p.torrent" -s 262144 "$SL_W/src/payload.bin" >"$SL_W/create.log" 2>&1 ||
    sl_fail "downpour create"
conf() {
	cat >"$1" <<CONF
listen_address = "0.0.0.0";
download_dir = "$SL_W";
session_dir = "$2";
log_level = "debug";
CONF
}
conf "$SL_W/seed.conf" "$SL_W/seed-session"
PORT=$(sl_free_port)
sl_bg seed "$SL_W/seed.log" ip netns exec "$NB" "$DP" seed --config "$SL_W/seed.conf" \
    -o "$SL_W/src" --port "$PORT" "$SL_W/p.torrent"
SEED_PID=$SL_BG_PID
SL_WAIT_PID=$SEED_PID sl_wait 60 "the seed to verify its data" \
    grep -q "checked: .* pieces verified" "$SL_W/seed.log"

# get NAME dp|lt SEED_PORT OPTIONS...: downloads in namespace A with downpour or libtorrent; the
# wall time lands in $WALL, a line of figures in $SL_W/rates.
LT_UTP=(--set enable_incoming_tcp=false --set enable_outgoing_tcp=false
    --set enable_incoming_utp=true --set enable_outgoing_utp=true)
get() {
	local name=$1 kind=$2 sport=$3 t0 rc w0 w1
	shift 3
	conf "$SL_W/$name.conf" "$SL_W/$name-session"
	mkdir -p "$SL_W/$name"
	w0=$([ -n "$WIRE_PID" ] && cpu_of "$WIRE_PID" || echo 0)
	t0=$(date +%s.%N)
	if [ "$kind" = dp ]; then
		timeout -k 5 300 ip netns exec "$NA" "$DP" get --config "$SL_W/$name.conf" \
		    -o "$SL_W/$name" --port "$(sl_free_port)" --peer "10.201.0.2:$sport" "$@" \
		    "$SL_W/p.torrent" >"$SL_W/$name.log" 2>&1
	else
		timeout -k 5 300 ip netns exec "$NA" /usr/bin/python3 "$SL_DIR/lt_netns.py" 10.201.0.1 \
		    leech "$SL_W/p.torrent" "$SL_W/$name" --port "$(sl_free_port)" \
		    --connect "10.201.0.2:$sport" --timeout 290 "$@" >"$SL_W/$name.log" 2>&1
	fi
	rc=$?
	WALL=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
	w1=$([ -n "$WIRE_PID" ] && cpu_of "$WIRE_PID" || echo 0)
	[ $rc -eq 0 ] || sl_fail "$name ($kind) exited $rc"
	sl_same "$SL_W/src/payload.bin" "$SL_W/$name/payload.bin" || sl_fail "the copy over $name differs"
	awk -v n="$name" -v m="$SIZE_MIB" -v w="$WALL" -v c0="$w0" -v c1="$w1" 'BEGIN {
		printf "%-22s %7.2f s %6.2f MiB/s  wire CPU %3.0f %%\n", n, w, m / w,
		    100 * (c1 - c0) / w }' | tee -a "$SL_W/rates"
}

CC=$(ip netns exec "$NB" sysctl -n net.ipv4.tcp_congestion_control 2>/dev/null || echo default)
TCP_WALL=0
CUBIC_WALL=
[ -n "$DPLT" ] || {
if [ -n "$REF" ]; then
	# The wire's own ceiling: TCP through it without loss.
	get tcp-noloss dp "$PORT" --no-utp
	wire_start "$LOSS"
fi
get tcp dp "$PORT" --no-utp
grep -q "connected over TCP" "$SL_W/tcp.log" || sl_fail "the TCP run did not use TCP"
TCP_WALL=$WALL
sl_say "TCP ($CC): $SIZE_MIB MiB byte-identical in $TCP_WALL s"
if [ "$CC" != cubic ] && ip netns exec "$NB" sysctl -qw net.ipv4.tcp_congestion_control=cubic \
    2>/dev/null; then
	get tcp-cubic dp "$PORT" --no-utp
	CUBIC_WALL=$WALL
	sl_say "TCP (cubic): $SIZE_MIB MiB byte-identical in $CUBIC_WALL s"
fi
}

# No TCP at all in the seed's namespace, either way: the seed otherwise dials the leecher's TCP
# port itself (its IPv6 link-local address, from the extension handshake) and keeps that
# connection over the uTP one as a duplicate, and the "uTP" figure is TCP's.
ip netns exec "$NB" nft add table inet lossy &&
    ip netns exec "$NB" nft 'add chain inet lossy input { type filter hook input priority 0; }' &&
    ip netns exec "$NB" nft 'add chain inet lossy output { type filter hook output priority 0; }' &&
    ip netns exec "$NB" nft add rule inet lossy input meta l4proto tcp reject with tcp reset &&
    ip netns exec "$NB" nft add rule inet lossy output meta l4proto tcp reject with tcp reset ||
    sl_fail "nft: can't refuse TCP in the seeder's namespace"
SEED_TCP=$(grep -c "connected over TCP" "$SL_W/seed.log")
if [ -n "$DPLT" ]; then
	for ((i = 1; i <= DPLT; i++)); do
		get "utp-dp-lt$i" lt "$PORT" "${LT_UTP[@]}"
		# The seed's account of this run's connection (its debug lines until now; a
		# timeout with one packet out is most often the FIN to the leecher that has gone).
		c=$(grep -oE "utp 10\.201\.0\.1:[0-9]+ \(incoming\)" "$SL_W/seed.log" | tail -n 1)
		awk -v c="$c" 'index($0, c) {
			if ($0 ~ /retransmission timeout [0-9]+ \(1 packets/) f++
			else if ($0 ~ /retransmission timeout/) t++
			if ($0 ~ /congestion loss/) k++
			if ($0 ~ /timeout was spurious/) s++
			if ($0 ~ /tail-loss probe/) p++
		} END { printf "  seed: %d retransmission timeouts (%d spurious) and %d with one " \
		    "packet out, %d tail probes, %d cuts\n", t, s, f, p, k }' "$SL_W/seed.log"
	done
	sl_stop "$SEED_PID" 10 || sl_fail "the seed exited $? on SIGTERM"
	lossy_drops
	echo "PASS utp_lossy: downpour -> libtorrent over uTP $DPLT times, ${DELAY_MS} ms each way, ${LOSS} % loss"
	exit 0
fi
get utp dp "$PORT"
grep -q "10.201.0.2:$PORT: connected over uTP" "$SL_W/utp.log" || sl_fail "the uTP run did not use uTP"
[ "$(grep -c "connected over TCP" "$SL_W/seed.log")" -eq "$SEED_TCP" ] ||
    sl_fail "the seed made a TCP connection during the uTP run"
UTP_WALL=$WALL
sl_say "uTP: $SIZE_MIB MiB byte-identical in $UTP_WALL s ($(grep -c 'retransmission timeout' \
    "$SL_W/seed.log") retransmission timeouts at the seed)"
if [ -n "$REF" ]; then
	get utp-dp-lt lt "$PORT" "${LT_UTP[@]}"
fi
sl_stop "$SEED_PID" 10 || sl_fail "the seed exited $? on SIGTERM"
if [ -n "$REF" ]; then
	# downpour's seed is gone first: a downpour leecher finds it otherwise (LSD over the
	# link's IPv6 multicast) and the libtorrent -> downpour figure is partly downpour's.
	LT_PORT=$(sl_free_port)
	sl_bg ltseed "$SL_W/ltseed.log" ip netns exec "$NB" /usr/bin/python3 "$SL_DIR/lt_netns.py" \
	    10.201.0.2 seed "$SL_W/p.torrent" "$SL_W/src" --port "$LT_PORT" --no-tracker \
	    --ready-file "$SL_W/ltseed.ready" "${LT_UTP[@]}"
	LT_SEED_PID=$SL_BG_PID
	SL_WAIT_PID=$LT_SEED_PID sl_wait 120 "the libtorrent seeder" test -s "$SL_W/ltseed.ready"
	get utp-lt-lt lt "$LT_PORT" "${LT_UTP[@]}"
	get utp-lt-dp dp "$LT_PORT"
	grep -q "10.201.0.2:$LT_PORT: connected over uTP" "$SL_W/utp-lt-dp.log" ||
	    sl_fail "the libtorrent -> downpour run did not use uTP"
	! grep "connected over" "$SL_W/utp-lt-dp.log" | grep -vq "10.201.0.2:$LT_PORT:" ||
	    sl_fail "the libtorrent -> downpour run had another peer than libtorrent"
	sl_stop "$LT_SEED_PID" 10
fi
lossy_drops
awk -v s="$SIZE_MIB" -v t="$TCP_WALL" -v c="${CUBIC_WALL:-0}" -v u="$UTP_WALL" -v cc="$CC" 'BEGIN {
	printf "rates: TCP (%s) %.2f MiB/s, uTP %.2f MiB/s, uTP/TCP %.2f", cc, s / t, s / u, t / u
	if (c > 0)
		printf "; TCP (cubic) %.2f MiB/s, uTP/cubic %.2f", s / c, c / u
	printf "\n" }'
[ -n "$REF" ] && cat "$SL_W/rates"
echo "PASS utp_lossy: $SIZE_MIB MiB over TCP and over uTP, ${DELAY_MS} ms each way, ${LOSS} % loss"
exit 0
