#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Where does fpinspect's time go? Starts tests/targets/states -n N -depth D
# (built by bench/run.sh into bench/out/states), runs one fpinspect command
# under `perf record --call-graph dwarf` and prints the phase timings
# (FPI_TIMING), --stats and the top of the perf report (inclusive and self).
#
#   sh bench/profile.sh [-n 100000] [-d 10] [-o bench/out/perf.data] COMMAND [ARG...]
#   sh bench/profile.sh -n 100000 check
#   sh bench/profile.sh -n 1000000 bt all --unwinder dwarf
#
# Without perf (or without permission to use it) only the phases and --stats
# are printed. Output of the command goes to /dev/null.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
builddir=${FPI_BUILDDIR:-$top}
out=${FPI_BENCH_OUT:-$builddir/bench/out}
n=100000 depth=10 data=
while getopts n:d:o: opt; do
	case $opt in
	n) n=$OPTARG ;;
	d) depth=$OPTARG ;;
	o) data=$OPTARG ;;
	*) echo "usage: $0 [-n N] [-d DEPTH] [-o perf.data] COMMAND [ARG...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-n N] [-d DEPTH] [-o perf.data] COMMAND [ARG...]" >&2; exit 2; }
data=${data:-$out/perf.data}

if [ -x "$builddir/.libs/fpinspect" ]; then
	fpi=$builddir/.libs/fpinspect
	LD_LIBRARY_PATH=$builddir/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	export LD_LIBRARY_PATH
else
	fpi=$builddir/fpinspect
fi
mkdir -p "$out"
states=$out/states
if [ ! -x "$states" ]; then
	(cd "$top/tests/targets/states" && GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0 go build -o "$states" .)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fpi-prof.XXXXXX")
tpid=
cleanup() {
	exec 8>&- 2>/dev/null || true
	if [ -n "$tpid" ]; then
		kill "$tpid" 2>/dev/null || true
		wait "$tpid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
mkfifo "$tmp/in"
"$states" -n "$n" -depth "$depth" <"$tmp/in" >"$tmp/out" 2>&1 &
tpid=$!
exec 8>"$tmp/in" # hold stdin open; closing it ends the target
i=0
until grep -q '^READY' "$tmp/out" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 1200 ] || ! kill -0 "$tpid" 2>/dev/null; then
		echo "target did not get READY" >&2
		cat "$tmp/out" >&2
		exit 1
	fi
	sleep 0.1
done
echo "target pid $tpid: -n $n -depth $depth, command: $*"

echo "== phases (no profiler)"
FPI_TIMING=1 "$fpi" attach "$tpid" --stats "$@" 2>&1 >/dev/null | grep -E '^(timing|stats):' || true

if command -v perf >/dev/null 2>&1 &&
	perf record -q -F 2000 --call-graph dwarf,16384 -o "$data" \
		"$fpi" attach "$tpid" --stats "$@" >/dev/null 2>"$tmp/perf.err"; then
	grep '^stats:' "$tmp/perf.err" | sed 's/^/under perf: /'
	echo "== inclusive (children), >= 2%"
	perf report -i "$data" --children --stdio --percent-limit 2 -g none 2>/dev/null |
		grep -v '^#' | grep -v '^$' | grep -v '\[unknown\]' | head -60
	echo "== self, >= 1%"
	perf report -i "$data" --no-children --stdio --percent-limit 1 -g none 2>/dev/null |
		grep -v '^#' | grep -v '^$' | head -40
	echo "(perf data: $data; perf report -i $data)"
else
	echo "perf not usable here; phases and --stats only" >&2
	[ -f "$tmp/perf.err" ] && tail -3 "$tmp/perf.err" >&2
fi
