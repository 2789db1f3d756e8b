#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# oracle: the strongest oracle is the Go runtime itself. A parked program's
# SIGQUIT traceback (GOTRACEBACK=system prints every frame with its pc) must
# equal what fpinspect read from it just before: the same goroutines with the
# same status, and for every parked one the same frames (function, file:line,
# inlined frames, pc), by frame pointers, by DWARF CFI and by the runtime's
# own method (pclntab's SP deltas, --unwinder go). tests/oracle.py
# does the comparison and says which goroutines it leaves out and why.
# Besides, tests/pclntab.py holds the symbolizer against the binary's
# pclntab, read as the runtime reads it, at every call site and entry.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace; need_python
command -v objdump >/dev/null 2>&1 || skip_or_fail "objdump (binutils) not installed"
[ -x "$top_builddir/tests/symdump" ] || skip_or_fail "tests/symdump not built (make check builds it)"

ORACLE="$top_srcdir/tests/oracle.py"

# tracer_of PID: who traces PID (seen once under load: an attach right
# after another one's detach refused with EPERM).
tracer_of() {
	_t=$(awk '/^TracerPid/{print $2}' "/proc/$1/status" 2>/dev/null)
	echo "note: TracerPid of $1: ${_t:-?} $( [ -n "$_t" ] && [ "$_t" != 0 ] && tr '\0' ' ' <"/proc/$_t/cmdline" 2>/dev/null)"
}

# oracle_run VER LABEL ARGS...: start states with ARGS, read it, SIGQUIT it,
# compare.
oracle_run() {
	_ver=$1 _label=$2; shift 2
	start_target env GOTRACEBACK=system "$BIN" "$@"
	"$FPI" attach "$TPID" --json goroutines >"$TDIR/g.json"
	check_eq "$_ver $_label goroutines exit" "$?" 0
	"$FPI" attach "$TPID" --json bt all >"$TDIR/fp.json"
	check_eq "$_ver $_label bt all exit" "$?" 0 || tracer_of "$TPID"
	"$FPI" attach "$TPID" --json bt all --unwinder dwarf >"$TDIR/dw.json"
	check_eq "$_ver $_label bt all --unwinder dwarf exit" "$?" 0
	"$FPI" attach "$TPID" --json bt all --unwinder go >"$TDIR/go.json"
	check_eq "$_ver $_label bt all --unwinder go exit" "$?" 0
	# We started it, so we may kill it: SIGQUIT makes the runtime print
	# every goroutine and exit 2. Its stdin stays open until it is gone:
	# EOF there makes it exit 0 in the middle of the traceback.
	kill -QUIT "$TPID"
	wait "$TPID"
	check_eq "$_ver $_label exit status after SIGQUIT" "$?" 2
	exec 8>&-
	python3 "$ORACLE" "$TOUT.err" "$TDIR/g.json" "$TOUT" "$TDIR/fp.json" "$TDIR/dw.json" "$TDIR/go.json" >"$TDIR/oracle.out"
	_rc=$?
	sed "s/^/$_ver $_label: /" "$TDIR/oracle.out"
	check_eq "$_ver $_label: fpinspect equals the Go runtime's traceback" "$_rc" 0
	check "$_ver $_label: compared frames" grep -q "oracle: [1-9][0-9]* goroutines, [1-9][0-9]* frames, [1-9][0-9]* pcs" "$TDIR/oracle.out"
}

for GO in $(go_toolchains); do
	VER=$(go_version_of "$GO")
	echo "== $VER"
	BIN=$(build_target states "$GO")
	# every call site and function entry of the binary, not only those on
	# the stacks below: the symbolizer (DWARF) against the pclntab the
	# runtime's traceback reads
	python3 "$top_srcdir/tests/pclntab.py" "$BIN" "$top_builddir/tests/symdump" >"$TDIR/pclntab.out"
	check_eq "$VER symbols of every call site and entry equal the runtime's" "$?" 0
	sed "s/^/$VER pclntab: /" "$TDIR/pclntab.out" | tail -20
	# every kind of wait twice over, below 3 frames of main.recurse
	oracle_run "$VER" "depth 3" -n 14 -depth 3
	# over 100 frames: Go elides the middle (1.21+) or the rest (1.19)
	oracle_run "$VER" "depth 120" -n 7 -depth 120 -running 0
done
finish
