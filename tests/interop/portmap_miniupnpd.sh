#!/bin/bash
# portmap_miniupnpd.sh: port mapping (port_mapping = true) against Debian's miniupnpd, UPnP IGD
# and NAT-PMP both, in two network namespaces this script creates: a gateway (miniupnpd, its
# nftables tables, a LAN side 10.77.0.1 and a WAN side 11.22.33.44 on veth pairs) and a client
# (10.77.0.2, default route via the gateway) running `downpour daemon`. Checks: with no gateway
# each mapping's task fails with the reason and the daemon runs on; with miniupnpd the four
# mappings (UPnP and NAT-PMP, TCP and UDP) are reported mapped on their tasks and in the log,
# miniupnpd's nftables DNAT rules forward the port to the client, and after SIGTERM the rules
# are gone; switched off and on at run time through the RPC's port-forwarding-enabled, the
# mapper removes its rules and maps again while the daemon runs. Needs root, ip (iproute2), nft (nftables) and miniupnpd. $1 = the downpour binary.
set -u
. "$(dirname "$0")/../lib.sh"
DP=${1:?usage: portmap_miniupnpd.sh PATH/TO/downpour}
DP=$(cd "$(dirname "$DP")" && pwd)/$(basename "$DP")

fail() {
	echo "FAIL: $*" >&2
	for f in "$W"/daemon*.log "$W/miniupnpd.log"; do
		[ -f "$f" ] && { echo "--- $f" >&2; tail -n 25 "$f" >&2; }
	done
	exit 1
}
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root (network namespaces)"; exit 1; }
for tool in ip nft miniupnpd; do
	command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
	    { echo "FAIL: $tool is not installed (Debian packages iproute2, nftables, miniupnpd)"; exit 1; }
done
MINIUPNPD=$(command -v miniupnpd || echo /usr/sbin/miniupnpd)

W=$(mktemp -d /tmp/dp-pm.XXXXXX)
GW=dppm-gw-$$
CLI=dppm-cli-$$
PORT=51777
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do stop_pid "$p" 8; done
	ip netns del "$GW" 2>/dev/null
	ip netns del "$CLI" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

# ---- the two namespaces ----
ip netns add "$GW" || fail "ip netns add (is this a container without CAP_SYS_ADMIN?)"
ip netns add "$CLI" || fail "ip netns add"
ip link add "pmg$$" type veth peer name "pmc$$" || fail "veth"
ip link set "pmg$$" netns "$GW"
ip link set "pmc$$" netns "$CLI"
ip link add "pmw$$" type veth peer name "pmx$$" || fail "veth (WAN)"
ip link set "pmw$$" netns "$GW"
ip link set "pmx$$" netns "$GW"
ip -n "$GW" addr add 10.77.0.1/24 dev "pmg$$"
ip -n "$GW" addr add 11.22.33.44/24 dev "pmw$$"
for l in lo "pmg$$" "pmw$$" "pmx$$"; do ip -n "$GW" link set "$l" up; done
ip -n "$CLI" addr add 10.77.0.2/24 dev "pmc$$"
ip -n "$CLI" link set lo up
ip -n "$CLI" link set "pmc$$" up
ip -n "$CLI" route add default via 10.77.0.1 || fail "default route"

# miniupnpd's nftables backend adds its rules to chains that must exist (Debian's nft_init.sh
# makes the same with other names).
cat >"$W/rules.nft" <<'EOF'
table inet dppm {
	chain forward {
		type filter hook forward priority 0; policy accept;
		jump dppm_fwd
	}
	chain dppm_fwd {
	}
	chain prerouting {
		type nat hook prerouting priority -100; policy accept;
		jump dppm_pre
	}
	chain postrouting {
		type nat hook postrouting priority 100; policy accept;
		jump dppm_post
	}
	chain dppm_pre {
	}
	chain dppm_post {
	}
}
EOF
ip netns exec "$GW" nft -f "$W/rules.nft" || fail "nft tables in the gateway namespace"
cat >"$W/miniupnpd.conf" <<EOF
ext_ifname=pmw$$
listening_ip=pmg$$
port=0
enable_natpmp=yes
enable_upnp=yes
secure_mode=yes
system_uptime=yes
uuid=2c7d3a70-5d0e-4a47-9c8e-3a7bd0e7f0$$
upnp_table_name=dppm
upnp_nat_table_name=dppm
upnp_forward_chain=dppm_fwd
upnp_nat_chain=dppm_pre
upnp_nat_postrouting_chain=dppm_post
lease_file=$W/leases
allow 1024-65535 10.77.0.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
EOF

mkdir -p "$W/sess" "$W/dl"
cat >"$W/d.conf" <<CONF
session_dir = "$W/sess";
download_dir = "$W/dl";
listen_port = $PORT;
port_mapping = true;
CONF
M() { timeout 20 "$DP" monitor --session "$W/sess" "$@"; }
start_daemon() {
	ip netns exec "$CLI" "$DP" daemon --foreground --config "$W/d.conf" >"$W/$1" 2>&1 &
	DPID=$!
	PIDS+=("$DPID")
	for _ in $(seq 1 50); do [ -S "$W/sess/monitor.sock" ] && break; sleep 0.1; done
	[ -S "$W/sess/monitor.sock" ] || fail "no monitor socket"
}
portmap_rows() { M ps 2>/dev/null | grep -E "portmap (UPnP|NAT-PMP)"; }

# ---- no gateway: every mapping fails with its reason, the daemon goes on ----
start_daemon daemon1.log
ok=0
for _ in $(seq 1 60); do
	rows=$(portmap_rows)
	[ "$(echo "$rows" | grep -c "retry in")" = 4 ] && { ok=1; break; }
	sleep 0.5
done
[ $ok = 1 ] || fail "without a gateway the four mappings should fail and wait to retry: $rows"
echo "$rows" | grep "UPnP" | grep -q "no UPnP gateway answered" || fail "UPnP reason: $rows"
echo "$rows" | grep "NAT-PMP" | grep -q "no NAT-PMP answer from the gateway 10.77.0.1" ||
    fail "NAT-PMP reason: $rows"
M blocked 2>/dev/null | grep -qE "portmap (UPnP|NAT-PMP)" || fail "failed mappings belong in the blocked view"
kill -0 "$DPID" 2>/dev/null || fail "the daemon died without a gateway"
grep -q "port mapping (UPnP TCP $PORT): no UPnP gateway answered" "$W/daemon1.log" ||
    fail "no warning in the log"
echo "ok   no gateway: four failed mappings with reasons, retried later; the daemon runs on"
stop_pid "$DPID" 15
kill -0 "$DPID" 2>/dev/null && fail "the daemon did not stop"

# ---- miniupnpd ----
ip netns exec "$GW" "$MINIUPNPD" -d -f "$W/miniupnpd.conf" -P "$W/miniupnpd.pid" \
    >"$W/miniupnpd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do grep -q "Listening for NAT-PMP" "$W/miniupnpd.log" && break; sleep 0.1; done
grep -q "Listening for NAT-PMP" "$W/miniupnpd.log" || fail "miniupnpd did not start"

start_daemon daemon2.log
ok=0
for _ in $(seq 1 80); do
	rows=$(portmap_rows)
	[ "$(echo "$rows" | grep -c "mapped by")" = 4 ] && { ok=1; break; }
	sleep 0.25
done
[ $ok = 1 ] || fail "the four mappings should be in place: $rows"
for l4 in TCP UDP; do
	echo "$rows" | grep -q "$l4 $PORT mapped by the UPnP gateway 10.77.0.1 as 11.22.33.44:$PORT (lease 3600 s); renews in" ||
	    fail "UPnP $l4 task: $rows"
	echo "$rows" | grep -q "$l4 $PORT mapped by the NAT-PMP gateway 10.77.0.1 as 11.22.33.44:$PORT (lifetime 3600 s)" ||
	    fail "NAT-PMP $l4 task: $rows"
	grep -q "port mapping: $l4 $PORT mapped by the UPnP gateway" "$W/daemon2.log" ||
	    fail "no log line for UPnP $l4"
done
blocked=$(M blocked 2>/dev/null)
if echo "$blocked" | grep -qE "portmap (UPnP|NAT-PMP)"; then
	fail "mapped ports wait by design: they must not show as blocked: $blocked"
fi
echo "ok   UPnP and NAT-PMP, TCP and UDP: four tasks mapped, renewal at half the lease, logged"

# What the gateway does: DNAT of the port to the client, for TCP and UDP.
rules=$(ip netns exec "$GW" nft list chain inet dppm dppm_pre)
echo "$rules" | grep "th dport $PORT dnat ip to 10.77.0.2:$PORT" | grep -q "0x6" ||
    fail "no TCP DNAT rule in the gateway: $rules"
echo "$rules" | grep "th dport $PORT dnat ip to 10.77.0.2:$PORT" | grep -q "0x11" ||
    fail "no UDP DNAT rule in the gateway: $rules"
echo "ok   miniupnpd forwards TCP and UDP port $PORT to 10.77.0.2 (nftables DNAT rules)"

# ---- stop: the mappings are removed ----
stop_pid "$DPID" 15
kill -0 "$DPID" 2>/dev/null && fail "the daemon did not stop"
rules=$(ip netns exec "$GW" nft list chain inet dppm dppm_pre)
if echo "$rules" | grep -q "dport $PORT"; then
	fail "mappings left on the gateway after exit: $rules"
fi
grep -q "port mapping (UPnP TCP $PORT): TCP $PORT removed from the UPnP gateway" \
    "$W/daemon2.log" || fail "no removal logged"
echo "ok   after SIGTERM the gateway has no rule for port $PORT left"
# ---- switched on and off at run time through the RPC ----
sed -i 's/^port_mapping = true;/port_mapping = false;/' "$W/d.conf"
RPCPORT=9199
rpc() { ip netns exec "$CLI" timeout 20 /usr/bin/python3 "$(dirname "$0")/rpc_call.py" "$RPCPORT" "$@"; }
fwd_shown() { rpc session-get '{"fields":["port-forwarding-enabled"]}' | grep -o '"port-forwarding-enabled": [a-z]*'; }
dnat_rules() { ip netns exec "$GW" nft list chain inet dppm dppm_pre | grep -c "dport $PORT dnat"; }
ip netns exec "$CLI" "$DP" daemon --foreground --config "$W/d.conf" --rpc-no-auth --rpc-port $RPCPORT \
    >"$W/daemon3.log" 2>&1 &
DPID=$!
PIDS+=("$DPID")
for _ in $(seq 1 50); do rpc session-get >/dev/null 2>&1 && break; sleep 0.1; done
[ "$(fwd_shown)" = '"port-forwarding-enabled": false' ] || fail "session-get: $(fwd_shown)"
[ -z "$(portmap_rows)" ] || fail "port mapping is off, yet: $(portmap_rows)"
rpc session-set '{"port-forwarding-enabled": true}' >/dev/null || fail "session-set true refused"
wait_rules() {
	for _ in $(seq 1 80); do [ "$(dnat_rules)" = "$1" ] && return 0; sleep 0.25; done
	return 1
}
wait_rules 2 || fail "switched on: no DNAT rules for TCP and UDP: $(portmap_rows)"
[ "$(fwd_shown)" = '"port-forwarding-enabled": true' ] || fail "session-get after on: $(fwd_shown)"
echo "ok   port-forwarding-enabled switched on by the RPC: the mapper starts, the gateway forwards the port"
rpc session-set '{"port-forwarding-enabled": false}' >/dev/null || fail "session-set false refused"
wait_rules 0 || fail "switched off: the rules stay: $(ip netns exec "$GW" nft list chain inet dppm dppm_pre)"
grep -q "port mapping: switched off" "$W/daemon3.log" || fail "no log line for switching off"
[ "$(fwd_shown)" = '"port-forwarding-enabled": false' ] || fail "session-get after off: $(fwd_shown)"
kill -0 "$DPID" 2>/dev/null || fail "the daemon died"
echo "ok   switched off at run time: the mappings are removed while the daemon runs"
rpc session-set '{"port-forwarding-enabled": true}' >/dev/null || fail "session-set true (again) refused"
wait_rules 2 || fail "switched on again: no DNAT rules: $(portmap_rows)"
# the DNAT rules come from UPnP; the NAT-PMP tasks may still be asking: wait for all four
for _ in $(seq 1 60); do
	rows=$(portmap_rows)
	[ "$(echo "$rows" | grep -c "mapped by")" = 4 ] && break
	sleep 0.5
done
[ "$(echo "$rows" | grep -c "mapped by")" = 4 ] || fail "switched on again: tasks $rows"
grep -q "port_mapping = \"true\"" "$W/sess/settings.conf" || fail "settings.conf does not keep it"
stop_pid "$DPID" 15
wait_rules 0 || fail "rules left after exit"
echo "ok   switched on again: four tasks mapped anew; settings.conf keeps the setting; removed at exit"
echo "7 passed, 0 failed"
