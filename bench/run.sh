#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# fpinspect benchmark: `make bench` or `sh bench/run.sh [OPTIONS]`.
#
#   --quick                 N = 10000 only, 1 rep, no cgo build, no GDB goroutine all bt
#   --ns "10000 100000 1000000"   goroutine counts (this is the default)
#   --depth 10              frames of main.recurse under each goroutine ("10 40" runs both)
#   --reps 3                runs per fpinspect command (median)
#   --no-delve, --no-gdb    skip the comparison with Delve / GDB
#   --help                  every option
#
# Options also come from $FPI_BENCH_ARGS, which is how `make bench` takes them:
# make bench FPI_BENCH_ARGS='--quick'  or  make bench FPI_BENCH_ARGS='--ns "10000 100000"'.
# Builds tests/targets/states into bench/out/, installs Delve into bench/out/bin
# (once), prints markdown tables and writes them to bench/out/results.md
# (raw numbers: bench/out/results.json). Progress goes to stderr.
# FPI_BUILDDIR: where fpinspect was built (default: . under make, else the
# tree); FPI_BENCH_OUT: output directory (default BUILDDIR/bench/out).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
# make bench runs us from the build directory; by hand we may be anywhere.
if [ -x "./fpinspect" ] && [ -f "./Makefile" ]; then
	builddir=$(pwd)
else
	builddir=$top
fi
builddir=${FPI_BUILDDIR:-$builddir}
out=${FPI_BENCH_OUT:-$builddir/bench/out}

command -v python3 >/dev/null 2>&1 || { echo "bench: python3 is required" >&2; exit 2; }
command -v go >/dev/null 2>&1 || { echo "bench: go is required (Go toolchain in PATH)" >&2; exit 2; }

# shellcheck disable=SC2086
eval "set -- ${FPI_BENCH_ARGS:-} \"\$@\""
build=1
for a in "$@"; do
	case $a in
	--help|-h) exec python3 "$here/bench.py" --top "$top" --builddir "$builddir" --out "$out" --help ;;
	--no-build|--render) build=0 ;;
	esac
done
if [ "$build" = 1 ] && [ -f "$builddir/Makefile" ]; then
	# fpinspect only: other targets are not needed to measure it
	${MAKE:-make} -C "$builddir" fpinspect >&2 || echo "bench: make fpinspect failed; using the existing binary" >&2
fi

mkdir -p "$out"
exec python3 "$here/bench.py" --top "$top" --builddir "$builddir" --out "$out" "$@"
