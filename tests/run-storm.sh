#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Attach storms over programs that run (issue 10): `check` of a healthy,
# busy program must find no error and no warning, every time. For every Go
# toolchain: tests/targets/busy (the vDSO in a loop, a running recursion
# 2,400 frames deep, allocation and GC with assembly-heavy runtime paths,
# goroutines started and ending all the time, signals and SIGPROF all the
# time) checked 60 times; the same with GOMAXPROCS=1 (goroutines created
# and not yet run); stopped with SIGSTOP and checked while stopped (threads
# caught at the signal handler), then SIGCONT; tests/targets/busycgo (Go ->
# C -> Go -> C on Go threads, C-made threads calling Go in a loop, a cgo
# traceback function under SIGPROF) checked 30 times. The programs check
# their own results: they must be unchanged (no BAD, still counting).
# Then both built with -ldflags="-s -w" (go in PATH), stormed likewise.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace; need_python

STORM="python3 $top_srcdir/tests/storm.py $FPI"

# status_of: the target's own account ("status ... bad=N")
status_of() { ask_target status status; }

# progressed A B [KEY...]: every counter of status line B (or the KEYs) is
# above A's, and bad=0
progressed() {
	python3 - "$@" <<'PY'
import sys
a = dict(kv.split("=") for kv in sys.argv[1].split()[1:])
b = dict(kv.split("=") for kv in sys.argv[2].split()[1:])
keys = sys.argv[3:] or [k for k in a if k != "bad"]
bad = [k for k in keys if int(b[k]) <= int(a[k])]
if b["bad"] != "0" or bad:
    print("not progressed or bad: %s -> %s (%s)" % (sys.argv[1], sys.argv[2], bad))
    sys.exit(1)
PY
}

# Error or warning findings allowed in one storm: none (FPI_STORM_ALLOW
# raises it, to look at what a storm finds without failing). Each attach
# with one prints its findings and both walks of what they name.
ALLOW=${FPI_STORM_ALLOW:-0}
# Attaches per storm: busy, busy with one P, busycgo (FPI_STORM_N="100 30
# 50" for a longer one); five toolchains make about 450 attaches in all
set -- ${FPI_STORM_N:-60 20 30}
N_BUSY=$1 N_ONEP=$2 N_CGO=$3

storm() {
	# storm DESC COUNT [KEY...]: COUNT checks of $TPID, no error or warning
	# beyond ALLOW, and the program's own results unchanged meanwhile
	# (its counters, or those KEYs, went on; no BAD). Sets LAST_STATUS.
	_desc=$1 _count=$2
	shift 2
	_s0=$(status_of)
	rm -rf "$TDIR/explain"
	$STORM "$TPID" "$_count" --allow "$ALLOW" --explain "$TDIR/explain" >"$TDIR/storm.out" 2>&1
	_st=$?
	tail -5 "$TDIR/storm.out"
	# each attach with an error or warning: the findings and both walks of
	# what they name, from that stop (check --stacks)
	for _f in "$TDIR"/explain/*; do
		[ -f "$_f" ] || continue
		echo "--- $_desc: $(basename "$_f")"
		grep -v '^info' "$_f" | cut -c1-220 | head -150
	done
	check_eq "$_desc: storm exit (at most $ALLOW errors and warnings in all, every attach answered)" "$_st" 0
	LAST_STATUS=$(status_of)
	check "$_desc: the program's own results unchanged ($LAST_STATUS)" progressed "$_s0" "$LAST_STATUS" "$@"
}

for GO in $(go_toolchains); do
	VER=$(go_version_of "$GO")
	echo "== $VER"

	BIN=$(build_target busy "$GO")
	start_target "$BIN"
	storm "$VER busy" "$N_BUSY"
	s1=$LAST_STATUS
	check "$VER busy still answers" ping_target
	check_eq "$VER busy untraced" "$(awk '/^TracerPid/{print $2}' /proc/$TPID/status)" 0

	# stopped by SIGSTOP (Ctrl-Z): threads often sit at the signal handler
	for k in 1 2 3 4 5; do
		kill -STOP "$TPID"
		sleep 0.05
		"$FPI" attach "$TPID" --json check >"$TDIR/stop.json" 2>"$TDIR/stop.err"
		check_eq "$VER busy SIGSTOPped $k: check exit" "$?" 0
		check_eq "$VER busy SIGSTOPped $k: errors" \
			"$(jq_py "$TDIR/stop.json" 'print(d["errors"])' 2>&1)" "0" ||
			jq_py "$TDIR/stop.json" 'print("\n".join(f["message"] for f in d["findings"] if f["severity"] != "info"))'
		check_eq "$VER busy SIGSTOPped $k: still stopped" "$(sed 's/.*) //' /proc/$TPID/stat | cut -d' ' -f1)" T
		kill -CONT "$TPID"
		sleep 0.1
	done
	sleep 1
	s2=$(status_of)
	# (the gc worker can take longer than the second it had)
	check "$VER busy after SIGSTOP/SIGCONT: results unchanged" progressed "$s1" "$s2" deep vdso churn

	# the same inside GDB (which stops it wherever it is): the plugin gives
	# the vDSO to the library too
	for k in 1 2 3; do
		FPINSPECT_LIB=$top_builddir/.libs/libfpinspect.so timeout 120 gdb -nx -batch -p "$TPID" \
			-x "$top_srcdir/gdbplugin/fpplugin" -ex "fp check --json" -ex "fp bt all" >"$TDIR/gdb.out" 2>&1
		out=$(python3 - "$TDIR/gdb.out" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
i = text.index('{"findings"')
d, _ = json.JSONDecoder().raw_decode(text[i:])
bad = [f["message"] for f in d["findings"] if f["severity"] != "info"]
print("\n".join(bad) or "ok")
PY
)
		check_eq "$VER busy in GDB $k: fp check without errors or warnings" "$out" ok
	done
	check "$VER busy after GDB still answers" ping_target
	stop_target

	# inside GDB the vDSO is a module too: a program that is nearly
	# always in time.Now shows it named in one of three stops
	start_target "$BIN" -work vdso
	named=0
	for k in 1 2 3; do
		FPINSPECT_LIB=$top_builddir/.libs/libfpinspect.so timeout 120 gdb -nx -batch -p "$TPID" \
			-x "$top_srcdir/gdbplugin/fpplugin" -ex "fp bt all" >"$TDIR/gdbv.out" 2>&1
		grep -q '__vdso_clock_gettime (\[vdso\])' "$TDIR/gdbv.out" && named=$((named + 1))
	done
	check "$VER busy in GDB: the vDSO is named ($named of 3 stops)" test "$named" -ge 1
	stop_target

	# one P: new goroutines wait unrun (g.sched.pc at their entry)
	start_target env GOMAXPROCS=1 "$BIN" -work churn,gc,vdso
	storm "$VER busy GOMAXPROCS=1" "$N_ONEP" churn vdso
	# every goroutine frame named, by both unwinders: a goroutine not run
	# yet starts at its function's entry, which pc-1 would miss
	for k in 1 2 3; do
		"$FPI" attach "$TPID" --json bt all --unwinder both >"$TDIR/bt1.json"
		check_eq "$VER busy GOMAXPROCS=1 bt all $k: every goroutine frame has a function" "$(jq_py "$TDIR/bt1.json" '
bad = [(st["goid"], k, f["index"], f["pc"]) for st in d["stacks"] if "goid" in st
       for k in ("fp_frames", "dwarf_frames") for f in st[k] if f["stack"] == "goroutine" and not f["function"]]
print(bad[:5] or "ok")')" ok
	done
	stop_target

	BIN=$(build_target busycgo "$GO")
	start_target "$BIN"
	storm "$VER busycgo" "$N_CGO"
	check "$VER busycgo still answers" ping_target
	stop_target
done

# production builds (-ldflags="-s -w": a layout file, globals from the
# machine code, no CFI: fp checked against the go walk), go in PATH
GO=$(command -v go)
VER=$(go_version_of "$GO")
for T in busy busycgo; do
	start_target "$(build_target $T "$GO" "-s -w")"
	storm "$VER $T -s -w" "$N_ONEP"
	check "$VER $T -s -w still answers" ping_target
	stop_target
done
finish
