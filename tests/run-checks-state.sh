#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The checks on runtime states a live program does not reliably show (an M
# denying C frames, a held scan bit; isExtraInC left set, which only the
# runtimes with golang/go#72870 show live): a real snapshot of the cgo
# program with those fields changed (tests/unit_checks.c).
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace
for GO in $(go_toolchains); do
	echo "== $(go_version_of "$GO")"
	BIN=$(build_target cgo "$GO")
	start_target "$BIN" -mode basic
	CB=$(awk '/^G .* callback$/{print $2}' "$TOUT")
	NE=$(awk '/^G .* nested$/{print $2}' "$TOUT")
	OT=$(awk '/^G .* cgocall$/{print $2}' "$TOUT")
	BUG=0
	go_bug_72870 "$GO" && BUG=1
	# a 2 MiB stack: walks over garbage must not recurse without bound
	(ulimit -s 2048 && exec "$top_builddir/tests/unit_checks" "$TPID" "$CB" "$NE" "$OT" "$BUG")
	st=$?
	check_eq "unit_checks $(go_version_of "$GO")" "$st" 0
	check "target still answers" ping_target
	stop_target
done
finish
