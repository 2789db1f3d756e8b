#!/bin/sh
# oracle: the strongest oracle is the Go runtime itself. A parked program's
# SIGQUIT traceback (GOTRACEBACK=system prints every frame with its pc) must
# equal what fpinspect read from it just before: the same goroutines with the
# same status, and for every parked one the same frames (function, file:line,
# inlined frames, pc), by frame pointers and by DWARF CFI. tests/oracle.py
# does the comparison and says which goroutines it leaves out and why.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace; need_python

ORACLE="$top_srcdir/tests/oracle.py"

# oracle_run VER LABEL ARGS...: start states with ARGS, read it, SIGQUIT it,
# compare.
oracle_run() {
	_ver=$1 _label=$2; shift 2
	start_target env GOTRACEBACK=system "$BIN" "$@"
	"$FPI" attach "$TPID" --json goroutines >"$TDIR/g.json"
	check_eq "$_ver $_label goroutines exit" "$?" 0
	"$FPI" attach "$TPID" --json bt all >"$TDIR/fp.json"
	check_eq "$_ver $_label bt all exit" "$?" 0
	"$FPI" attach "$TPID" --json bt all --unwinder dwarf >"$TDIR/dw.json"
	check_eq "$_ver $_label bt all --unwinder dwarf exit" "$?" 0
	# We started it, so we may kill it: SIGQUIT makes the runtime print
	# every goroutine and exit 2. Its stdin stays open until it is gone:
	# EOF there makes it exit 0 in the middle of the traceback.
	kill -QUIT "$TPID"
	wait "$TPID"
	check_eq "$_ver $_label exit status after SIGQUIT" "$?" 2
	exec 8>&-
	python3 "$ORACLE" "$TOUT.err" "$TDIR/g.json" "$TOUT" "$TDIR/fp.json" "$TDIR/dw.json" >"$TDIR/oracle.out"
	_rc=$?
	sed "s/^/$_ver $_label: /" "$TDIR/oracle.out"
	check_eq "$_ver $_label: fpinspect equals the Go runtime's traceback" "$_rc" 0
	check "$_ver $_label: compared frames" grep -q "oracle: [1-9][0-9]* goroutines, [1-9][0-9]* frames, [1-9][0-9]* pcs" "$TDIR/oracle.out"
}

for GO in $(go_toolchains); do
	VER=$(go_version_of "$GO")
	echo "== $VER"
	BIN=$(build_target states "$GO")
	# every kind of wait twice over, below 3 frames of main.recurse
	oracle_run "$VER" "depth 3" -n 14 -depth 3
	# over 100 frames: Go elides the middle (1.21+) or the rest (1.19)
	oracle_run "$VER" "depth 120" -n 7 -depth 120 -running 0
done
finish
