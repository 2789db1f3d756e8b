#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Garbage in target memory (issue 10): GDB writes garbage into a live Go
# program's runtime structures (a parked goroutine's atomicstatus, an M's
# gsignal and g0, stretched stack bounds, allm and allgs pointed at a buffer
# of pseudorandom words or at 100k overlapping fake Ms); every command then
# ends with 0 or 1 (a finding) or 2 and a message, never by a signal, in
# bounded time and memory, and the target lives on (the garbage is put back
# before it could run into it). The garbage status also on a core and in
# the GDB plugin. Last: SIGINT/SIGTERM in fpinspect's first milliseconds
# end it with exit status 2, not by the signal.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace; need_gdb; need_python

# The program itself, not libtool's wrapper script: signals and RSS are the
# program's then.
FPIBIN=$FPI
if [ -x "$top_builddir/.libs/fpinspect" ] && head -c 2 "$FPI" | grep -q '#!'; then
	FPIBIN="$top_builddir/.libs/fpinspect"
	LD_LIBRARY_PATH="$top_builddir/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	export LD_LIBRARY_PATH
fi
# An ASan build of the library cannot be loaded into GDB (see configure.ac).
SANITIZED=0
ldd "$FPIBIN" 2>/dev/null | grep -q 'libasan' && SANITIZED=1

# GDB helpers: the addresses of runtime roots and of some goroutines' fields
# ("A name value" lines), and a chain of fake Ms.
cat >"$TDIR/addrs.py" <<'EOF'
import os
import gdb

def show(name, val):
    print("A %s %#x" % (name, int(val)))

allgs = gdb.parse_and_eval("'runtime.allgs'")
allm = gdb.parse_and_eval("'runtime.allm'")
glen = gdb.parse_and_eval("'runtime.allglen'")
show("allgs", allgs.address)
show("allgs_array", allgs['array'])
show("allgs_len", allgs['len'])
show("allgs_cap", allgs['cap'])
show("allglen", glen.address)
show("allglen_val", glen)
show("allm", allm.address)
show("allm_val", allm)
m = allm.dereference()
show("m_gsignal", m['gsignal'].address)
show("m_gsignal_val", m['gsignal'])
show("m_g0", m['g0'].address)
show("m_g0_val", m['g0'])
show("m_alllink_off", int(m['alllink'].address) - int(allm))
want = set(int(x) for x in os.environ.get("WANT", "").split())
for i in range(int(allgs['len'])):
    gp = allgs['array'][i]
    g = gp.dereference()
    goid = int(g['goid'])
    if goid in want:
        show("g%d_status" % goid, g['atomicstatus'].address)
        show("g%d_lo" % goid, g['stack']['lo'].address)
        show("g%d_lo_val" % goid, g['stack']['lo'])
        show("g%d_hi" % goid, g['stack']['hi'].address)
        show("g%d_hi_val" % goid, g['stack']['hi'])
EOF
cat >"$TDIR/fakems.py" <<'EOF'
# N overlapping fake Ms at BASE, each 8 bytes after the last: every one's
# alllink word points to the next, the last one's is 0.
import os
import struct
import gdb

base = int(os.environ["BASE"], 0)
n = int(os.environ["N"])
off = int(os.environ["LINKOFF"], 0)
words = [base + 8 * (i + 1) for i in range(n)]
words[-1] = 0
gdb.selected_inferior().write_memory(base + off, struct.pack("<%dQ" % n, *words))
EOF

# addrs PID GOIDS...: fills $TDIR/a.txt; A NAME prints one value
addrs() {
	_p=$1; shift
	WANT="$*" gdb -nx -batch -p "$_p" -ex "source $TDIR/addrs.py" 2>/dev/null | grep '^A ' >"$TDIR/a.txt"
}
A() { awk -v k="$1" '$2 == k { print $3 }' "$TDIR/a.txt"; }

# poke PID 'set ...'...: GDB writes into the target
poke() {
	_p=$1; shift
	_args=""
	for _e in "$@"; do _args="$_args -ex '$_e'"; done
	eval gdb -nx -batch -p "$_p" -ex "'set language c'" "$_args" >"$TDIR/poke.out" 2>&1
	grep -q "Cannot access memory" "$TDIR/poke.out" && { echo "FAIL: gdb could not write: $*"; exit 99; }
	return 0
}

now_ms() { python3 -c 'import time; print(int(time.monotonic() * 1000))'; }

# run DESC MAXSECONDS ARGS...: one fpinspect run with --stats; exit status
# 0, 1, or 2 with a message; no signal, no sanitizer report; under
# MAXSECONDS. Sets ST, MS (elapsed), PAUSE (ms), RSS (MB); output in $TDIR/o.
run() {
	_d=$1 _max=$2; shift 2
	_t0=$(now_ms)
	timeout 60 "$FPIBIN" "$@" --stats >"$TDIR/o" 2>"$TDIR/e" </dev/null
	ST=$?
	MS=$(( $(now_ms) - _t0 ))
	PAUSE=$(sed -n 's/^stats: pause \([0-9.]*\) ms.*/\1/p' "$TDIR/e")
	RSS=$(sed -n 's/.*peak RSS \([0-9.]*\) MB.*/\1/p' "$TDIR/e")
	echo "  $_d: exit $ST, ${MS} ms, pause ${PAUSE:-?} ms, peak RSS ${RSS:-?} MB"
	check "$_d: exit status 0, 1 or 2 (got $ST: $(head -c 300 "$TDIR/e"))" test "$ST" -le 2
	check "$_d: no sanitizer report or crash ($(grep -m1 -i 'runtime error\|sanitizer\|segmentation' "$TDIR/e"))" \
		sh -c "! grep -qi 'runtime error\|sanitizer\|segmentation' '$TDIR/e'"
	[ "$ST" = 2 ] && check "$_d: exit 2 says why" grep -q '^fpinspect: ' "$TDIR/e"
	check "$_d: took ${MS} ms (at most $_max s)" test "$MS" -le $((_max * 1000))
	return 0
}

alive() {
	check_eq "$1: no thread left stopped" "$(stopped_threads "$TPID")" 0
	check "$1: the target still answers" ping_target
}

all_commands() {
	# all_commands DESC MAXSECONDS MODE...: the commands that read every g
	# and M: threads, goroutines (and summary) read what check does
	_ad=$1 _amax=$2; shift 2
	for _c in threads check "bt all"; do
		# shellcheck disable=SC2086
		run "$_ad: $_c" "$_amax" "$@" $_c
	done
}

# ---- 13: a parked goroutine's atomicstatus set to garbage, every toolchain
for GO in $(go_toolchains); do
	VER=$(go_version_of "$GO")
	BIN=$(build_target states "$GO")
	echo "== $VER: garbage atomicstatus"
	start_target "$BIN" -n 30 -running 0
	G=$(awk '/^G .* chanrecv$/{print $2; exit}' "$TOUT")
	addrs "$TPID" "$G"
	SA=$(A "g${G}_status")
	ORIG=$(gdb -nx -batch -p "$TPID" -ex "x/wx $SA" 2>/dev/null | awk '/^0x/{print $2}')
	# the other toolchains: the layouts differ, the rendering does not
	BADS="0x7fff1234 0x1234"
	[ "$GO" = "$(command -v go)" ] || BADS=0x7fff1234
	for bad in $BADS; do
		poke "$TPID" "set {int}$SA = $bad"
		run "$VER status $bad: goroutines" 10 attach "$TPID" goroutines
		check_eq "$VER status $bad: goroutines exit" "$ST" 0
		check "$VER status $bad: g$G shown as 'status $bad'" grep -q "^$G  *status $bad " "$TDIR/o"
		if [ "$GO" = "$(command -v go)" ]; then
			run "$VER status $bad: goroutines --json" 10 attach "$TPID" --json goroutines
			check_eq "$VER status $bad: JSON status" \
				"$(jq_py "$TDIR/o" "print([(g['status'], hex(g['status_value'])) for g in d['goroutines'] if g['goid'] == $G])")" \
				"[('unknown', '$bad')]"
		fi
		run "$VER status $bad: check --json" 10 attach "$TPID" --json check
		check_eq "$VER status $bad: check exit" "$ST" 0
		check_eq "$VER status $bad: an info finding 'unknown status', g$G not walked" \
			"$(jq_py "$TDIR/o" "print([(f['kind'], f['severity']) for f in d['findings'] if f['goid'] == $G and 'unknown status' in f['message']])")" \
			"[('stack-not-owned', 'info')]"
		[ "$bad" = 0x1234 ] || [ "$GO" != "$(command -v go)" ] && continue
		run "$VER status $bad: bt g$G" 10 attach "$TPID" bt "g$G"
		check "$VER status $bad: bt says why not walked" grep -q "not walked: unknown status" "$TDIR/o"
		run "$VER status $bad: summary" 10 attach "$TPID" summary
		check "$VER status $bad: summary counts it as unknown" grep -q "^  unknown  *1 " "$TDIR/o"
	done
	poke "$TPID" "set {int}$SA = $ORIG"
	alive "$VER garbage status"
	stop_target
done

GO=$(command -v go)
VER=$(go_version_of "$GO")
BIN=$(build_target states "$GO")

# ---- 13 on a core and in GDB; 14: the same core has m.gsignal = -1
echo "== $VER: garbage status and gsignal, in a core and in the GDB plugin"
start_target "$BIN" -n 30 -running 0
G=$(awk '/^G .* chanrecv$/{print $2; exit}' "$TOUT")
addrs "$TPID" "$G"
SA=$(A "g${G}_status")
ORIG=$(gdb -nx -batch -p "$TPID" -ex "x/wx $SA" 2>/dev/null | awk '/^0x/{print $2}')
if [ "$SANITIZED" = 0 ]; then
	poke "$TPID" "set {int}$SA = 0x7fff1234"
	gdb -nx -batch -x "$top_srcdir/gdbplugin/fpplugin" -p "$TPID" -ex "set language c" \
		-ex "fp goroutines" -ex "fp check" -ex "fp bt g$G" -ex "fp bt all" -ex 'echo GDB-STILL-HERE\n' \
		>"$TDIR/gdb.out" 2>&1
	check "gdb plugin: GDB survived a garbage status ($(tail -3 "$TDIR/gdb.out"))" grep -q "GDB-STILL-HERE" "$TDIR/gdb.out"
	check "gdb plugin: fp goroutines shows the garbage" grep -q "^$G  *status 0x7fff1234 " "$TDIR/gdb.out"
	check "gdb plugin: fp check says not walked" grep -q "g$G: not walked: unknown status" "$TDIR/gdb.out"
else
	echo "note: sanitizer build: the GDB plugin part is left out (GDB cannot load an ASan library)"
fi
GS=$(A m_gsignal) GSV=$(A m_gsignal_val)
poke "$TPID" "set {int}$SA = 0x7fff1234" "set {long}$GS = -1"
gdb -nx -batch -p "$TPID" -ex "gcore $TDIR/core" >/dev/null 2>&1
sparse "$TDIR/core"
poke "$TPID" "set {int}$SA = $ORIG" "set {long}$GS = $GSV"
alive "core written"
stop_target
check "gcore wrote a core" test -s "$TDIR/core"
run "core (status, gsignal -1): bt all" 20 core "$TDIR/core" "$BIN" bt all
run "core: goroutines" 20 core "$TDIR/core" "$BIN" goroutines
check "core: g$G shown as 'status 0x7fff1234'" grep -q "^$G  *status 0x7fff1234 " "$TDIR/o"
run "core: check" 20 core "$TDIR/core" "$BIN" check
check "core: g$G not walked: unknown status" grep -q "g$G: not walked: unknown status" "$TDIR/o"

# ---- 14: m.gsignal = -1, m.g0 = -8 (no spinner: no preemption signal
# lands on the garbage meanwhile)
echo "== $VER: m.gsignal = -1, m.g0 = -8"
start_target "$BIN" -n 30 -running 0
addrs "$TPID"
GS=$(A m_gsignal) GSV=$(A m_gsignal_val) G0=$(A m_g0) G0V=$(A m_g0_val)
poke "$TPID" "set {long}$GS = -1"
all_commands "gsignal -1" 10 attach "$TPID"
poke "$TPID" "set {long}$GS = $GSV" "set {long}$G0 = -8"
all_commands "g0 -8" 10 attach "$TPID"
poke "$TPID" "set {long}$G0 = $G0V"
alive "m.gsignal, m.g0"
stop_target

# ---- 15: 30 goroutines' stack bounds stretched to 63 MiB (not a power of
# two) and to 64 MiB (one: the copy is cut to the memory there is)
echo "== $VER: stretched stack bounds"
start_target "$BIN" -n 30 -running 0
GS=$(awk '/^G .* (chanrecv|chansend|select|sleep|mutex|cond|wg)$/{print $2}' "$TOUT" | head -30)
addrs "$TPID" $GS
for mib in 63 64; do
	set --
	for g in $GS; do
		set -- "$@" "set {long}$(A "g${g}_hi") = $(A "g${g}_lo_val") + $mib * 1048576"
	done
	poke "$TPID" "$@"
	run "stacks stretched to $mib MiB: check" 10 attach "$TPID" --json check
	check "stacks stretched to $mib MiB: peak RSS ${RSS:-?} MB under 200 MB" \
		python3 -c "import sys; sys.exit(0 if float('${RSS:-1e9}') < 200 else 1)"
	if [ "$mib" = 63 ]; then
		check_eq "63 MiB: each stretched goroutine an info finding, not walked" \
			"$(jq_py "$TDIR/o" "print(len([f for f in d['findings'] if f['severity'] == 'info' and 'garbage in g.stack' in f['message']]))")" 30
	fi
done
set --
for g in $GS; do
	set -- "$@" "set {long}$(A "g${g}_hi") = $(A "g${g}_hi_val")"
done
poke "$TPID" "$@"
run "stacks put back: check" 10 attach "$TPID" check
check_eq "stacks put back: check exit" "$ST" 0
alive "stretched stacks"
stop_target

# ---- 16: allm -> 100k overlapping fake Ms; allgs -> 1M pseudorandom words
echo "== $VER: allm and allgs pointing at garbage"
start_target "$BIN" -n 30 -running 0 -ballast 1048576
BASE=$(awk '/^M ballast/{print $3}' "$TOUT")
addrs "$TPID"
run "healthy: summary" 10 attach "$TPID" summary
HEALTHY_PAUSE=$PAUSE
BASE=$BASE N=100000 LINKOFF=$(A m_alllink_off) gdb -nx -batch -p "$TPID" -ex "source $TDIR/fakems.py" >/dev/null 2>&1
poke "$TPID" "set {long}$(A allm) = $BASE"
for c in summary check; do
	run "100k fake Ms: $c" 5 attach "$TPID" $c
	check_eq "100k fake Ms: $c exit" "$ST" 2
	check "100k fake Ms: $c says allm is corrupt" grep -q "runtime.allm looks corrupt" "$TDIR/e"
	# exit 2 prints no stats: the whole run, load included, bounds the pause
	check "100k fake Ms: $c over in ${MS} ms (under 5 s)" test "$MS" -lt 5000
done
poke "$TPID" "set {long}$(A allm) = $(A allm_val)"
AG=$(A allgs)
AGLEN=$(printf '0x%x' $((AG + 8))) AGCAP=$(printf '0x%x' $((AG + 16)))
poke "$TPID" "set {long}$AG = $BASE" "set {long}$AGLEN = 1048576" \
	"set {long}$AGCAP = 1048576" "set {long}$(A allglen) = 1048576"
for c in summary check; do
	run "allgs of 1M random words: $c" 5 attach "$TPID" $c
	check_eq "allgs of 1M random words: $c exit" "$ST" 2
	check "allgs of 1M random words: $c says allgs is corrupt" grep -q "runtime.allgs looks corrupt" "$TDIR/e"
	check "allgs of 1M random words: $c over in ${MS} ms (under 5 s; healthy pause $HEALTHY_PAUSE ms)" \
		test "$MS" -lt 5000
done
# 50k words past the fake Ms: fewer than memory could hold, so each is
# looked at (three in four are wild values, one in four points into the
# buffer)
WILD=$(printf '0x%x' $((BASE + 8 * 200000)))
poke "$TPID" "set {long}$AG = $WILD" "set {long}$AGLEN = 50000" "set {long}$AGCAP = 50000" "set {long}$(A allglen) = 50000"
for c in summary check; do
	run "allgs of 50k random words: $c" 5 attach "$TPID" $c
	check_eq "allgs of 50k random words: $c exit" "$ST" 2
	check "allgs of 50k random words: $c says allgs is corrupt" grep -q "runtime.allgs looks corrupt" "$TDIR/e"
done
poke "$TPID" "set {long}$AG = $(A allgs_array)" "set {long}$AGLEN = $(A allgs_len)" \
	"set {long}$AGCAP = $(A allgs_cap)" "set {long}$(A allglen) = $(A allglen_val)"
run "roots put back: check" 10 attach "$TPID" check
check_eq "roots put back: check exit" "$ST" 0
alive "allm, allgs"
stop_target

# ---- 19: SIGINT/SIGTERM before or while it attaches: exit status 2,
# never the signal's; the target is not harmed. From the moment main has
# run (the kernel shows the handlers in SigCgt) every signal must end it
# with 2; sent blindly right after exec, a signal can still land in the
# dynamic loader's first millisecond, before any code of fpinspect runs:
# those are counted, not failed. Python starts it: a shell's background
# job would ignore SIGINT.
echo "== signals in the first milliseconds"
start_target "$BIN" -n 30 -running 0
python3 - "$FPIBIN" "$TPID" >"$TDIR/sig.out" <<'EOF'
import collections, signal, subprocess, sys, time

def caught(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    m = int(line.split()[1], 16)
                    return m & (1 << (signal.SIGINT - 1)) and m & (1 << (signal.SIGTERM - 1))
    except OSError:
        return True
    return False

for mode in ("after-main", "blind"):
    counts = collections.Counter()
    for i in range(24):
        sig = signal.SIGINT if i % 2 == 0 else signal.SIGTERM
        p = subprocess.Popen([sys.argv[1], "attach", sys.argv[2], "summary"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if mode == "after-main":
            while not caught(p.pid) and p.poll() is None:
                pass
        time.sleep((i % 8) * 0.0005)
        p.send_signal(sig)
        counts[p.wait()] += 1
    print(mode, " ".join("%d:%d" % kv for kv in sorted(counts.items())))
EOF
sed 's/^/  exit statuses (status:count), /' "$TDIR/sig.out"
AFTER=$(awk '$1 == "after-main" { $1 = ""; print substr($0, 2) }' "$TDIR/sig.out")
check "signals after main: every run exits 2 (or 0: done first), none by the signal (got $AFTER)" \
	python3 -c "import sys; sys.exit(0 if set(int(x.split(':')[0]) for x in sys.argv[1].split()) <= {0, 2} else 1)" "$AFTER"
check "signals after main: some runs interrupted" sh -c "echo '$AFTER' | grep -q '2:'"
alive "signals"
stop_target
finish
