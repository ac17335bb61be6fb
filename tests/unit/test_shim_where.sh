#!/bin/sh
# test_shim_where.sh SHIM_WHERE LIBRARY SHIM - harness/shim.c inside a
# shared library (LIBRARY, as libfaultline.so) linked by a program of
# someone else's (SHIM_WHERE, tests/unit/shim_where.c) that lives
# elsewhere: the shim and the samples are found relative to the library,
# in the installed layout (LIB/faultline/, LIB/faultline/samples/) and in
# a build tree's (beside it, LIB/targets/); with neither, the error names
# where it looked and the fixes.  No kernel.  Prints each miss; exits 1.
set -eu
prog=$1
lib=$2
shim=$3
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fails=0
miss() {
	echo "test_shim_where: $*" >&2
	fails=$((fails + 1))
}
mkdir -p "$t/app" "$t/lib"
cp "$prog" "$t/app/shim_where"
cp "$lib" "$t/lib/"
run() {
	env -u FAULTLINE_PRELOAD -u FAULTLINE_SAMPLES \
		LD_LIBRARY_PATH="$t/lib" "$t/app/shim_where"
}
expect() { # what, wanted line
	printf '%s\n' "$out" | grep -qxF -- "$2" ||
		miss "$1: want '$2', got: $out"
}

# Installed: LIBDIR/libfaultline.so, LIBDIR/faultline/{shim,samples/}.
mkdir -p "$t/lib/faultline/samples"
cp "$shim" "$t/lib/faultline/libfaultline-preload.so"
cp /bin/true "$t/lib/faultline/samples/echo_server"
out=$(run)
expect installed "shim=$t/lib/faultline/libfaultline-preload.so"
expect installed "samples=$t/lib/faultline/samples"

# A build tree: the shim beside the library, the samples in targets/.
rm -r "$t/lib/faultline"
mkdir -p "$t/lib/targets"
cp "$shim" "$t/lib/libfaultline-preload.so"
cp /bin/true "$t/lib/targets/echo_server"
out=$(run)
expect build "shim=$t/lib/libfaultline-preload.so"
expect build "samples=$t/lib/targets"

# Neither: -ENOENT (-2), naming the library's candidates and the fixes.
rm -r "$t/lib/targets" "$t/lib/libfaultline-preload.so"
out=$(run)
expect none "samples=-"
for want in "shim=- err=the shim libfaultline-preload.so was not found" \
	"$t/lib/libfaultline-preload.so, $t/lib/faultline/libfaultline-preload.so" \
	"$t/app/libfaultline-preload.so" "--preload PATH" "--no-preload" "(-2)"; do
	printf '%s\n' "$out" | grep -qF -- "$want" ||
		miss "none: want '$want' in: $out"
done

if [ "$fails" -gt 0 ]; then
	echo "test_shim_where: $fails problem(s)" >&2
	exit 1
fi
echo "test_shim_where: installed, build tree and missing: OK"
