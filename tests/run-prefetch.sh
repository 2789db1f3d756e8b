#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# attach PID bt|check plans the stack copy before the stop and reads it while
# the snapshot is taken (a background reader once there are thousands of
# stacks). What the commands print must be exactly what the prompt prints,
# which reads the stopped process directly and prefetches nothing.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace

# the prompt's output without its banner and echoed prompts
strip_prompt() { sed -e '1{/^Attached to process/d}' -e 's/^(fpinspect) //' "$1" | sed -e '1{/^bt all$/d;/^check$/d;/^goroutines$/d}' -e '${/^$/d}'; }

for GO in $(go_toolchains); do
	VER=$(go_version_of "$GO")
	echo "== $VER"
	BIN=$(build_target states "$GO")
	# 6,000 parked goroutines three frames deep, nothing running: stacks
	# stay put between two attaches
	start_target "$BIN" -n 6000 -depth 3 -running 0

	FPI_TIMING=1 "$FPI" attach "$TPID" bt all >"$TDIR/a.txt" 2>"$TDIR/a.err"
	check_eq "$VER bt all exit" "$?" 0
	pre=$(sed -n 's/^timing:   copy: \([0-9]*\) runs prefetched, \([0-9]*\) ranges read now$/\1 \2/p' "$TDIR/a.err")
	check "$VER bt all: the stacks came from the prefetch ($pre)" test "${pre%% *}" -ge 6000
	check "$VER bt all: little read after the snapshot ($pre)" test "${pre##* }" -lt 2000
	printf 'bt all\n' | "$FPI" attach "$TPID" >"$TDIR/b.txt" 2>&1
	check_eq "$VER prompt bt all exit" "$?" 0
	strip_prompt "$TDIR/b.txt" >"$TDIR/b.stripped"
	check "$VER bt all from the prefetch == bt all at the prompt" cmp -s "$TDIR/a.txt" "$TDIR/b.stripped"
	check_eq "$VER bt all: every goroutine" "$(grep -c '^goroutine ' "$TDIR/a.txt")" \
		"$(grep -c '^goroutine ' "$TDIR/b.stripped")"
	check "$VER bt all: 6,000 goroutines or more" test "$(grep -c '^goroutine ' "$TDIR/a.txt")" -ge 6000

	FPI_TIMING=1 "$FPI" attach "$TPID" check >"$TDIR/c.txt" 2>"$TDIR/c.err"
	check_eq "$VER check exit" "$?" 0
	check "$VER check used the prefetch" grep -q 'runs prefetched' "$TDIR/c.err"
	printf 'check\n' | "$FPI" attach "$TPID" >"$TDIR/d.txt" 2>&1
	strip_prompt "$TDIR/d.txt" >"$TDIR/d.stripped"
	check "$VER check from the prefetch == check at the prompt" cmp -s "$TDIR/c.txt" "$TDIR/d.stripped"
	check "$VER check: 0 errors, 0 warnings" grep -q '^check: .* 0 errors, 0 warnings' "$TDIR/c.txt"

	# goroutines reads only the stack tops (384 bytes from the saved BP):
	# those are planned before the stop too, and give the prompt's rows
	FPI_TIMING=1 "$FPI" attach "$TPID" goroutines >"$TDIR/e.txt" 2>"$TDIR/e.err"
	check_eq "$VER goroutines exit" "$?" 0
	pre=$(sed -n 's/^timing:   copy: \([0-9]*\) runs prefetched, \([0-9]*\) ranges read now$/\1 \2/p' "$TDIR/e.err")
	check "$VER goroutines: the stack tops came from the prefetch ($pre)" test "${pre%% *}" -ge 6000
	plan=$(sed -n 's/^timing: prefetch plan .* (\([0-9]*\) ranges, \([0-9]*\) bytes)$/\1 \2/p' "$TDIR/e.err")
	check "$VER goroutines: tops only, 384 bytes or less each ($plan)" \
		test "${plan##* }" -gt 0 -a "${plan##* }" -le $((${plan%% *} * 384))
	printf 'goroutines\n' | "$FPI" attach "$TPID" >"$TDIR/f.txt" 2>&1
	strip_prompt "$TDIR/f.txt" >"$TDIR/f.stripped"
	check "$VER goroutines from the prefetch == goroutines at the prompt" cmp -s "$TDIR/e.txt" "$TDIR/f.stripped"

	check "$VER target still answers" ping_target
	check_eq "$VER target untraced" "$(awk '/^TracerPid/{print $2}' /proc/$TPID/status)" 0
	stop_target
done
finish
