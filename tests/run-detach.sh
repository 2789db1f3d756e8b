#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Letting go: a process that was stopped before stays stopped; SIGINT and
# SIGTERM to fpinspect mid-inspection detach cleanly; after SIGKILL the kernel
# detaches and the target goes on. Never a thread left stopped by us.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace

BIN=$(build_target states "$(command -v go)")
start_target "$BIN" -n 50

# a process stopped by job control stays stopped after inspection
kill -STOP "$TPID"
sleep 0.2
"$FPI" attach "$TPID" summary >"$TDIR/s" 2>&1
check_eq "stopped target: summary exit" "$?" 0
check "stopped target: summary output" grep -q "goroutines:" "$TDIR/s"
sleep 0.2
check_eq "stopped target: still group-stopped" "$(sed 's/.*) //' /proc/$TPID/stat | cut -d' ' -f1)" T
kill -CONT "$TPID"
sleep 0.2
check_eq "after SIGCONT: running" "$(stopped_threads "$TPID")" 0
check "after SIGCONT: answers" ping_target

# start_prompt NAME: fpinspect's prompt on the target, its stdin on fd 9
# (a fifo), output in $TDIR/o.NAME; waits until it holds the target
# stopped. Sets FPID.
start_prompt() {
	mkfifo "$TDIR/p.$1"
	"$FPI" attach "$TPID" <"$TDIR/p.$1" >"$TDIR/o.$1" 2>&1 &
	FPID=$!
	exec 9>"$TDIR/p.$1"
	_i=0
	while [ "$(stopped_threads "$TPID")" -eq 0 ] || ! grep -q "Attached" "$TDIR/o.$1"; do
		_i=$((_i + 1)); [ $_i -gt 200 ] && break; sleep 0.05
	done
}

# mid-inspection: the prompt holds the process stopped; then a signal
for sig in INT TERM HUP KILL; do
	start_prompt "$sig"
	check "SIG$sig: the prompt holds every thread stopped" test "$(stopped_threads "$TPID")" -eq "$(ls /proc/$TPID/task | wc -l)"
	kill -$sig $FPID
	wait $FPID
	st=$?
	exec 9>&-
	if [ $sig = KILL ]; then
		check_eq "SIGKILL: fpinspect killed" "$st" 137
	else
		check_eq "SIG$sig: fpinspect exits 2" "$st" 2
		check "SIG$sig: says it detached" grep -q "detached" "$TDIR/o.$sig"
	fi
	sleep 0.3
	check_eq "SIG$sig: no thread left stopped" "$(stopped_threads "$TPID")" 0
	check "SIG$sig: target answers" ping_target
done

# a signal sent to the process while the prompt holds it stopped is not
# lost: it arrives once the prompt lets go (started by this test: ours to
# signal)
stop_target
start_target "$BIN" -n 50 -notify
start_prompt usr1
check "SIGUSR1: the prompt holds every thread stopped" test "$(stopped_threads "$TPID")" -eq "$(ls /proc/$TPID/task | wc -l)"
kill -USR1 "$TPID"
sleep 0.5
check_eq "SIGUSR1: not handled while stopped" "$(grep -c '^SIG usr1' "$TOUT")" 0
echo summary >&9
echo quit >&9
wait $FPID
check_eq "SIGUSR1: prompt exit" "$?" 0
exec 9>&-
i=0
while ! grep -q '^SIG usr1 1$' "$TOUT"; do
	i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.05
done
check "SIGUSR1: delivered after the prompt let go" grep -q '^SIG usr1 1$' "$TOUT"
check_eq "SIGUSR1: delivered once" "$(grep -c '^SIG usr1' "$TOUT")" 1
check_eq "SIGUSR1: no thread left stopped" "$(stopped_threads "$TPID")" 0
check "SIGUSR1: target answers" ping_target

# the prompt itself: commands, then quit lets the process go
printf 'summary\nbt g1\nhelp bt\nbogus\nquit\n' | "$FPI" attach "$TPID" >"$TDIR/prompt" 2>&1
check_eq "prompt exit" "$?" 0
check "prompt ran summary" grep -q "goroutines:" "$TDIR/prompt"
check "prompt ran bt" grep -q "^goroutine 1 \[syscall\]" "$TDIR/prompt"
check "prompt help" grep -q "usage: bt TARGET" "$TDIR/prompt"
check "prompt error" grep -q "unknown command 'bogus'" "$TDIR/prompt"
sleep 0.2
check_eq "after quit: no thread left stopped" "$(stopped_threads "$TPID")" 0
check "after quit: answers" ping_target
stop_target
finish
