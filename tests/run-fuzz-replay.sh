#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Every seed of the fuzz corpora through its reader, without libFuzzer: the
# replay programs run the fuzz target's LLVMFuzzerTestOneInput on each seed
# (tests/fuzz_core.c: the core opened with and without an executable, read
# where its threads and mappings point; tests/fuzz_pclntab.c: each function,
# and file:line, SP delta and inlined frames around each entry). Each seed,
# in a process of its own, must end with exit status 0, without a signal
# and without a sanitizer report.
. "$(dirname "$0")/lib.sh"

# replay PROGRAM CORPUS MIN_SEEDS
replay() {
	_r="$top_builddir/tests/$1"
	[ -x "$_r" ] || skip_or_fail "tests/$1 not built (make check builds it)"
	_n=0
	for seed in "$top_srcdir"/tests/fuzz/$2/*; do
		[ -f "$seed" ] || continue
		_n=$((_n + 1))
		name=$2/$(basename "$seed")
		timeout 60 "$_r" "$seed" >"$TDIR/out" 2>"$TDIR/err"
		_rc=$?
		check_eq "$name: exit status (stderr: $(head -c 600 "$TDIR/err"))" "$_rc" 0
		check "$name: no sanitizer report" sh -c "! grep -q 'Sanitizer\|runtime error' '$TDIR/err'"
		check "$name: read whole" grep -q "^$seed: $(wc -c <"$seed") bytes: done" "$TDIR/out"
	done
	echo "$_n seeds replayed from tests/fuzz/$2"
	check "seeds in tests/fuzz/$2 (got $_n)" test "$_n" -ge "$3"
}

replay fuzz_replay core 5
replay fuzz_replay_pclntab pclntab 4
finish
