#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Every seed of tests/fuzz/core through the core reader, without libFuzzer:
# tests/fuzz_replay runs tests/fuzz_core.c's LLVMFuzzerTestOneInput on it
# (the core opened with and without an executable, read where its threads
# and mappings point). Each seed in a process of its own must end with exit
# status 0, without a signal and without a sanitizer report.
. "$(dirname "$0")/lib.sh"
REPLAY="$top_builddir/tests/fuzz_replay"
[ -x "$REPLAY" ] || skip_or_fail "tests/fuzz_replay not built (make check builds it)"

n=0
for seed in "$top_srcdir"/tests/fuzz/core/*; do
	[ -f "$seed" ] || continue
	n=$((n + 1))
	name=$(basename "$seed")
	timeout 60 "$REPLAY" "$seed" >"$TDIR/out" 2>"$TDIR/err"
	check_eq "$name: exit status (stderr: $(head -c 600 "$TDIR/err"))" "$?" 0
	check "$name: no sanitizer report" sh -c "! grep -q 'Sanitizer\|runtime error' '$TDIR/err'"
	check "$name: read whole" grep -q "^$seed: $(wc -c <"$seed") bytes: done" "$TDIR/out"
done
echo "$n seeds replayed from tests/fuzz/core"
check "seeds in tests/fuzz/core (got $n)" test "$n" -ge 5
finish
