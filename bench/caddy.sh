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
#
# bench/caddy.sh --oracle: instead, each idle Caddy's own dumps from its
# admin endpoint (/debug/pprof/goroutine?debug=2, and the goroutine
# profile) against fpinspect's dump and profile -o of the same process:
# every goroutine both show must read the same (the request's own
# goroutines are in Caddy's only).
set -u
CADDY_VERSION=v2.11.9
STORM="" ORACLE=""
case "${1:-}" in
--storm) STORM=${2:-100}; set -- ;;
--oracle) ORACLE=1; set -- ;;
esac
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
	# each its own admin endpoint (the default, localhost:2019, is one)
	printf '{\n\tadmin localhost:%s\n}\n:%s {\n\trespond "hello"\n}\n' $((port + 1600)) $port >"$TMP/Caddyfile.$v"
	"$OUT/caddy/$v/caddy" run --config "$TMP/Caddyfile.$v" --adapter caddyfile >"$TMP/caddy.$v.log" 2>&1 &
	PIDS="$PIDS $!"
	eval "PID_$v=$!"
done
sleep 3

# stats FILE: median (min-max) of the numbers in FILE
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%.3f (%.3f-%.3f)", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

if [ -n "$ORACLE" ]; then
	port=18400
	rc=0
	echo "| binary | dump: goroutines in both | of those, read differently | profile: stacks (with counts) equal |"
	echo "|---|---|---:|---|"
	for v in dwarf sw; do
		port=$((port + 1))
		eval "pid=\$PID_$v"
		admin="http://localhost:$((port + 1600))/debug/pprof/goroutine"
		curl -sf "$admin?debug=2" >"$TMP/go.txt" && curl -sf "$admin" >"$TMP/go.pb.gz" || {
			echo "caddy $v: its admin endpoint did not answer" >&2; exit 2; }
		fpi attach "$pid" dump >"$TMP/fpi.txt" && fpi attach "$pid" profile -o "$TMP/fpi.pb.gz" >/dev/null || exit 2
		for f in go fpi; do go tool pprof -traces "$TMP/$f.pb.gz" >"$TMP/$f.traces" 2>/dev/null || exit 2; done
		python3 - "$v" "$TMP" <<'PY' || rc=1
import collections, re, sys
v, d = sys.argv[1], sys.argv[2]
def dump(f):
    gs, cur = {}, None
    for ln in open(f):
        m = re.match(r'^goroutine (\d+) \[([^\]]*)\]:', ln)
        if m:
            # the minutes are the one thing taken at another moment
            cur = m.group(1); gs[cur] = [re.sub(r', \d+ minutes', '', m.group(2))]
        elif cur and ln.strip():
            gs[cur].append(re.sub(r'\(.*\)$', '(...)', ln.rstrip()))
    return gs
def traces(f):
    st, cur = collections.Counter(), []
    for ln in open(f):
        if ln.startswith('-----'):
            if cur: st[tuple(cur)] += n
            cur = []
        elif re.match(r'^ +\d+ +\S', ln):
            n, fn = ln.split(None, 1); n = int(n); cur = [fn.strip()]
        elif cur and ln.startswith(' '):
            cur.append(ln.strip())
    if cur: st[tuple(cur)] += n
    # the request's: the handler writing the profile, its connection's reader
    return collections.Counter({k: c for k, c in st.items()
                                if not any('pprof' in f or 'backgroundRead' in f for f in k)})
a, b = dump(d + '/go.txt'), dump(d + '/fpi.txt')
common = sorted(set(a) & set(b), key=int)
bad = [g for g in common if a[g] != b[g]]
for g in bad[:3]:
    print('goroutine %s: caddy says' % g, a[g], 'fpinspect', b[g], file=sys.stderr)
ta, tb = traces(d + '/go.traces'), traces(d + '/fpi.traces')
print('| caddy %s | %d of %d goroutines in both | %d differ | %d of %d profile stacks equal |' %
      (v, len(common), len(a), len(bad), sum((ta & tb).values()), sum(ta.values())))
sys.exit(1 if bad or ta != tb else 0)
PY
	done
	exit $rc
fi

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
