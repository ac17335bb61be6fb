#!/bin/sh
# run.sh [SECONDS] - build the libFuzzer targets with clang in build-fuzz/ and
# run each for SECONDS (default 60) over a copy of its seed corpus
# (tests/fuzz/corpus/<name>/ stays as committed; new inputs go to
# build-fuzz/corpus-<name>/).  Exits non-zero if a target fails to build or
# finds a crash; the reproducer is left as build-fuzz/crash-<name>-*.
# Reproduce with: build-fuzz/fuzz_<name> build-fuzz/crash-<name>-...
set -u

secs=${1:-60}
case $secs in
''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/../.." && pwd)
bld=$root/build-fuzz
cc=${CC:-clang}

cmake -S "$root" -B "$bld" -DCMAKE_C_COMPILER="$cc" -DFL_FUZZ=ON \
	-DFL_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1

status=0
for t in packet rules calls; do
	if ! cmake --build "$bld" --target "fuzz_$t" -j "$(nproc)"; then
		echo "run.sh: fuzz_$t failed to build" >&2
		status=1
		continue
	fi
	if [ ! -x "$bld/fuzz_$t" ]; then
		echo "run.sh: $bld/fuzz_$t missing after the build" >&2
		status=1
		continue
	fi
	work=$bld/corpus-$t
	rm -rf "$work"
	mkdir -p "$work"
	cp "$root/tests/fuzz/corpus/$t/"* "$work/"
	dict=
	[ -f "$root/tests/fuzz/$t.dict" ] && dict=-dict=$root/tests/fuzz/$t.dict
	echo "run.sh: fuzz_$t for ${secs}s" >&2
	if ! "$bld/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$bld/crash-$t-" $dict "$work"; then
		echo "run.sh: fuzz_$t found a crash: $bld/crash-$t-*" >&2
		status=1
	fi
done
exit $status
