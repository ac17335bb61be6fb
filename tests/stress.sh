#!/bin/bash
# tests/stress.sh - many faultline runs at once, by hand (not in ctest):
# shipped scenarios (rules/scenarios/*.rules) on tests/targets' programs,
# as root and as uid 65534 in turn, in parallel batches.  Each run must
#   - exit 0 (every check held: the scenario's own expects, and
#     `expect rules-acted`, so the fault really happened);
#   - have a JSON report whose faults[] all acted (count > 0) and whose
#     harness counters show no unintended drop (queue_dropped,
#     user_dropped, enobufs all 0);
# and afterwards nothing may be left: no process whose command line names
# this build or this run's scratch directory (faultline, its init, the
# targets and drivers; other users of the machine are left out), no
# namespace held by such a process (lsns), no new named network namespace
# (ip netns).  lsns's count of every namespace on the machine before and
# after is printed too, for a quiet machine.
#
# usage: tests/stress.sh [BUILD_DIR] [RUNS] [PARALLEL]   (as root)
#   defaults: build 100 4.  Prints one line per failed run, then figures.
set -u

BUILD=$(cd "${1:-build}" && pwd) || exit 2
RUNS=${2:-100}
PAR=${3:-4}
SRC=$(cd "$(dirname "$0")/.." && pwd)
FL=$BUILD/faultline
T=$BUILD/targets
SC=$SRC/rules/scenarios
WORK=$(mktemp -d /tmp/fl-stress.XXXXXX)
chmod 0777 "$WORK"

if [ "$(id -u)" != 0 ]; then
	echo "stress.sh: run as root (it runs faultline as root and as uid 65534)" >&2
	exit 2
fi
for p in "$FL" "$T/echo_server" "$T/tcp_client" "$T/sc_reply_close"; do
	[ -x "$p" ] || { echo "stress.sh: $p not built" >&2; exit 2; }
done

W='while ! grep -q ":1B58 00000000:0000 0A" /proc/net/tcp; do sleep 0.01; done; '
# name | rule file | driver | target: scenarios with a fault, on correct
# programs (the commands of tests/e2e/test_scenarios.c, or an echo
# round-trip loop for the data faults), so each run passes when faultline
# behaves and its fault must act
SCENARIOS=(
"lost-fin|lost-fin.rules|${W}exec $T/tcp_client -p 7000 --rtt 1|exec $T/echo_server -p 7000 -n 1"
"lost-final-ack|lost-final-ack.rules|$T/echo_server -p 7000 -n 1 --close-after-eof-ms 300 && sleep 1|${W}exec $T/tcp_client -p 7000 --rtt 1"
"simultaneous-close|simultaneous-close.rules|${W}exec $T/tcp_client -p 7000 --rtt 1 --hold-ms 30|exec $T/sc_reply_close -p 7000 --wait-ms 30"
"rst-in-window|rst-in-window.rules|${W}$T/tcp_client -p 7000 --rtt 3; test \$? -eq 1|exec $T/echo_server -p 7000 -n 1"
"reset-out-of-window|reset-out-of-window.rules|${W}exec $T/tcp_client -p 7000 --rtt 3|exec $T/echo_server -p 7000 -n 1"
"lost-third-ack|lost-third-ack.rules|${W}exec $T/tcp_client -p 7000 --hold-ms 1500|exec $T/echo_server -p 7000 -n 1"
"connect-refused|connect-refused.rules|exec $T/echo_server -p 7000|${W}exec $T/tcp_client -p 7000"
"delayed-acks|delayed-acks.rules|${W}exec $T/tcp_client -p 7000 --rtt 50 --rtt-size 4000|exec $T/echo_server -p 7000 -n 1"
"duplicate|duplicate.rules|${W}exec $T/tcp_client -p 7000 --rtt 50 --rtt-size 4000|exec $T/echo_server -p 7000 -n 1"
"reorder|reorder.rules|${W}exec $T/tcp_client -p 7000 --rtt 50 --rtt-size 4000|exec $T/echo_server -p 7000 -n 1"
"truncate|truncate.rules|${W}exec $T/tcp_client -p 7000 --rtt 50 --rtt-size 4000|exec $T/echo_server -p 7000 -n 1"
"corrupt|corrupt.rules|${W}exec $T/tcp_client -p 7000 --rtt 50 --rtt-size 4000|exec $T/echo_server -p 7000 -n 1"
)

printf 'expect rules-acted\n' > "$WORK/acted.rules"

snapshot() { # our processes (pid args), every namespace, named netns
	ps -e -o pid=,stat=,args= | grep -F -e "$BUILD/" -e "$WORK" |
		grep -v -e 'grep -F' -e stress.sh | sort -n > "$1.ps"
	lsns -n -o NS,TYPE,PID 2>/dev/null | sort > "$1.ns"
	ip netns list 2>/dev/null | sort > "$1.netns"
}

one() { # run number
	local i=$1 n=${#SCENARIOS[@]} s name rules driver target dir who rc
	s=${SCENARIOS[$((i % n))]}
	IFS='|' read -r name rules driver target <<< "$s"
	dir=$WORK/run$i
	mkdir -p "$dir" && chmod 0777 "$dir"
	if [ $(((i / n) % 2)) = 0 ]; then who=root; else who=nobody; fi
	local cmd=("$FL" run -r "$SC/$rules" -r "$WORK/acted.rules"
		   --report "$dir/report.json" --timeout 30s
		   --driver "$driver" -- /bin/sh -c "$target")
	if [ $who = nobody ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups -- "${cmd[@]}" \
			> "$dir/out" 2> "$dir/err" < /dev/null
	else
		"${cmd[@]}" > "$dir/out" 2> "$dir/err" < /dev/null
	fi
	rc=$?
	python3 - "$dir/report.json" "$i" "$name" "$who" "$rc" <<'EOF'
import json, sys
path, i, name, who, rc = sys.argv[1:]
why = []
if rc != "0":
    why.append("exit %s" % rc)
try:
    rep = json.load(open(path))
except Exception as e:
    rep = None
    why.append("no report (%s)" % e)
acted = drops = 0
if rep:
    for c in rep["checks"]:
        if not c["ok"]:
            why.append("check %s: %s" % (c["expect"], c["detail"]))
    faults = rep.get("faults", [])
    if not faults:
        why.append("no fault rule")
    for f in faults:
        if f["count"] <= 0:
            why.append("rule %s never acted" % f["rule"])
        acted += f["count"]
    h = rep["harness"]
    drops = sum(max(h.get(k) or 0, 0) for k in ("queue_dropped", "user_dropped", "enobufs"))
    if drops:
        why.append("unintended drops: queue %s user %s enobufs %s" %
                   (h.get("queue_dropped"), h.get("user_dropped"), h.get("enobufs")))
print("%s %s %s %s %d %d %s" % (i, name, who, "ok" if not why else "FAIL", acted, drops,
                                "; ".join(why).replace("\n", " ")))
EOF
}

echo "stress: $RUNS runs, $PAR at a time, ${#SCENARIOS[@]} scenarios, root and uid 65534; in $WORK"
snapshot "$WORK/before"
t0=$(date +%s.%N)
for ((b = 0; b < RUNS; b += PAR)); do
	for ((i = b; i < b + PAR && i < RUNS; i++)); do
		one "$i" > "$WORK/result$i" &
	done
	wait
done
t1=$(date +%s.%N)
sleep 1 # the last sandboxes' inits are reaped by now
snapshot "$WORK/after"

cat "$WORK"/result* | sort -n > "$WORK/results"
fails=$(awk '$4 != "ok"' "$WORK/results" | wc -l)
total=$(wc -l < "$WORK/results")
drops=$(awk '{d += $6} END {print d + 0}' "$WORK/results")
acts=$(awk '{a += $5} END {print a + 0}' "$WORK/results")
unexercised=$(awk '$5 == 0' "$WORK/results" | wc -l)
leftps=$(cat "$WORK/after.ps")
leftns=0
for pid in $(awk '{print $1}' "$WORK/after.ps"); do
	leftns=$((leftns + $(lsns -n -p "$pid" -o NS 2>/dev/null | wc -l)))
done
allns=$(($(wc -l < "$WORK/after.ns") - $(wc -l < "$WORK/before.ns")))
newnetns=$(comm -13 "$WORK/before.netns" "$WORK/after.netns" | wc -l)

awk '$4 != "ok"' "$WORK/results"
[ -n "$leftps" ] && { echo "left behind:"; echo "$leftps"; }
printf 'runs %d (root %d, uid 65534 %d), failures %d, not exercised %d, fault acts %d, unintended drops %d; wall %.1fs\n' \
	"$total" "$(awk '$3 == "root"' "$WORK/results" | wc -l)" \
	"$(awk '$3 == "nobody"' "$WORK/results" | wc -l)" "$fails" "$unexercised" "$acts" "$drops" \
	"$(echo "$t1 - $t0" | bc)"
printf 'left behind: processes %d (before the runs: %d), their namespaces %d, new named netns %d; namespaces on the machine %+d (everyone\x27s)\n' \
	"$(printf '%s' "$leftps" | grep -c .)" "$(grep -c . "$WORK/before.ps")" "$leftns" "$newnetns" "$allns"
for s in "${SCENARIOS[@]}"; do
	name=${s%%|*}
	awk -v n="$name" '$2 == n {r++; if ($4 == "ok") ok++; a += $5}
		END {printf "  %-24s %3d runs, %3d ok, %5d acts\n", n, r, ok, a}' "$WORK/results"
done
if [ "$fails" = 0 ] && [ "$unexercised" = 0 ] && [ "$drops" = 0 ] && [ -z "$leftps" ] &&
   [ "$leftns" = 0 ] && [ "$newnetns" = 0 ]; then
	echo "stress: PASS"
	rm -rf "$WORK"
	exit 0
fi
echo "stress: FAIL (kept $WORK)"
exit 1
