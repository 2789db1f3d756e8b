#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The CFI stepper and symbolizer (unwind/) on real Go binaries of every
# toolchain: symbols, file:line, inlined frames, CFA against readelf.
. "$(dirname "$0")/lib.sh"
need_go
for GO in $(go_toolchains); do
	for t in states cgo; do
		BIN=$(build_target $t "$GO")
		"$top_builddir/tests/unit_cfi" "$BIN" >"$TDIR/out" 2>&1
		st=$?
		tail -1 "$TDIR/out"
		check_eq "unit_cfi $(go_version_of "$GO") $t" "$st" 0
		[ $st -eq 0 ] || cat "$TDIR/out"
	done
done
finish
