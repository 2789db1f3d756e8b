#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# bench/caddy.sh [RUNS]: fpinspect on a real production binary. Builds a
# pinned Caddy from the Go module proxy twice, with DWARF and with
# -ldflags="-s -w" (as releases ship), starts each on a loopback port (idle,
# about 20 goroutines), and times RUNS (default 7) runs of `summary`,
# `goroutines` and `check` on each: "cold" with an empty $XDG_CACHE_HOME (the
# runtime's layout read from DWARF, or found in the shipped layout files) and
# "warm" (the build-ID cache of the first run); then Delve's `goroutines` on
# the same processes. Prints a Markdown table: median (min-max) seconds, end
# to end, and fpinspect's time before the stop (FPI_TIMING's load).
# Needs Go, network access to the module proxy (first run only; the
# binaries stay in $OUT/caddy) and ptrace permission. Delve is installed
# like bench.py does (GOBIN=$OUT/bin go install .../dlv@latest).
#
# bench/caddy.sh --storm [N]: instead, both Caddys under load (wrk, 50
# connections each) while fpinspect checks each N times (default 100):
# counts of checks with an error or a warning (there must be none), the
# pauses, and what wrk saw (requests/s, socket errors).
set -u
CADDY_VERSION=v2.11.9
STORM=""
if [ "${1:-}" = --storm ]; then
	STORM=${2:-100}
	set --
fi
RUNS=${1:-7}
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${FPI_BUILDDIR:-$top}
OUT=${FPI_BENCH_OUT:-$BUILD/bench/out}
FPI="$BUILD/fpinspect"
FPI_LIBS=""
# as bench.py: the real binary, not libtool's wrapper script (a shell that
# costs 10 ms a run, two thirds of a stripped Caddy's goroutines), copied
# with its library so that a rebuild meanwhile does not change what is timed
if [ -x "$BUILD/.libs/fpinspect" ]; then
	FPI_LIBS="$OUT/fpi-caddy"
	rm -rf "$FPI_LIBS" && mkdir -p "$FPI_LIBS" && cp -P "$BUILD"/.libs/fpinspect "$BUILD"/.libs/libfpinspect.so* "$FPI_LIBS"/ || exit 2
	FPI="$FPI_LIBS/fpinspect"
fi
fpi() { LD_LIBRARY_PATH="$FPI_LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$FPI" "$@"; }
mkdir -p "$OUT/caddy/dwarf" "$OUT/caddy/sw" "$OUT/bin"
for v in dwarf sw; do
	if [ ! -x "$OUT/caddy/$v/caddy" ]; then
		f=""; [ $v = sw ] && f="-s -w"
		echo "building caddy $CADDY_VERSION ($v)..." >&2
		GOBIN="$OUT/caddy/$v" GOFLAGS= go install -ldflags="$f" \
			"github.com/caddyserver/caddy/v2/cmd/caddy@$CADDY_VERSION" >&2 || exit 2
	fi
done
DLV="$OUT/bin/dlv"
if [ ! -x "$DLV" ]; then
	echo "installing Delve..." >&2
	GOBIN="$OUT/bin" GOFLAGS= go install github.com/go-delve/delve/cmd/dlv@latest >&2 || DLV=""
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fpi-caddy.XXXXXX")
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; rm -rf "$TMP"' EXIT
port=18400
for v in dwarf sw; do
	port=$((port + 1))
	printf ':%s {\n\trespond "hello"\n}\n' $port >"$TMP/Caddyfile.$v"
	"$OUT/caddy/$v/caddy" run --config "$TMP/Caddyfile.$v" --adapter caddyfile >"$TMP/caddy.$v.log" 2>&1 &
	PIDS="$PIDS $!"
	eval "PID_$v=$!"
done
sleep 3

# stats FILE: median (min-max) of the numbers in FILE
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%.3f (%.3f-%.3f)", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

if [ -n "$STORM" ]; then
	command -v wrk >/dev/null 2>&1 || { echo "bench/caddy.sh --storm needs wrk (setup.sh installs it)" >&2; exit 2; }
	# the load runs past the checks: about 40 checks a second per process
	secs=$((STORM / 10 + 20))
	port=18400
	WRKS=""
	for v in dwarf sw; do
		port=$((port + 1))
		wrk -t1 -c50 -d${secs}s "http://127.0.0.1:$port/" >"$TMP/wrk.$v" 2>&1 &
		WRKS="$WRKS $!"
	done
	sleep 2
	echo "| binary | checks | with an error or a warning | pause ms, median (max) | wrk requests/s | wrk errors |"
	echo "|---|---:|---:|---|---:|---|"
	for v in dwarf sw; do
		eval "pid=\$PID_$v"
		bad=0
		: >"$TMP/p"
		for i in $(seq "$STORM"); do
			fpi attach "$pid" --stats check >"$TMP/c" 2>&1
			rc=$?
			if [ $rc -ne 0 ] || ! grep -q ': 0 errors, 0 warnings' "$TMP/c"; then
				bad=$((bad + 1))
				grep -v '^info' "$TMP/c" | head -5 >&2
			fi
			sed -n 's/.*pause \([0-9.]*\) ms.*/\1/p' "$TMP/c" >>"$TMP/p"
		done
		eval "bad_$v=$bad"
		cp "$TMP/p" "$TMP/p.$v"
	done
	# (the Caddys are children too: wait for wrk only)
	for p in $WRKS; do wait "$p"; done
	for v in dwarf sw; do
		eval "bad=\$bad_$v"
		pz=$(sort -n "$TMP/p.$v" | awk '{ v[NR] = $1 } END { printf "%.1f (%.1f)", v[int((NR + 1) / 2)], v[NR] }')
		rps=$(sed -n 's/^Requests\/sec: *//p' "$TMP/wrk.$v")
		errs=$(sed -n 's/^ *Socket errors: *//p' "$TMP/wrk.$v")
		echo "| caddy $v | $STORM | $bad | $pz | $rps | ${errs:-none} |"
	done
	exit 0
fi
now() { date +%s.%N; }

echo "| binary | command | cache | end to end, s | before the stop, ms |"
echo "|---|---|---|---|---|"
for v in dwarf sw; do
	eval "pid=\$PID_$v"
	size=$(du -m "$OUT/caddy/$v/caddy" | cut -f1)
	for c in summary goroutines check; do
		for cache in cold warm; do
			: >"$TMP/t" ; : >"$TMP/l"
			for i in $(seq "$RUNS"); do
				[ $cache = cold ] && rm -rf "$TMP/xdg"
				t0=$(now)
				XDG_CACHE_HOME="$TMP/xdg" FPI_TIMING=1 fpi attach "$pid" $c >/dev/null 2>"$TMP/err" || {
					echo "fpinspect $c failed: $(tail -1 "$TMP/err")" >&2; exit 2; }
				awk -v a="$(now)" -v b="$t0" 'BEGIN { print a - b }' >>"$TMP/t"
				sed -n 's/^timing: load \([0-9.]*\) ms.*/\1/p' "$TMP/err" >>"$TMP/l"
			done
			echo "| caddy $v ($size MB) | fpinspect $c | $cache | $(stats "$TMP/t") | $(stats "$TMP/l") |"
		done
	done
	if [ -n "$DLV" ]; then
		: >"$TMP/t"
		for i in $(seq 3); do
			t0=$(now)
			printf 'goroutines\nexit\nn\n' | "$DLV" attach "$pid" --allow-non-terminal-interactive=true \
				>"$TMP/dlv.out" 2>&1
			awk -v a="$(now)" -v b="$t0" 'BEGIN { print a - b }' >>"$TMP/t"
		done
		echo "| caddy $v ($size MB) | dlv goroutines | | $(stats "$TMP/t") | |"
	fi
done
