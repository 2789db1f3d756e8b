#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# dump: fpinspect's goroutine dump against the Go runtime's own of the same
# parked process: runtime.Stack(all) (GOTRACEBACK=all, as
# /debug/pprof/goroutine?debug=2 prints) against `dump`, the SIGQUIT
# traceback (always at level system) against `dump --system` (there every
# fp= sp= pc= too). Then panicparse parses both of each pair
# (tests/targets/ppcmp): the same goroutines, calls and buckets. tests/dumpcmp.py compares headers, function and file:line lines,
# +0xoff and created-by lines; only argument words are not compared.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace; need_python

CMP="$top_srcdir/tests/dumpcmp.py"
# panicparse (github.com/maruel/panicparse/v2, from the Go module proxy),
# built with the go in PATH: tests/targets/ppcmp
PPCMP=$(build_target ppcmp "$(command -v go)")

# dump_run VER LABEL BIN ARGS...: start BIN with GOTRACEBACK=system; dump
# it both ways; ask it for runtime.Stack(all) (level all: what `dump`
# prints; GOTRACEBACK=system does not change runtime.Stack, which prints
# runtime frames only at level system... so the target runs with
# GOTRACEBACK=all, and SIGQUIT prints at level system anyway: the signal
# handler sets m.throwing, and gotraceback() then says 2); SIGQUIT it;
# compare both.
dump_run() {
	_ver=$1 _label=$2; shift 2
	start_target env GOTRACEBACK=all "$@"
	"$FPI" attach "$TPID" dump >"$TDIR/dump.txt"
	check_eq "$_ver $_label dump exit" "$?" 0
	"$FPI" attach "$TPID" dump --system >"$TDIR/dumpsys.txt"
	check_eq "$_ver $_label dump --system exit" "$?" 0
	check "$_ver $_label: runtime.Stack(all)" ask_target stacks "STACKS END" >/dev/null
	sed -n '/^STACKS BEGIN$/,/^STACKS END$/p' "$TOUT" | sed '1d;$d' >"$TDIR/stack.txt"
	kill -QUIT "$TPID"
	wait "$TPID"
	check_eq "$_ver $_label exit status after SIGQUIT" "$?" 2
	exec 8>&-
	for _m in all system; do
		if [ $_m = all ]; then
			python3 "$CMP" --skip-first "$TDIR/stack.txt" "$TDIR/dump.txt" >"$TDIR/cmp.out"
		else
			python3 "$CMP" --system "$TOUT.err" "$TDIR/dumpsys.txt" >"$TDIR/cmp.out"
		fi
		_rc=$?
		sed "s/^/$_ver $_label $_m: /" "$TDIR/cmp.out" | tail -40
		check_eq "$_ver $_label: dump ($_m) equals the runtime's" "$_rc" 0
		check "$_ver $_label $_m: compared frames" grep -q "dumpcmp: [1-9][0-9]* goroutines, [1-9][0-9]* frames" "$TDIR/cmp.out"
		# and as panicparse reads them: goroutines, calls, buckets
		if [ $_m = all ]; then
			"$PPCMP" "$TDIR/stack.txt" "$TDIR/dump.txt" "$(awk '/^goroutine /{print $2; exit}' "$TDIR/stack.txt")"
		else
			"$PPCMP" "$TOUT.err" "$TDIR/dumpsys.txt"
		fi >"$TDIR/pp.out" 2>&1
		_rc=$?
		sed "s/^/$_ver $_label $_m panicparse: /" "$TDIR/pp.out" | tail -20
		check_eq "$_ver $_label: panicparse reads dump ($_m) as the runtime's" "$_rc" 0
		check "$_ver $_label $_m: panicparse compared" grep -q "ppcmp: [1-9][0-9]* goroutines, [1-9][0-9]* calls, [1-9][0-9]* buckets" "$TDIR/pp.out"
	done
}

for GO in $(go_toolchains); do
	VER=$(go_version_of "$GO")
	echo "== $VER"
	BIN=$(build_target states "$GO")
	dump_run "$VER" "states" "$BIN" -n 14 -depth 3 -running 0
	dump_run "$VER" "states depth 120" "$BIN" -n 7 -depth 120 -running 0
	dump_run "$VER" "cgo" "$(build_target cgo "$GO")" -mode basic
done
finish
