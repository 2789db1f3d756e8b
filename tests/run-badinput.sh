#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Bad input: each gets a message naming what is wrong and what to do, exit
# status 2, no crash, and no thread of any process left stopped; processes
# that exit by themselves while being inspected.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace; need_gdb

expect2() {
	# expect2 DESC PATTERN ARGS...
	_d=$1 _p=$2; shift 2
	timeout 60 "$FPI" "$@" >"$TDIR/o" 2>"$TDIR/e" </dev/null
	_st=$?
	check_eq "$_d: exit status" "$_st" 2
	check "$_d: message '$_p' (got: $(head -c 300 "$TDIR/e"))" grep -q -- "$_p" "$TDIR/e"
	check "$_d: no crash output" sh -c "! grep -qi 'segmentation\|abort\|sanitizer' '$TDIR/e'"
}

# no such process
pid=4194000
while [ -e /proc/$pid ]; do pid=$((pid - 1)); done
expect2 "missing PID" "no process with PID $pid" attach $pid

# a kernel thread has no executable
expect2 "kernel thread" "has no executable" attach 2

# not a Go program
sleep 60 &
SPID=$!
_PIDS="$_PIDS $SPID"
expect2 "not Go" "not a Go program" attach $SPID summary
check_eq "not Go: left running" "$(stopped_threads $SPID)" 0

GO=$(command -v go)
# Go without DWARF (-w, and -s -w) of a release fpinspect has no layout
# for (its version in .go.buildinfo made go1.99.N)
VER=$(go_version_of "$GO")
for flags in "-w" "-s -w"; do
	out="$TDIR/nodwarf"
	set_go_version "$(build_target states "$GO" "$flags")" "$VER" "$(echo "$VER" | sed 's/^go1\.[0-9][0-9]/go1.99/')" "$out"
	start_target "$out" -n 10
	expect2 "Go built with -ldflags='$flags', no layout" "without DWARF" attach "$TPID" goroutines
	check "Go without DWARF: says what to do" grep -q "fpinspect layout --from BINARY" "$TDIR/e"
	check_eq "Go without DWARF: left running" "$(stopped_threads "$TPID")" 0
	check "Go without DWARF: still answers" ping_target
	stop_target
done

BIN=$(build_target states "$GO")
start_target "$BIN" -n 10

# another tracer holds the process: EPERM, explained
gdb -nx -batch -p "$TPID" -ex 'shell sleep 4' >/dev/null 2>&1 &
GDBPID=$!
i=0
while ! grep -q "TracerPid:[[:space:]]*[1-9]" /proc/"$TPID"/status; do
	i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1
done
expect2 "traced by gdb" "another tracer" attach "$TPID" summary
wait $GDBPID
sleep 0.2
check_eq "after gdb: left running" "$(stopped_threads "$TPID")" 0

# bad goroutine, bad thread, bad unwinder
expect2 "bt of a missing goroutine" "no goroutine 999999" attach "$TPID" bt g999999
expect2 "bt of a missing thread" "no thread 1 in this process" attach "$TPID" bt 1
expect2 "bt of garbage" "is not a thread id" attach "$TPID" bt xyz
expect2 "bt with a bad unwinder" "unknown unwinder 'magic'" attach "$TPID" bt all --unwinder magic
expect2 "bt without target" "usage: bt" attach "$TPID" bt
check_eq "after errors: no thread left stopped" "$(stopped_threads "$TPID")" 0
check "after errors: still answers" ping_target
stop_target

# a process that exited and was not yet reaped (a zombie)
python3 -c '
import os, signal, sys, time
signal.signal(signal.SIGCHLD, signal.SIG_DFL)
pid = os.fork()
if pid == 0:
    os._exit(0)
print(pid, flush=True)
time.sleep(30)
' >"$TDIR/zpid" &
_PIDS="$_PIDS $!"
i=0
while [ ! -s "$TDIR/zpid" ]; do i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.05; done
ZPID=$(cat "$TDIR/zpid")
sleep 0.2
check_eq "zombie made" "$(sed 's/.*) //' /proc/$ZPID/stat | cut -d' ' -f1)" Z
expect2 "exited process (zombie)" "a zombie" attach "$ZPID"

# processes that exit on their own while fpinspect attaches, stops, reads
# and lets go: 40 runs, the exit landing anywhere from before the attach to
# after it. Each run ends (20 s cap) with 0 or 1 (it got in first) or 2 and
# a message naming the process; the process always ends by its own exit
# (status 3): nothing left it stopped or killed it.
BIN=$(build_target states "$(command -v go)")
hung=0 crashed=0 silent=0 notown=0 nok=0 n2=0
for i in $(seq 40); do
	d=$((30 + (i * 37) % 150))
	"$BIN" -n 20000 -exitafter "${d}ms" </dev/null >/dev/null 2>&1 &
	XP=$!
	sleep "0.0$((i % 10))"
	timeout 20 "$FPI" attach "$XP" check >/dev/null 2>"$TDIR/x.err"
	st=$?
	wait "$XP"
	xst=$?
	case $st in
	0 | 1) nok=$((nok + 1)) ;;
	2) n2=$((n2 + 1)); grep -q "$XP" "$TDIR/x.err" || { silent=$((silent + 1)); cat "$TDIR/x.err"; } ;;
	124) hung=$((hung + 1)) ;;
	*) crashed=$((crashed + 1)); echo "exit $st: $(cat "$TDIR/x.err")" ;;
	esac
	[ "$xst" = 3 ] || { notown=$((notown + 1)); echo "run $i: the process ended with $xst"; }
done
echo "exiting processes: $nok inspected, $n2 refused"
check_eq "exiting processes: fpinspect hung" "$hung" 0
check_eq "exiting processes: fpinspect crashed" "$crashed" 0
check_eq "exiting processes: exit 2 without naming the process" "$silent" 0
check_eq "exiting processes: ended other than by their own exit" "$notown" 0
check "exiting processes: some inspected, some refused ($nok, $n2)" test "$nok" -gt 0 -a "$n2" -gt 0
finish
