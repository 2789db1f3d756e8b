#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# pclntab: fpinspect's reader of the Go function table (unwind/pclntab.c)
# against the Go toolchain's own views of the same binaries, on every
# toolchain the suite uses, each program built as is, with -ldflags=-s -w
# (no .symtab, no DWARF) and stripped by strip:
#   - every function's entry, end and name, and file:line every few bytes
#     of every function, against debug/gosym (tests/targets/gosym);
#   - the frames at every pc of the stacks a program printed of itself with
#     runtime.Callers and runtime.CallersFrames, inlined frames included
#     (tests/targets/pcln);
#   - the SP delta against the DWARF CFA (libdw) every few bytes.
# The stripped builds have the same text as the unstripped one, so the
# unstripped build's oracle holds for them too.
. "$(dirname "$0")/lib.sh"
need_go
U="$top_builddir/tests/unit_pclntab"
[ -x "$U" ] || skip_or_fail "tests/unit_pclntab not built (make check builds it)"

# unit MODE ARGS...: run unit_pclntab, show its summary, count its result
unit() {
	"$U" "$@" >"$TDIR/unit.out" 2>&1
	_rc=$?
	head -20 "$TDIR/unit.out" | grep -v '^unit_pclntab' | sed "s|$top_builddir/||g"
	check_eq "$VER unit_pclntab $1 $(basename "$2")" "$_rc" 0
}

GOSYM=$(build_target gosym "$(command -v go)")
for GO in $(go_toolchains); do
	VER=$(go_version_of "$GO")
	echo "== $VER"
	B=$(build_with pcln "$GO" plain)
	S=$(build_with pcln "$GO" sw -ldflags=-s\ -w)
	X="$B-strip"
	[ -x "$X" ] && [ "$X" -nt "$B" ] || strip -o "$X" "$B"
	# a PIE runs at a load bias (the program prints where main.main is)
	P=$(build_with pcln "$GO" piesw -buildmode=pie -ldflags=-s\ -w)
	"$GOSYM" "$B" 7 >"$TDIR/gosym.txt"
	check_eq "$VER gosym oracle" "$?" 0
	for bin in "$B" "$S" "$X"; do
		unit --oracle "$bin" "$TDIR/gosym.txt"
		"$bin" >"$TDIR/callers.txt"
		_rc=$?
		check_eq "$VER $(basename "$bin") runs" "$_rc" 0
		unit --callers "$bin" "$TDIR/callers.txt"
	done
	"$P" >"$TDIR/callers.txt"
	_rc=$?
	check_eq "$VER $(basename "$P") runs" "$_rc" 0
	unit --callers "$P" "$TDIR/callers.txt"
	unit --cfa "$B" 3
	# a cgo program: external linking puts C's code before runtime.text
	C=$(build_target cgo "$GO")
	"$GOSYM" "$C" 13 >"$TDIR/gosym.txt"
	unit --oracle "$C" "$TDIR/gosym.txt"
	unit --cfa "$C" 5
done
finish
