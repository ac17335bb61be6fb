#!/bin/sh
# test_man.sh FAULTLINE SOURCE_DIR - keeps the man pages in step, without
# a kernel: every option and command `faultline --help` shows appears in
# harness/faultline.1; every action, match, limit and check of
# rules/actions.def, matches.def and checks.def appears in
# rules/faultline-rules.5 and in rules/README.md; both pages carry the
# binary's version and render without a warning (groff -ww, and man
# --warnings where man is installed).  Prints each miss; exits 1 on any.
set -eu
bin=$1
src=$2
man1=$src/harness/faultline.1
man5=$src/rules/faultline-rules.5
ref=$src/rules/README.md
fails=0
miss() {
	echo "test_man: $*" >&2
	fails=$((fails + 1))
}

# A page's text as written, without troff's escapes: \- is -, fonts go.
plain() {
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(aq/'"'"'/g' "$1"
}
# Whether word $2 stands alone (not inside a longer option or keyword)
# in the text on stdin.
has_word() {
	grep -qE -- "(^|[^A-Za-z0-9_-])$(printf '%s' "$1" |
		sed 's/[][!.*^$]/\\&/g')([^A-Za-z0-9_-]|$)"
}

help=$("$bin" --help)
p1=$(plain "$man1")
p5=$(plain "$man5")
pref=$(cat "$ref")

# Options: the ones each option line of --help opens with ("  -j, --jobs
# N ..."), and the bracketed ones of its synopsis lines ("faultline run
# [-r RULES]..."); not the words of its prose or its examples.
opts=$({ printf '%s\n' "$help" | grep -E '^ +-' | sed -E 's/^ +//' |
	grep -oE -- '^(-[a-zA-Z], )?--?[a-z][a-z0-9-]*' | tr ', ' '\n\n'
	printf '%s\n' "$help" | grep -E '^ *(usage: )?faultline ' |
	grep -oE -- '\[--?[a-z][a-z0-9-]*' | tr -d '['
	printf '%s\n' "$help" | grep -E '^ *(usage: )?faultline -' |
	grep -oE -- '--?[a-z][a-z0-9-]*'; } | grep . | sort -u)
[ -n "$opts" ] || miss "no option found in faultline --help"
for o in $opts; do
	printf '%s\n' "$p1" | has_word "$o" ||
		miss "faultline.1 lacks $o (in faultline --help)"
done
# Commands: the word after "faultline" in the usage lines.
cmds=$(printf '%s\n' "$help" | sed -n 's/^ *faultline \([a-z][a-z]*\).*/\1/p' |
	sort -u)
[ -n "$cmds" ] || miss "no command found in faultline --help"
for c in $cmds; do
	printf '%s\n' "$p1" | grep -qE "^\.B $c\$|faultline $c( |\$)" ||
		miss "faultline.1 lacks the command '$c' (in faultline --help)"
done

# Keywords of the rule language, from the tables that define them.
kws=$(sed -n -e 's/^FL_ACTION([A-Z_]*, *"\([^"]*\)").*/\1/p' \
	-e 's/^FL_MATCH([A-Z_]*, *"\([^"]*\)",.*/\1/p' \
	-e 's/^FL_CHECK([A-Z_]*, *"\([^"]*\)",.*/\1/p' \
	"$src/rules/actions.def" "$src/rules/matches.def" "$src/rules/checks.def")
n=$(printf '%s\n' "$kws" | grep -c . || true)
[ "$n" -ge 30 ] || miss "only $n keywords read from rules/*.def"
for k in $kws; do
	printf '%s\n' "$p5" | has_word "$k" ||
		miss "faultline-rules.5 lacks '$k' (rules/*.def)"
	printf '%s\n' "$pref" | has_word "$k" ||
		miss "rules/README.md lacks '$k' (rules/*.def)"
done

# The version the pages name is the binary's.
ver=$("$bin" --version | sed 's/^faultline //')
for m in "$man1" "$man5"; do
	grep -q "^\.TH .*\"faultline $ver\"" "$m" ||
		miss "$(basename "$m"): .TH does not name faultline $ver"
done

# Rendering: no warning from groff (-ww: all of them) nor from man.
for m in "$man1" "$man5"; do
	out=$(LC_ALL=C.UTF-8 groff -ww -man -z "$m" 2>&1) ||
		miss "$(basename "$m"): groff failed"
	[ -z "$out" ] || miss "$(basename "$m"): groff warns: $out"
	if command -v man >/dev/null 2>&1; then
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 \
			>/dev/null) || miss "$(basename "$m"): man failed"
		[ -z "$out" ] || miss "$(basename "$m"): man warns: $out"
	fi
done

if [ "$fails" -gt 0 ]; then
	echo "test_man: $fails problem(s)" >&2
	exit 1
fi
echo "test_man: $(printf '%s\n' "$opts" | wc -l) options, $(printf '%s\n' \
	"$cmds" | wc -l) commands, $n keywords, 2 pages: OK"
