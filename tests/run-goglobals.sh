#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Runtime globals without DWARF (inspector/goglobals.c, issue 12 point 5):
# on every toolchain the suite uses, tests/targets/states built with DWARF
# gives the reference addresses (and the layout); the process runs
#   - a copy stripped by strip -s (no .symtab, no DWARF; the same loaded
#     bytes, so the same addresses): the machine-code path;
#   - the same build by objcopy --strip-all, likewise;
#   - a copy by objcopy --strip-debug (.symtab, no DWARF, the same loaded
#     bytes): the symbol-table path; with runtime.allgs stripped from the
#     symbol table too: the machine-code path;
#   - a -ldflags=-w build (.symtab, no DWARF): the symbol-table path, and
#     the machine-code path on it too (--no-symtab); its data lies
#     elsewhere than the DWARF build's on some toolchains (its build id and
#     buildinfo differ), so the reference there is go tool nm's view of its
#     symbol table, the layout still the DWARF build's;
#   - a stripped PIE (-buildmode=pie): addresses shifted by its load bias;
#   - tests/targets/cgo stripped (external linking, extra Ms on allm);
#   - a core of the strip -s process (gcore);
# also with 6000 goroutines (more than are checked one by one). Every
# global found must equal DWARF's: allgs, allglen, allm, sched,
# maxstacksize, waitReasonStrings and its length (also with the length
# forgotten by the layout: then it comes from waitReason.String's bounds
# check, or the symbol's size; and with the windows a stopped process may show: allglen one short
# of len(allgs), the newest M without its g0 yet).
# Then garbage: in memory, the slice header of allgs, the allm word, all of
# memory, a second word holding allglen's value (ambiguity), a cycle in the
# Ms' chain, garbage under the symbol table's addresses; in the file, an
# executable cut short, one whose allgadd is undecodable bytes, one that is
# not Go: each a clean error naming the global (exit 2, no signal). A
# damaged waitReasonStrings (optional) is not taken, the rest still is. The
# process lives on. And fpinspect itself, with a layout file made from the
# DWARF build (fpinspect layout --from), lists the goroutines of the
# stripped and the -w process with the globals found here.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace; need_python
U="$top_builddir/tests/unit_goglobals"
[ -x "$U" ] || skip_or_fail "tests/unit_goglobals not built (make check builds it)"

# copy_of SRC SUFFIX CMD...: SRC transformed by CMD (given SRC and the
# output path), cached while newer than SRC
copy_of() {
	_src=$1 _o="$1-$2"; shift 2
	[ -x "$_o" ] && [ "$_o" -nt "$_src" ] || "$@" "$_src" "$_o" || {
		echo "FAIL: $* $_src" >&2
		exit 99
	}
	echo "$_o"
}
strip_s() { strip -s -o "$2" "$1"; }
objcopy_all() { objcopy --strip-all "$1" "$2"; }

# unit DESC RUN_EXE ARGS...: run unit_goglobals on $TPID with $REF's DWARF;
# status in $RC, output in $TDIR/u.out
unit() {
	_d=$1 _run=$2; shift 2
	"$U" "$@" "$TPID" "$REF" "$_run" >"$TDIR/u.out" 2>&1
	RC=$?
	sed -n 's/^\(found\|how\|error\|unit_goglobals\)/  &/p' "$TDIR/u.out" | sed "s|$top_builddir/||g"
}
# found NAME: the address unit found for runtime.NAME; dwarf NAME: DWARF's
found() { awk -v n="runtime.$1" '$1 == "found" && $2 == n { print $3 }' "$TDIR/u.out"; }
dwarf() { awk -v n="runtime.$1" '$1 == "dwarf" && $2 == n { print $3 }' "$TDIR/u.out"; }
# equal DESC RUN_EXE HOW ARGS...: every global found equals DWARF's, from HOW
equal() {
	_d=$1 _r=$2 _h=$3; shift 3
	unit "$_d" "$_r" --expect-equal "$@"
	check_eq "$VER $_d: unit_goglobals" "$RC" 0
	check_eq "$VER $_d: from the $_h" "$(sed -n 's/^how //p' "$TDIR/u.out")" "$_h"
	for _n in allgs allglen allm sched maxstacksize waitReasonStrings; do
		check "$VER $_d: runtime.$_n found" test "$(found $_n)" != 0x0
	done
	check_eq "$VER $_d: len(waitReasonStrings)" "$(sed -n 's/^nwaitreasons //p' "$TDIR/u.out")" \
		"$(sed -n 's/^dwarf nwaitreasons //p' "$TDIR/u.out")"
}
# equal_nm DESC RUN_EXE HOW ARGS...: every global found equals go tool nm's
# address for it in RUN_EXE
equal_nm() {
	_d=$1 _r=$2 _h=$3; shift 3
	unit "$_d" "$_r" "$@"
	check_eq "$VER $_d: unit_goglobals" "$RC" 0
	check_eq "$VER $_d: from the $_h" "$(sed -n 's/^how //p' "$TDIR/u.out")" "$_h"
	for _n in allgs allglen allm sched maxstacksize waitReasonStrings; do
		check_eq "$VER $_d: runtime.$_n = go tool nm's" "$(found $_n)" "$(nm_addr "$_r" "runtime.$_n")"
	done
	check_eq "$VER $_d: len(waitReasonStrings)" "$(sed -n 's/^nwaitreasons //p' "$TDIR/u.out")" \
		"$(sed -n 's/^dwarf nwaitreasons //p' "$TDIR/u.out")"
}
# refuses DESC RUN_EXE GLOBAL ARGS...: a clean error (exit 2) naming GLOBAL
refuses() {
	_d=$1 _r=$2 _g=$3; shift 3
	unit "$_d" "$_r" "$@"
	check_eq "$VER $_d: exit status (2: an error, not a signal)" "$RC" 2
	check "$VER $_d: the error names $_g" grep -q "^error: .*$_g" "$TDIR/u.out"
}
# nm_addr BIN NAME: the address of NAME in BIN's symbol table
nm_addr() { "$GO" tool nm "$1" | awk -v n="$2" '$3 == n { print "0x" $1 }'; }
strip_debug() { objcopy --strip-debug "$1" "$2"; }
# cli DESC HOW: fpinspect on $TPID with the layout file fpinspect layout
# --from made in $TDIR/xdg:
# the summary says where the globals came from, and every goroutine the
# target printed a G line for is listed, with a wait reason when waiting
cli() {
	XDG_CACHE_HOME="$TDIR/xdg" "$FPI" attach "$TPID" --json summary >"$TDIR/s.json" 2>"$TDIR/s.err"
	check_eq "$VER fpinspect $1: summary" "$?" 0
	check_eq "$VER fpinspect $1: globals from the $2" \
		"$(jq_py "$TDIR/s.json" 'print(d["layout"]["globals"])' 2>/dev/null)" "$2"
	XDG_CACHE_HOME="$TDIR/xdg" "$FPI" attach "$TPID" goroutines >"$TDIR/g.txt" 2>&1
	_miss=$(grep '^G ' "$TOUT" | cut -d' ' -f2 | while read -r _g; do
		grep -q "^$_g " "$TDIR/g.txt" || echo "$_g"; done | head -3)
	check_eq "$VER fpinspect $1: goroutines the target listed, missing" "$_miss" ""
	check "$VER fpinspect $1: wait reasons read" grep -q 'chan receive' "$TDIR/g.txt"
}
# a symbol table without runtime.allgs: it is no help, the code is
strip_allgs() { objcopy --strip-debug --strip-symbol=runtime.allgs "$1" "$2"; }

for GO in $(go_toolchains); do
	VER=$(go_version_of "$GO")
	echo "== $VER"
	B=$(build_target states "$GO")
	X=$(copy_of "$B" gg-strip strip_s)
	O=$(copy_of "$B" gg-objcopy objcopy_all)
	D=$(copy_of "$B" gg-nodebug strip_debug)
	N=$(copy_of "$B" gg-noallgs strip_allgs)
	W=$(build_with states "$GO" w -ldflags=-w)
	PD=$(build_with states "$GO" pie -buildmode=pie)
	PX=$(copy_of "$PD" gg-strip strip_s)

	REF=$B
	XDG_CACHE_HOME="$TDIR/xdg" "$FPI" layout --from "$B" >/dev/null
	check_eq "$VER fpinspect layout --from" "$?" 0
	start_target "$X" -n 50
	cli "strip -s, layout file" "machine code"
	equal "strip -s" "$X" "machine code"
	equal "strip -s, no layout length of waitReasonStrings" "$X" "machine code" --no-nwaitreasons
	# a process stopped inside allgadd, or in allocm after mcommoninit
	equal "strip -s, allglen one short" "$X" "machine code" --allglen-short
	equal "strip -s, newest M without g0" "$X" "machine code" --m-unborn
	# each global from a fallback anchor: what a release that inlined
	# allgadd, mcommoninit or waitReason.String would leave (sched has
	# none that says mnext apart from its neighbours: not found, not wrong)
	unit "fallback anchors" "$X" --expect-equal --fallback-anchors
	check_eq "$VER fallback anchors: unit_goglobals" "$RC" 0
	check_eq "$VER fallback anchors: the anchors used" \
		"$(awk '$1 == "found" { print $2, $4 }' "$TDIR/u.out" | tr '\n' ' ')" \
		"runtime.allgs runtime.forEachG runtime.allglen runtime.forEachGRace runtime.allm runtime.mexit runtime.sched runtime.mcommoninit runtime.maxstacksize runtime.main runtime.waitReasonStrings runtime.goroutineheader "
	for _n in allgs allglen allm waitReasonStrings; do
		check "$VER fallback anchors: runtime.$_n found" test "$(found $_n)" != 0x0
	done
	check_eq "$VER fallback anchors: runtime.sched not found" "$(found sched)" 0x0
	ALLGS=$(dwarf allgs) ALLM=$(dwarf allm) ALLGLEN=$(dwarf allglen) WR=$(dwarf waitReasonStrings)

	refuses "garbage allgs header" "$X" runtime.allgs --garbage "$ALLGS:24"
	refuses "garbage allm" "$X" runtime.allm --garbage "$ALLM:8"
	refuses "garbage everywhere" "$X" runtime.allgs --garbage-all
	refuses "allm a cycle" "$X" "runtime.allm.*cycle" --allm-cycle
	# allglock is the other word allgadd uses: holding allglen's value it
	# is a second valid candidate
	LOCK=$(nm_addr "$B" runtime.allglock)
	check "$VER runtime.allglock in the symbol table" test -n "$LOCK"
	refuses "allglen twice" "$X" "runtime.allglen.*ambiguous" --copy "$LOCK:$ALLGLEN:8"
	# optional: damaged, it is not taken; the rest still is
	unit "garbage waitReasonStrings[1]" "$X" --garbage "$((WR + 16)):16"
	check_eq "$VER garbage waitReasonStrings: the rest is found" "$RC" 0
	check_eq "$VER garbage waitReasonStrings: not taken" "$(found waitReasonStrings)" 0x0
	check_eq "$VER garbage waitReasonStrings: allgs still" "$(found allgs)" "$ALLGS"
	# the file, not only memory, may be damaged: cut short, or not Go
	head -c $(($(stat -c %s "$X") / 2)) "$X" >"$TDIR/cut"
	unit "cut-short executable" "$TDIR/cut"
	check_eq "$VER cut-short executable: exit status (2: an error, not a signal)" "$RC" 2
	check "$VER cut-short executable: an error" grep -q "^error: " "$TDIR/u.out"
	# allgadd's code overwritten with 0xff bytes (undecodable): allgs and
	# allglen from the fallback anchors (forEachG, forEachGRace), the
	# others as before
	python3 - "$X" "$TDIR/badcode" "$("$GO" tool nm -size "$B" | awk '$4 == "runtime.allgadd" { print $1, $2 }')" <<'PY'
import sys
src, dst, (addr, size) = sys.argv[1], sys.argv[2], sys.argv[3].split()
b = bytearray(open(src, "rb").read())
off = int(addr, 16) - 0x400000  # Go's text segment: file offset 0 at 0x400000
b[off:off + int(size)] = b"\xff" * int(size)
open(dst, "wb").write(b)
PY
	chmod +x "$TDIR/badcode"
	unit "allgadd's code garbage" "$TDIR/badcode"
	check_eq "$VER allgadd's code garbage: unit_goglobals" "$RC" 0
	check_eq "$VER allgadd's code garbage: allgs from forEachG" \
		"$(awk '$1 == "found" && $2 == "runtime.allgs" { print $3, $4 }' "$TDIR/u.out")" "$ALLGS runtime.forEachG"
	check_eq "$VER allgadd's code garbage: allglen from forEachGRace" \
		"$(awk '$1 == "found" && $2 == "runtime.allglen" { print $3, $4 }' "$TDIR/u.out")" "$ALLGLEN runtime.forEachGRace"
	check_eq "$VER allgadd's code garbage: allm still" "$(found allm)" "$ALLM"
	unit "not a Go executable" /bin/sh
	check_eq "$VER not a Go executable: exit status" "$RC" 2
	check "$VER not a Go executable: says so" grep -q "^error: .*gopclntab" "$TDIR/u.out"
	# a core of it (gcore): the same globals from post-mortem memory
	if command -v gcore >/dev/null 2>&1; then
		gcore -o "$TDIR/core" "$TPID" >/dev/null 2>&1
		sparse "$TDIR/core.$TPID"
		equal "gcore of strip -s" "$X" "machine code" --core "$TDIR/core.$TPID"
		rm -f "$TDIR/core.$TPID"
	fi
	check "$VER target alive after the strip -s runs" ping_target
	stop_target

	start_target "$O" -n 50
	equal "objcopy --strip-all" "$O" "machine code"
	stop_target

	start_target "$D" -n 50
	equal "objcopy --strip-debug" "$D" "symbol table"
	equal "objcopy --strip-debug, --no-symtab" "$D" "machine code" --no-symtab
	equal "objcopy --strip-debug, no layout length of waitReasonStrings" "$D" "symbol table" --no-nwaitreasons
	refuses "objcopy --strip-debug, garbage allgs header" "$D" "runtime.allgs not found from the symbol table" \
		--garbage "$ALLGS:24"
	check "$VER target alive after the --strip-debug runs" ping_target
	stop_target

	start_target "$N" -n 50
	equal "a symbol table without runtime.allgs" "$N" "machine code"
	stop_target

	start_target "$W" -n 50
	cli "-ldflags=-w, layout file" "symbol table"
	equal_nm "-ldflags=-w" "$W" "symbol table"
	equal_nm "-ldflags=-w, --no-symtab" "$W" "machine code" --no-symtab
	refuses "-ldflags=-w, garbage allm" "$W" "runtime.allm not found from the symbol table" \
		--garbage "$(nm_addr "$W" runtime.allm):8"
	check "$VER target alive after the -w runs" ping_target
	stop_target

	# more g's than are checked one by one: a sample of them
	if [ "$GO" = "$(command -v go)" ]; then
		REF=$B
		start_target "$X" -n 6000
		equal "strip -s, 6000 goroutines" "$X" "machine code"
		stop_target
	fi

	# cgo, externally linked: C's data beside Go's, extra Ms on allm
	CB=$(build_target cgo "$GO")
	CX=$(copy_of "$CB" gg-strip strip_s)
	REF=$CB
	start_target "$CX"
	equal "cgo, strip -s" "$CX" "machine code"
	stop_target

	REF=$PD
	start_target "$PX" -n 50
	equal "PIE, strip -s" "$PX" "machine code"
	check "$VER PIE: a load bias" test "$(sed -n 's/^bias //p' "$TDIR/u.out")" != 0
	stop_target
done
finish
