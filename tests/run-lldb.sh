#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The LLDB plugin (command script import gdbplugin/fpinspect_lldb.py) with
# real LLDB in batch mode, on the states and cgo targets built with every Go
# toolchain on the machine, as run-gdb.sh does for GDB:
#  - live (lldb -p): fp summary/threads/goroutines/bt/check answer what the
#    CLI answers on the same (blocked, hence stable) process; after `detach`
#    the process goes on with no thread left stopped; LLDB's selected thread
#    and frame are kept;
#  - over gdb-remote (an lldb-server attached to the same process, the
#    plugin on its remote path; go in PATH and 1.19): the same answers as
#    the CLI after LLDB detached;
#  - a gcore core (lldb -c CORE EXE): every command equals `fpinspect core`
#    on the same core, and fp bt gN the live CLI's frames;
#  - a kernel core when core_pattern allows one here (the gcore stands in
#    otherwise): fp goroutines equals the CLI;
#  - on the cgo target with Go 1.21.13, fp check finds golang/go#72870;
#  - errors are LLDB errors with the CLI's messages (no goroutine, no
#    process, not a Go program, unknown command), never a Python traceback;
#  - help fp, fp help bt.
. "$(dirname "$0")/lib.sh"
need_go; need_lldb; need_lldb_server; need_gdb; need_ptrace; need_python

PLUGIN="$top_srcdir/gdbplugin/fpinspect_lldb.py"
FPINSPECT_LIB=${FPINSPECT_LIB:-$top_builddir/.libs/libfpinspect.so}
export FPINSPECT_LIB
if [ ! -e "$FPINSPECT_LIB" ]; then
	echo "FAIL: $FPINSPECT_LIB is not built"
	exit 99
fi

# runlldb NAME LLDB-ARGS...: LLDB in batch mode, the plugin imported after
# the process or core is open; stdout and stderr in $TDIR/NAME.out. A
# failing command ends a batch (LLDB's -b): error cases come last.
runlldb() {
	_n=$1; shift
	timeout 600 "$LLDB" --no-lldbinit -b "$@" >"$TDIR/$_n.out" 2>&1
	_rc=$?
	if grep -q "Traceback" "$TDIR/$_n.out"; then
		NCHECK=$((NCHECK + 1)); NFAIL=$((NFAIL + 1))
		echo "FAIL: $_n: a Python traceback"; cat "$TDIR/$_n.out"
	fi
	return $_rc
}


# lldb_cmds GOIDS...: -o arguments writing JSON for every command to $TDIR/p.*.json
lldb_cmds() {
	CMDS="-o 'command script import $PLUGIN' -o 'fp summary --json --output $TDIR/p.summary.json' \
-o 'fp threads --json --output $TDIR/p.threads.json' \
-o 'fp goroutines --json --output $TDIR/p.goroutines.json' \
-o 'fp check --json --output $TDIR/p.check.json'"
	for _g in "$@"; do
		CMDS="$CMDS -o 'fp bt g$_g --json --output $TDIR/p.bt$_g.json'"
	done
}

# fperr CMD...: run fp CMD as LLDB would and print "fperr CMD: ok|<error>";
# inside a command of ours a failing fp does not end LLDB's batch (which
# over gdb-remote would kill the process)
cat >"$TDIR/fperr.py" <<'EOF'
import lldb
def fperr(debugger, line, result, internal_dict):
    r = lldb.SBCommandReturnObject()
    debugger.GetCommandInterpreter().HandleCommand("fp " + line, r)
    result.AppendMessage("fperr %s: %s" % (line, "ok" if r.Succeeded() else r.GetError().strip()))
def __lldb_init_module(debugger, internal_dict):
    debugger.HandleCommand("command script add -o -f fperr.fperr fperr")
EOF
# same_errors DESC OUT CLI-ARGS...: for each "fperr CMD" line of OUT, the
# CLI's message for CMD (fpinspect CLI-ARGS CMD) after LLDB's "error: "
same_errors() {
	_d=$1 _o=$2; shift 2
	grep '^fperr ' "$_o" | while IFS= read -r _l; do
		_c=${_l#fperr }; _c=${_c%%: *}
		# shellcheck disable=SC2086
		_e=$("$FPI" "$@" $_c 2>&1 >/dev/null | head -1)
		echo "$_d: fp $_c: ${_l#*: } / CLI: $_e"
		[ "${_l#*: }" = "error: $_e" ] || echo "FAIL-ERR"
	done >"$TDIR/errs.log"
	cat "$TDIR/errs.log"
	check "$_d: errors are LLDB errors with the CLI's words" test "$(grep -c FAIL-ERR "$TDIR/errs.log")" = 0
	check "$_d: errors compared" test "$(grep -c "^$_d: fp " "$TDIR/errs.log")" = 4
}
ERRCMDS="-o 'command script import $TDIR/fperr.py' -o 'fperr bt g999999' -o 'fperr bt g1 --unwinder frob' \
-o 'fperr check --frob' -o 'fperr bt'"

core_pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null)
first=yes

for GO in $(go_toolchains); do
	VER=$(go_version_of "$GO")
	for T in states cgo; do
		echo "== $VER $T"
		BIN=$(build_target "$T" "$GO")
		rm -f "$TDIR"/p.* "$TDIR"/c.*
		start_plugin_target "$T" "$BIN"

		# (1) live: lldb -p, then the CLI on the same process
		lldb_cmds $GS
		eval "runlldb live -p $TPID $CMDS -o 'fp summary' -o 'fp check' \
			-o \"script print('reads from /proc/PID/mem: %s' % (fpinspect_lldb._cache[1].procmem is not None))\" \
			-o 'thread select 2' -o 'frame select 1' -o 'fp bt all --unwinder both --output /dev/null' \
			-o 'thread info' -o 'frame info' -o 'detach'"
		sleep 0.2
		check "$VER $T live: detached" grep -q "Process $TPID detached" "$TDIR/live.out"
		check_eq "$VER $T live: no thread left stopped after lldb" "$(stopped_threads "$TPID")" 0
		check "$VER $T live: target still answers after lldb" ping_target
		same_live "$VER $T" "$GS"
		check "$VER $T live text summary" grep -q "^goroutines: " "$TDIR/live.out"
		check "$VER $T live: data read from /proc/PID/mem" grep -q "^reads from /proc/PID/mem: True" "$TDIR/live.out"
		FPST=0
		[ "$T" = cgo ] && go_bug_72870 "$GO" && FPST=1
		if [ $FPST = 1 ]; then
			check "$VER $T fp check finds golang/go#72870 (extra-in-c-with-go-frames)" \
				grep -q "extra-in-c-with-go-frames" "$TDIR/p.check.json"
		else
			check "$VER $T fp check: no error" grep -q '"errors":0' "$TDIR/p.check.json"
		fi
		sed -n '/^(lldb) thread info$/,$p' "$TDIR/live.out" >"$TDIR/after"
		check "$VER $T selected thread kept" grep -q "^thread #2:" "$TDIR/after"
		check "$VER $T selected frame kept" grep -q "^frame #1:" "$TDIR/after"

		# (1b) over gdb-remote: an lldb-server of our own attached to the
		# same process, LLDB connected to it with `gdb-remote`, then the
		# CLI on the process after LLDB detached. FPI_LLDB_LOCAL=0: the
		# plugin takes it for a remote process, as it must another
		# machine's (mappings from the modules' segments, every read
		# through LLDB), which it could not otherwise tell from a local
		# one here. A failing command would end LLDB's batch, and LLDB
		# kills a process it reached over gdb-remote when it quits: the
		# error cases run inside fperr, so that `detach` still comes.
		# The remote path is the plugin's, whatever the Go version: with
		# the go in PATH and the oldest runtime, 1.19.
		case $VER in "$(go_version_of "$(command -v go)")" | go1.19*) ;; *) SKIP_REMOTE=y ;; esac
		if [ "${SKIP_REMOTE:-}" != y ]; then
			rm -f "$TDIR"/p.* "$TDIR/port"
			mkfifo "$TDIR/port"
			"$LLDB_SERVER" gdbserver localhost:0 --named-pipe "$TDIR/port" --attach "$TPID" \
				>"$TDIR/server.log" 2>&1 &
			SRV=$!
			PORT=$(timeout 60 cat "$TDIR/port" | tr -d '\0')
			lldb_cmds $GS
			FPI_LLDB_LOCAL=0; export FPI_LLDB_LOCAL
			eval "runlldb remote '$BIN' -o 'gdb-remote localhost:$PORT' $CMDS -o 'fp goroutines' \
				-o \"script print('remote path: %s' % (not fpinspect_lldb._is_local_live(lldb.target, lldb.process)))\" \
				$ERRCMDS -o 'detach'"
			unset FPI_LLDB_LOCAL
			wait "$SRV"
			sleep 0.2
			check "$VER $T gdb-remote: connected to our lldb-server" grep -q "Connection established" "$TDIR/server.log"
			check "$VER $T gdb-remote: the plugin took the remote path" grep -q "^remote path: True" "$TDIR/remote.out"
			check "$VER $T gdb-remote: detached" grep -q "Process $TPID detached" "$TDIR/remote.out"
			same_errors "$VER $T gdb-remote" "$TDIR/remote.out" attach "$TPID"
			check_eq "$VER $T gdb-remote: no thread left stopped" "$(stopped_threads "$TPID")" 0
			check "$VER $T gdb-remote: target still answers" ping_target
			same_live "$VER $T gdb-remote" "$GS"
		fi
		SKIP_REMOTE=

		# (2) a gcore core of the same process
		timeout 600 gdb -nx -batch -p "$TPID" -ex "gcore $TDIR/gcore" >"$TDIR/gcore.log" 2>&1
		sparse "$TDIR/gcore"
		check "$VER $T gcore wrote a core" test -s "$TDIR/gcore"
		stop_target
		rm -f "$TDIR"/p.*
		lldb_cmds $GS
		eval "runlldb gcore -c '$TDIR/gcore' '$BIN' $CMDS \
			-o 'fp bt all --unwinder both --json --output $TDIR/p.btall.json' -o 'fp bt g999999'"
		check "$VER $T gcore: fp bt g999999 is an LLDB error" \
			grep -q "^error: fpinspect: bt: no goroutine 999999" "$TDIR/gcore.out"
		for g in $GS; do
			same "$VER $T gcore bt g$g = live CLI" bt-pcfn "$TDIR/p.bt$g.json" "$TDIR/c.bt$g.json"
		done
		"$FPI" core "$TDIR/gcore" "$BIN" --json threads >"$TDIR/c.threads.json"
		"$FPI" core "$TDIR/gcore" "$BIN" --json goroutines >"$TDIR/c.goroutines.json"
		"$FPI" core "$TDIR/gcore" "$BIN" --json check >"$TDIR/c.check.json"
		"$FPI" core "$TDIR/gcore" "$BIN" --json bt all --unwinder both >"$TDIR/c.btall.json"
		for w in threads goroutines check; do
			same "$VER $T gcore $w = CLI core" $w "$TDIR/p.$w.json" "$TDIR/c.$w.json" "$TDIR/p.goroutines.json" "$TDIR/c.goroutines.json"
		done
		same "$VER $T gcore bt all (both unwinders) = CLI core" bt "$TDIR/p.btall.json" "$TDIR/c.btall.json"

		# (3) a core the kernel wrote, when this machine gives one
		case "$core_pattern" in
		"" | "|"* | */*) kernel=no ;;
		*) kernel=yes ;;
		esac
		CORE=
		if [ $kernel = yes ]; then
			KDIR="$TDIR/kcore"
			rm -rf "$KDIR"; mkdir -p "$KDIR"
			start_target sh -c 'ulimit -c unlimited 2>/dev/null; cd "$1" || exit 1; shift; GOTRACEBACK=crash exec "$@"' \
				sh "$KDIR" "$BIN" $ARGS
			kill -ABRT "$TPID"
			wait "$TPID" 2>/dev/null
			exec 8>&-
			CORE=$(ls "$KDIR"/core* 2>/dev/null | head -1)
		fi
		if [ -n "$CORE" ]; then
			runlldb kcore -c "$CORE" "$BIN" -o "command script import $PLUGIN" \
				-o "fp goroutines --json --output $TDIR/p.goroutines.json" -o "fp goroutines"
			"$FPI" core "$CORE" "$BIN" --json goroutines >"$TDIR/c.goroutines.json"
			same "$VER $T kernel core: goroutines = CLI core" goroutines "$TDIR/p.goroutines.json" "$TDIR/c.goroutines.json"
			rm -rf "$KDIR"
		else
			echo "note: no kernel core here (core_pattern '$core_pattern'): the gcore above stands in"
		fi

		# (4) errors, once: LLDB errors with the CLI's words
		if [ $first = yes ]; then
			first=no
			runlldb noproc -o "command script import $PLUGIN" -o "fp summary"
			check "no process: an LLDB error" grep -q "^error: fpinspect: no target" "$TDIR/noproc.out"
			runlldb noproc2 "$BIN" -o "command script import $PLUGIN" -o "fp summary"
			check "no process (target only): an LLDB error" grep -q "^error: fpinspect: no process or core file" "$TDIR/noproc2.out"
			# completion as LLDB's Tab does it: SBCommandInterpreter.HandleCompletion
			cat >"$TDIR/fpcomplete.py" <<-'EOF'
			import lldb
			def fpcomplete(debugger, line, result, internal_dict):
			    m = lldb.SBStringList()
			    debugger.GetCommandInterpreter().HandleCompletion(line, len(line), 0, -1, m)
			    got = sorted(set(m.GetStringAtIndex(i) for i in range(1, m.GetSize())))
			    result.AppendMessage("complete '%s': %s" % (line, " ".join(got)))
			def __lldb_init_module(debugger, internal_dict):
			    debugger.HandleCommand("command script add -o -f fpcomplete.fpcomplete fpcomplete")
			EOF
			runlldb unknown -c "$TDIR/gcore" "$BIN" -o "command script import $PLUGIN" \
				-o "command script import $TDIR/fpcomplete.py" -o "fpcomplete fp b" -o "fpcomplete fp " \
				-o "fpcomplete fp g" -o "help fp" -o "fp help" -o "fp help bt" -o "help fp check" -o "fp su" \
				-o "fp bt --help" -o "fp profile -o $TDIR/p.folded" -o "fp frob"
			check "help fp lists the subcommands" grep -q "^      bt  *-- Backtrace of TARGET" "$TDIR/unknown.out"
			check "fp help lists the library's commands" grep -q "^  fp bt TARGET \[--unwinder fp|dwarf|go|both|all\]" "$TDIR/unknown.out"
			check "fp help bt: usage" grep -q "^Usage: fp bt TARGET \[--unwinder fp|dwarf|go|both|all\] \[--json\] \[--output FILE\]" "$TDIR/unknown.out"
			check "fp help bt: library help" grep -q "marks the first frame where they part" "$TDIR/unknown.out"
			check "help fp check: usage" grep -q "^Usage: fp check \[--stacks\] \[--json\] \[--output FILE\]" "$TDIR/unknown.out"
			check "fp bt --help: usage" test "$(grep -c "^Usage: fp bt TARGET" "$TDIR/unknown.out")" = 2
			check "Tab completes fp b to bt" grep -q "^complete 'fp b': bt\$" "$TDIR/unknown.out"
			check "Tab completes fp g to goroutines" grep -q "^complete 'fp g': goroutines\$" "$TDIR/unknown.out"
			check "Tab lists the library's commands" \
				grep -q "^complete 'fp ': bt check dump goroutines help profile summary threads\$" "$TDIR/unknown.out"
			check "fp su: a unique prefix runs summary" grep -q "^goroutines: " "$TDIR/unknown.out"
			eval "runlldb errs -c '$TDIR/gcore' '$BIN' -o 'command script import $PLUGIN' $ERRCMDS"
			same_errors "core" "$TDIR/errs.out" core "$TDIR/gcore" "$BIN"
			# profile's own -o is its file, not --output
			"$FPI" core "$TDIR/gcore" "$BIN" profile -o "$TDIR/c.folded"
			check "fp profile -o FILE = the CLI's" cmp -s "$TDIR/p.folded" "$TDIR/c.folded"
			check "unknown command: LLDB's error for a container (stderr, no error: prefix in LLDB 16)" grep -q "^invalid command 'fp frob'" "$TDIR/unknown.out"
			sleep 600 </dev/null >/dev/null 2>&1 &
			SPID=$!
			runlldb notgo -p "$SPID" -o "command script import $PLUGIN" -o "fp summary"
			check "not a Go program: an LLDB error" grep -q "^error: fpinspect: .* is not a Go program" "$TDIR/notgo.out"
			sleep 0.2
			check_eq "not a Go program: left running" "$(stopped_threads "$SPID")" 0
			kill "$SPID"; wait "$SPID" 2>/dev/null
		fi
		rm -f "$TDIR/gcore"
	done
done
finish
