#!/bin/bash
# bench/run.sh - faultline's benchmarks, each side by side with bare loopback
# measured in the same run (see bench/README.md for what each figure means).
#
#   bench/run.sh [--quick] [GROUP]...
#
# GROUPs: bulk rtt conns ping delay setup flows (default: all).
# Needs root (network namespaces, iptables inside faultline's sandbox),
# iperf3 and socat (apt-get install -y iperf3 socat), cc, iproute2.
# Builds faultline in build/ if it is not there (FL_BUILD=DIR to use
# another build), compiles bench/flbench.c into a temporary directory.
# Progress goes to stderr; the table (Markdown) to stdout.  Nothing here
# is a test: no figure is asserted.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${FL_BUILD:-$ROOT/build}
FL=$BUILD/faultline
QUICK=0
GROUPS_ALL="bulk rtt conns ping delay setup flows"
GROUPS_RUN=""

for a in "$@"; do
	case $a in
	--quick) QUICK=1 ;;
	-h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	bulk|rtt|conns|ping|delay|setup|flows) GROUPS_RUN="$GROUPS_RUN $a" ;;
	*) echo "run.sh: unknown argument '$a' (groups: $GROUPS_ALL; --quick)" >&2; exit 2 ;;
	esac
done
[ -n "$GROUPS_RUN" ] || GROUPS_RUN=$GROUPS_ALL

say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
need() { command -v "$1" >/dev/null || { echo "run.sh: $1 missing: $2" >&2; exit 3; }; }

[ "$(id -u)" = 0 ] || { echo "run.sh: run as root (unshare -n, faultline as root)" >&2; exit 3; }
need iperf3 "apt-get install -y iperf3"
need socat "apt-get install -y socat"
need cc "apt-get install -y gcc"
need ip "apt-get install -y iproute2"
need unshare "apt-get install -y util-linux"
[ -x /usr/bin/time ] || { echo "run.sh: /usr/bin/time missing: apt-get install -y time" >&2; exit 3; }

if [ ! -x "$FL" ]; then
	say "building faultline in $BUILD"
	(cmake -S "$ROOT" -B "$BUILD" >/dev/null && cmake --build "$BUILD" -j2 >/dev/null) ||
		{ echo "run.sh: faultline build failed" >&2; exit 3; }
fi
OUT=$(mktemp -d /tmp/flbench.XXXXXX)
[ -n "${FLBENCH_KEEP:-}" ] && say "keeping $OUT" || trap 'rm -rf "$OUT"' EXIT
FLB=$OUT/flbench
cc -O2 -Wall -o "$FLB" "$ROOT/bench/flbench.c" || { echo "run.sh: cc failed" >&2; exit 3; }
NFQMIN=$OUT/nfqmin
cc -O2 -Wall -o "$NFQMIN" "$ROOT/bench/nfqmin.c" $(pkg-config --cflags --libs libnetfilter_queue libmnl) ||
	{ echo "run.sh: cc nfqmin failed" >&2; exit 3; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

if [ $QUICK = 1 ]; then
	BULK_S=1 RTT_N=300 CONNS_N=200 PING_N=300
	D1_N=100 D10_N=30 D100_N=8 SETUP_N=5
	FLOWS="10:300 1000:3" FLOWS_BOUND=60 FLOWS_FALLBACK=""
else
	BULK_S=3 RTT_N=2000 CONNS_N=1000 PING_N=1500
	D1_N=300 D10_N=100 D100_N=25 SETUP_N=20
	FLOWS="10:2000 1000:20 10000:3" FLOWS_BOUND=120 FLOWS_FALLBACK="3000:3"
fi
PORT=7000	# flbench server
PPORT=7001	# socat in front of it
IPORT=5201	# iperf3 server
IPPORT=5202	# socat in front of iperf3
# a rule that makes faultline copy every data segment's payload but never
# changes one: corrupt needs the payload (it recomputes the checksum), and
# 'nth 4294967295' is a segment no run here reaches.
PAYLOAD_RULE='corrupt from client data nth 4294967295'
# the same queueing as 'delay Xms from server data' without holding anything
NODELAY_RULE='drop from server data nth 4294967295'

ROWS=$OUT/rows
: >"$ROWS"
row() { printf '| %s | %s | %s | %s | %s |\n' "$@" >>"$ROWS"; }

# bare: the commands in a fresh network namespace with lo up at the MTU
# faultline's sandbox uses (1500), so segment counts are alike.
# Background jobs it starts (servers, socat) are ended when it is done.
bare() {
	unshare -n bash -c "ip link set lo mtu 1500 up && { $1; }; rc=\$?; kill \$(jobs -p) 2>/dev/null; wait; exit \$rc"
}

# floor MODE 'CMD': CMD in a bare namespace whose lo TCP goes through
# bench/nfqmin (accept at once): the kernel's own cost of queueing.
# MODE all: every segment (--queue-all); teardown: what faultline queues
# with no rules (SYN, FIN, RST, then the rest of a closing connection).
floor() {
	local ipt="iptables-nft -w -A OUTPUT -o lo -p tcp" td=""
	[ "$1" = teardown ] && td="$ipt --tcp-flags FIN FIN -j CONNMARK --set-xmark 0x1/0x1 &&
		$ipt --tcp-flags RST RST -j CONNMARK --set-xmark 0x1/0x1 &&
		$ipt -m connmark --mark 0x1/0x1 -j NFQUEUE --queue-num 0 &&
		$ipt --tcp-flags SYN,FIN,RST NONE -j ACCEPT &&"
	bare "$td $ipt -j NFQUEUE --queue-num 0 && { $NFQMIN & sleep 0.2; } && { $2; }"
}

# fl_run NAME 'RULE' 'OPTIONS' 'TARGET' 'DRIVER': one faultline run.
# Sets SEGS (harness.segments) and HNOTE (the harness drop counters if not
# all zero). The verdict is ignored (--allow-skip, exit status unused).
fl_run() {
	local name=$1 rule=$2 opts=$3 target=$4 driver=$5 rf="" h
	if [ -n "$rule" ]; then
		rf=$OUT/$name.rules
		printf '%s\n' "$rule" >"$rf"
		rf="-r $rf"
	fi
	# shellcheck disable=SC2086
	# /usr/bin/time: faultline's peak RSS (KiB) into NAME.rss
	/usr/bin/time -o "$OUT/$name.rss" -f %M timeout 300 "$FL" run $rf $opts --allow-skip --timeout 240s \
		--report "$OUT/$name.json" --driver "$driver" -- $target \
		>"$OUT/$name.log" 2>&1
	h=$(tr -d ' \n\t' <"$OUT/$name.json" 2>/dev/null | grep -o '"harness":{[^}]*}')
	SEGS=$(printf '%s' "$h" | grep -o '"segments":[0-9]*' | cut -d: -f2)
	SEGS=${SEGS:-?}
	HNOTE=""
	for k in enobufs queue_dropped user_dropped; do
		v=$(printf '%s' "$h" | grep -o "\"$k\":-\?[0-9]*" | cut -d: -f2)
		[ "${v:-0}" = 0 ] || HNOTE="$HNOTE $k=$v"
	done
	[ -n "$h" ] || HNOTE=" no report (see $name.log)"
	[ -z "$HNOTE" ] || say "  $name: harness:$HNOTE"
}

kv() { printf '%s\n' "$1" | tr ' ' '\n' | grep "^$2=" | head -1 | cut -d= -f2; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "" || b == "") print "?"; else printf "%.3g×", a / b }'; }
delta() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "?"; else printf "%+.1f", a - b }'; }
seg_note() { printf '%s segments queued%s' "$SEGS" "${HNOTE:+; harness:$HNOTE}"; }

iperf_rate() { awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") print $(i-1) }' "$1" | tail -1; }

g_bulk() {
	local f=$OUT/bulk r_bare r
	local cli="iperf3 -c 127.0.0.1 -t $BULK_S -f m"
	say "bulk: bare"
	bare "iperf3 -s -1 -p $IPORT >/dev/null & sleep 0.3; $cli -p $IPORT" >"$f.bare" 2>&1
	r_bare=$(iperf_rate "$f.bare")
	row "bulk, bare loopback (iperf3, ${BULK_S}s)" "${r_bare:-?} Mbit/s" "" "1×" ""
	say "bulk: socat proxy"
	bare "iperf3 -s -1 -p $IPORT >/dev/null & socat TCP-LISTEN:$IPPORT,fork,reuseaddr TCP:127.0.0.1:$IPORT & sleep 0.3; $cli -p $IPPORT" >"$f.socat" 2>&1
	r=$(iperf_rate "$f.socat")
	row "bulk, socat TCP proxy (peer)" "${r_bare:-?} Mbit/s" "${r:-?} Mbit/s" "$(ratio "$r" "$r_bare")" "userspace proxy in the bare namespace"
	say "bulk: kernel floor (nfqmin, every segment queued)"
	floor all "iperf3 -s -1 -p $IPORT >/dev/null & sleep 0.3; $cli -p $IPORT" >"$f.floor" 2>&1
	r=$(iperf_rate "$f.floor")
	row "bulk, kernel floor: every segment through a minimal NFQUEUE pass-through (\`bench/nfqmin.c\`)" "${r_bare:-?} Mbit/s" "${r:-?} Mbit/s" "$(ratio "$r" "$r_bare")" "what queueing itself costs"
	for m in none all payload; do
		local rule="" opts="" what
		case $m in
		none) what="no rules (teardown-only queueing)" ;;
		all) what="--queue-all (every segment queued)"; opts="--queue-all" ;;
		payload) what="payload rule (\`$PAYLOAD_RULE\`)"; rule=$PAYLOAD_RULE ;;
		esac
		say "bulk: faultline $m"
		fl_run "bulk_$m" "$rule" "$opts" "iperf3 -s -1 -p $IPORT" "$cli -p $IPORT >$f.$m 2>&1"
		r=$(iperf_rate "$f.$m")
		row "bulk, faultline $what" "${r_bare:-?} Mbit/s" "${r:-?} Mbit/s" "$(ratio "$r" "$r_bare")" "$(seg_note)"
	done
}

g_rtt() {
	local f=$OUT/rtt b50 b99 o p50 p99
	local cli="$FLB rtt $PORT $RTT_N 100"
	say "rtt: bare"
	o=$(bare "$FLB server $PORT & sleep 0.2; $cli")
	b50=$(kv "$o" p50_us) b99=$(kv "$o" p99_us)
	row "round trip 100 B, bare (p50 / p99, n=$RTT_N)" "$b50 / $b99 µs" "" "1×" ""
	say "rtt: socat proxy"
	o=$(bare "$FLB server $PORT & socat TCP-LISTEN:$PPORT,fork,reuseaddr TCP:127.0.0.1:$PORT & sleep 0.2; $FLB rtt $PPORT $RTT_N 100")
	p50=$(kv "$o" p50_us) p99=$(kv "$o" p99_us)
	row "round trip, socat TCP proxy (peer)" "$b50 / $b99 µs" "$p50 / $p99 µs" "$(ratio "$p50" "$b50") / $(ratio "$p99" "$b99")" "$(delta "$p50" "$b50") / $(delta "$p99" "$b99") µs"
	say "rtt: kernel floor (nfqmin, every segment queued)"
	o=$(floor all "$FLB server $PORT & sleep 0.2; $cli")
	p50=$(kv "$o" p50_us) p99=$(kv "$o" p99_us)
	row "round trip, kernel floor: every segment through a minimal NFQUEUE pass-through (\`bench/nfqmin.c\`)" "$b50 / $b99 µs" "$p50 / $p99 µs" "$(ratio "$p50" "$b50") / $(ratio "$p99" "$b99")" "$(delta "$p50" "$b50") / $(delta "$p99" "$b99") µs"
	for m in none all payload; do
		local rule="" opts="" what
		case $m in
		none) what="no rules" ;;
		all) what="--queue-all"; opts="--queue-all" ;;
		payload) what="payload rule"; rule=$PAYLOAD_RULE ;;
		esac
		say "rtt: faultline $m"
		fl_run "rtt_$m" "$rule" "$opts" "$FLB server $PORT" "$cli >$f.$m"
		o=$(cat "$f.$m" 2>/dev/null)
		p50=$(kv "$o" p50_us) p99=$(kv "$o" p99_us)
		row "round trip, faultline $what" "$b50 / $b99 µs" "$p50 / $p99 µs" "$(ratio "$p50" "$b50") / $(ratio "$p99" "$b99")" "$(delta "$p50" "$b50") / $(delta "$p99" "$b99") µs; $(seg_note)"
	done
}

g_conns() {
	local f=$OUT/conns b o r
	local cli="$FLB conns $PORT $CONNS_N 100"
	say "conns: bare"
	o=$(bare "$FLB server $PORT & sleep 0.2; $cli")
	b=$(kv "$o" per_sec)
	row "$CONNS_N short connections (connect, 100 B echo, close), bare" "$b conn/s" "" "1×" ""
	say "conns: socat proxy"
	o=$(bare "$FLB server $PORT & socat TCP-LISTEN:$PPORT,fork,reuseaddr TCP:127.0.0.1:$PORT & sleep 0.2; $FLB conns $PPORT $CONNS_N 100")
	r=$(kv "$o" per_sec)
	row "short connections, socat TCP proxy (peer; forks per connection)" "$b conn/s" "$r conn/s" "$(ratio "$r" "$b")" ""
	say "conns: kernel floor (nfqmin, teardown-only queueing)"
	o=$(floor teardown "$FLB server $PORT & sleep 0.2; $cli")
	r=$(kv "$o" per_sec)
	row "short connections, kernel floor: faultline's no-rule queueing through a minimal NFQUEUE pass-through (\`bench/nfqmin.c\`)" "$b conn/s" "$r conn/s" "$(ratio "$r" "$b")" "time $(ratio "$b" "$r") of bare"
	say "conns: faultline, no rules"
	fl_run conns "" "" "$FLB server $PORT" "$cli >$f.fl"
	r=$(kv "$(cat "$f.fl" 2>/dev/null)" per_sec)
	row "short connections, faultline no rules" "$b conn/s" "$r conn/s" "$(ratio "$r" "$b")" "time $(ratio "$b" "$r") of bare; $(seg_note)"
}

g_ping() {
	local f=$OUT/ping b o r
	local cli="$FLB rtt $PORT $PING_N 1 1000"
	say "ping: bare"
	o=$(bare "$FLB server $PORT & sleep 0.2; $cli")
	b=$(kv "$o" p50_us)
	row "quiet ping-pong, 1 B every 1 ms (p50, n=$PING_N), bare" "$b µs" "" "1×" ""
	for m in shim noshim; do
		local opts="" what="shim in the target"
		[ $m = noshim ] && opts="--no-preload" && what="--no-preload"
		say "ping: faultline $m"
		fl_run "ping_$m" "" "$opts" "$FLB server $PORT" "$cli >$f.$m"
		r=$(kv "$(cat "$f.$m" 2>/dev/null)" p50_us)
		row "quiet ping-pong, faultline no rules, $what" "$b µs" "$r µs" "$(ratio "$r" "$b")" "p99 $(kv "$(cat "$f.$m" 2>/dev/null)" p99_us) µs; $(seg_note)"
	done
}

# One-way latency server -> client (flbench oneway: the server stamps its
# write with CLOCK_MONOTONIC, the client subtracts it from its read time),
# so the request's own path through faultline does not count.  Release
# error = one-way - delay - bare one-way p50; earliest = min one-way -
# delay - bare one-way min.  A segment is queued only after the server's
# write, so one-way - delay bounds (hold - delay) from above: a negative
# earliest is an early release for certain.
g_delay() {
	local f=$OUT/delay o b50 b99 bmin r50
	local srv="$FLB stampserver $PORT"
	say "delay: bare one-way"
	o=$(bare "$srv & sleep 0.2; $FLB oneway $PORT 300")
	b50=$(kv "$o" p50_us) b99=$(kv "$o" p99_us) bmin=$(kv "$o" min_us)
	say "delay: faultline, server data queued, no hold"
	fl_run delay_base "$NODELAY_RULE" "" "$srv" "$FLB oneway $PORT 300 >$f.base"
	o=$(cat "$f.base" 2>/dev/null)
	r50=$(kv "$o" p50_us)
	row "one-way server→client, server data queued, no delay (\`$NODELAY_RULE\`; p50 / p99)" "$b50 / $b99 µs" "$r50 / $(kv "$o" p99_us) µs" "$(ratio "$r50" "$b50")" "$(delta "$r50" "$b50") µs p50; $(seg_note)"
	for d in 1 10 100; do
		local n e50 e99 early
		case $d in 1) n=$D1_N ;; 10) n=$D10_N ;; 100) n=$D100_N ;; esac
		say "delay: faultline delay ${d}ms (n=$n)"
		fl_run "delay_$d" "delay ${d}ms from server data" "" "$srv" "$FLB oneway $PORT $n >$f.$d"
		o=$(cat "$f.$d" 2>/dev/null)
		e50=$(awk -v r="$(kv "$o" p50_us)" -v d="$d" -v b="$b50" 'BEGIN { if (r == "") print "?"; else printf "%+.0f", r - d * 1000 - b }')
		e99=$(awk -v r="$(kv "$o" p99_us)" -v d="$d" -v b="$b50" 'BEGIN { if (r == "") print "?"; else printf "%+.0f", r - d * 1000 - b }')
		early=$(awk -v r="$(kv "$o" min_us)" -v d="$d" -v b="$bmin" 'BEGIN { if (r == "") print "?"; else printf "%+.0f", r - d * 1000 - b }')
		row "\`delay ${d}ms from server data\`: release error p50 / p99; earliest (n=$n)" "one-way $b50 µs" "$e50 / $e99 µs; earliest $early µs" "$(ratio "$(kv "$o" p50_us)" "$(awk -v d="$d" -v b="$b50" 'BEGIN { print d * 1000 + b }')") of delay + bare" "one-way p50 $(kv "$o" p50_us) µs, max $(kv "$o" max_us) µs; $(seg_note)"
	done
}

g_setup() {
	local b o r
	say "setup: unshare -n /bin/true x$SETUP_N"
	o=$("$FLB" time "$SETUP_N" unshare -n /bin/true)
	b=$(kv "$o" p50_ms)
	say "setup: faultline run -- /bin/true x$SETUP_N"
	o=$("$FLB" time "$SETUP_N" "$FL" run --allow-skip -- /bin/true)
	r=$(kv "$o" p50_ms)
	row "per-run setup, \`faultline run -- /bin/true\` vs \`unshare -n /bin/true\` (p50 wall, n=$SETUP_N)" "$b ms" "$r ms" "$(ratio "$r" "$b")" "$(delta "$r" "$b") ms; p99 $(kv "$o" p99_ms) ms"
}

# Per-packet cost: NFLOWS flows open at once, every segment queued
# (--queue-all); each round writes 32 B on every flow and waits for every
# echo.  Only the echo phase is timed (not the connects).  Each echo is two
# data segments (request, reply; the ACKs ride on them), so the cost per
# segment = (faultline - bare) time per echo / 2.  A flow count whose run
# does not finish within FLOWS_BOUND seconds is reported as such and
# replaced by FLOWS_FALLBACK.
flows_one() {
	local n=$1 rounds=$2 f=$OUT/flows b o r per flat="" rss mem
	say "flows: $n concurrent, bare ($rounds rounds)"
	o=$(bare "$FLB server $PORT & sleep 0.2; $FLB flows $PORT $n $rounds" 2>/dev/null)
	b=$(kv "$o" us_per_echo)
	say "flows: $n concurrent, faultline --queue-all (bounded to ${FLOWS_BOUND}s)"
	fl_run "flows_$n" "" "--queue-all" "$FLB server $PORT" "timeout $FLOWS_BOUND $FLB flows $PORT $n $rounds >$f.$n"
	r=$(kv "$(cat "$f.$n" 2>/dev/null)" us_per_echo)
	if [ -z "$r" ]; then
		row "$n concurrent flows, --queue-all" "$b µs per echo" "did not finish in ${FLOWS_BOUND}s" "?" "by the bound: $(seg_note)"
		return 1
	fi
	per=$(awk -v r="$r" -v b="$b" 'BEGIN { printf "%.1f", (r - b) / 2 }')
	rss=$(tail -1 "$OUT/flows_$n.rss" 2>/dev/null)
	[ -z "$FLOWS_BASE" ] && { FLOWS_BASE=$per; FLOWS_RSS=$rss; FLOWS_N=$n; }
	if [ "$n" != "$FLOWS_N" ]; then
		flat="; $(ratio "$per" "$FLOWS_BASE") of the $FLOWS_N-flow cost"
		mem=$(awk -v a="$rss" -v b="$FLOWS_RSS" -v n="$n" -v m="$FLOWS_N" 'BEGIN { if (a == "" || b == "") print "?"; else printf "%.2f", (a - b) / (n - m) }')
		flat="$flat; faultline peak RSS ${rss:-?} KiB, ${mem} KiB per added flow"
	else
		flat="; faultline peak RSS ${rss:-?} KiB"
	fi
	row "$n concurrent flows, 32 B echo on each, $rounds rounds, --queue-all (time per echo)" "$b µs" "$r µs" "$(ratio "$r" "$b")" "+$per µs per data segment$flat; $(seg_note) in all"
}

g_flows() {
	local spec
	FLOWS_BASE=""
	for spec in $FLOWS; do
		flows_one "${spec%%:*}" "${spec#*:}" ||
			{ [ -n "$FLOWS_FALLBACK" ] && flows_one "${FLOWS_FALLBACK%%:*}" "${FLOWS_FALLBACK#*:}"; }
	done
}

{
	echo "bench/run.sh $([ $QUICK = 1 ] && echo --quick) $GROUPS_RUN"
	echo "date: $(date '+%Y-%m-%d %H:%M %Z'); nproc $(nproc); kernel $(uname -r); memory $(free -m | awk '/^Mem:/ { print $2 " MiB" }'); $("$FL" --version 2>&1 | head -1); git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
	echo
} >"$OUT/head"

T0=$(date +%s)
for g in $GROUPS_RUN; do "g_$g"; done
say "done in $(( $(date +%s) - T0 ))s"

cat "$OUT/head"
echo "| figure | bare loopback (same run) | faultline / peer | ratio | notes |"
echo "| --- | --- | --- | --- | --- |"
cat "$ROWS"
