#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# profile -o FILE: the .folded, .pb.gz and .svg of one parked process tell
# the same stacks (tests/profcheck.py): folded counts, the pprof profile as
# `go tool pprof -raw` reads it (and -top reads it), the flame graph's rect
# widths and paths; the counts add up to the goroutines dump shows; and the
# stacks (functions, files, lines) are those of the runtime's own goroutine
# profile of the process (runtime/pprof, asked for on its stdin), wrappers
# and runtime.goexit left out as it leaves them. Then the SVG in headless
# Chromium, when installed.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace; need_python

for GO in $(go_toolchains); do
	VER=$(go_version_of "$GO")
	BIN=$(build_target states "$GO")
	start_target "$BIN" -n 30 -depth 4 -running 0
	for f in p.folded p.pb.gz p.svg; do
		"$FPI" attach "$TPID" profile -o "$TDIR/$f" >"$TDIR/prof.out"
		check_eq "$VER profile -o $f exit" "$?" 0
		check "$VER profile -o $f says what it wrote" grep -q "goroutines, [0-9]* distinct stacks written to $TDIR/$f" "$TDIR/prof.out"
	done
	"$FPI" attach "$TPID" dump >"$TDIR/dump.txt"
	go tool pprof -raw "$TDIR/p.pb.gz" >"$TDIR/raw.txt" 2>&1
	check_eq "$VER go tool pprof -raw reads it" "$?" 0
	_pr=$(ask_target "pprof $TDIR/go.pb.gz" "pprof done")
	check_eq "$VER the runtime wrote its own goroutine profile" "$_pr" "pprof done <nil>"
	go tool pprof -raw "$TDIR/go.pb.gz" >"$TDIR/goraw.txt" 2>&1
	check_eq "$VER go tool pprof -raw reads the runtime's" "$?" 0
	go tool pprof -top "$TDIR/p.pb.gz" >"$TDIR/top.txt" 2>&1
	check_eq "$VER go tool pprof -top reads it" "$?" 0
	check "$VER pprof: a goroutine profile" grep -q "^Type: goroutine" "$TDIR/top.txt"
	check "$VER pprof: runtime.gopark on top" grep -q "runtime.gopark" "$TDIR/top.txt"
	python3 "$top_srcdir/tests/profcheck.py" "$TDIR/dump.txt" "$TDIR/goraw.txt" "$TDIR/p.folded" "$TDIR/raw.txt" \
		"$TDIR/p.svg" >"$TDIR/check.out"
	_rc=$?
	sed "s/^/$VER: /" "$TDIR/check.out"
	check_eq "$VER folded, pprof and svg agree, and equal the runtime's profile" "$_rc" 0
	"$FPI" attach "$TPID" profile >/dev/null 2>"$TDIR/err"
	check_eq "$VER profile without -o: usage error" "$?" 2
	"$FPI" attach "$TPID" profile -o x.txt >/dev/null 2>"$TDIR/err"
	check_eq "$VER profile -o x.txt: usage error" "$?" 2
	check "$VER profile -o x.txt names the formats" grep -q "must end in .pb.gz (pprof), .folded or .svg" "$TDIR/err"
	kill "$TPID"; wait "$TPID" 2>/dev/null
	exec 8>&-
done

# a real browser draws it: a screenshot that is a PNG of some size
if command -v chromium >/dev/null 2>&1; then
	timeout 120 chromium --headless --no-sandbox --disable-gpu --screenshot="$TDIR/p.png" --window-size=1200,800 \
		"file://$TDIR/p.svg" >"$TDIR/chromium.out" 2>&1
	check "chromium screenshot of the flame graph" test -s "$TDIR/p.png"
	check "the screenshot is a PNG" sh -c "head -c 8 '$TDIR/p.png' | od -An -c | grep -q 'P   N   G'"
	check "the screenshot is not blank" test "$(wc -c <"$TDIR/p.png")" -gt 20000
	[ -n "${FPI_KEEP_PNG:-}" ] && cp "$TDIR/p.png" "$FPI_KEEP_PNG"
else
	echo "note: chromium not installed (setup.sh installs it): the flame graph was not drawn"
fi
finish
