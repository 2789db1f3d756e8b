#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The GDB plugin (gdb -x gdbplugin/fpplugin) with real GDB in batch mode, on
# the states and cgo targets built with every Go toolchain on the machine:
#  - live (gdb -p): fp summary/threads/goroutines/bt/check answer what the CLI
#    answers on the same (blocked, hence stable) process; the process goes on
#    afterwards with no thread left stopped; GDB's selected thread is kept;
#  - a gcore core: fp bt gN gives the live CLI's frames (GDB's runtime-gdb.py
#    cannot do this on a core: it rewrites registers), and every command
#    equals `fpinspect core` on the same core;
#  - a kernel core (GOTRACEBACK=crash, SIGABRT) when core_pattern allows one
#    here, otherwise a gcore stands in: fp goroutines works and equals the CLI;
#  - errors are GDB errors (fp bt g999999), never a Python traceback;
#  - help fp bt, tab completion (the library's commands and options),
#    $_fp_status.
. "$(dirname "$0")/lib.sh"
need_go; need_gdb; need_ptrace; need_python

PLUGIN="$top_srcdir/gdbplugin/fpplugin"
FPINSPECT_LIB=${FPINSPECT_LIB:-$top_builddir/.libs/libfpinspect.so}
export FPINSPECT_LIB
if [ ! -e "$FPINSPECT_LIB" ]; then
	echo "FAIL: $FPINSPECT_LIB is not built"
	exit 99
fi
gdb -nx -batch -ex 'python import ctypes' >/dev/null 2>&1 || skip_or_fail "gdb has no Python with ctypes"

# rungdb NAME GDB-ARGS...: GDB in batch mode with the plugin loaded after the
# program, core or process; stdout in $TDIR/NAME.out, stderr in NAME.err.
rungdb() {
	_n=$1; shift
	timeout 600 gdb -nx -batch "$@" >"$TDIR/$_n.out" 2>"$TDIR/$_n.err"
	_rc=$?
	if grep -q "Traceback\|Python Exception" "$TDIR/$_n.out" "$TDIR/$_n.err"; then
		NCHECK=$((NCHECK + 1)); NFAIL=$((NFAIL + 1))
		echo "FAIL: $_n: a Python traceback"; cat "$TDIR/$_n.err"
	fi
	return $_rc
}



# gdb_cmds GOIDS...: -ex arguments writing JSON for every command to $TDIR/p.*.json
gdb_cmds() {
	set -- "$@"
	GDBCMDS="-ex 'fp threads --json --output $TDIR/p.threads.json' \
-ex 'fp goroutines --json --output $TDIR/p.goroutines.json' \
-ex 'fp check --json --output $TDIR/p.check.json'"
	for _g in "$@"; do
		GDBCMDS="$GDBCMDS -ex 'fp bt g$_g --json --output $TDIR/p.bt$_g.json'"
	done
}

core_pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null)

for GO in $(go_toolchains); do
	VER=$(go_version_of "$GO")
	for T in states cgo; do
		echo "== $VER $T"
		BIN=$(build_target "$T" "$GO")
		rm -f "$TDIR"/p.* "$TDIR"/c.*
		start_plugin_target "$T" "$BIN"
		MAING=$(grep '^M maingoid ' "$TOUT" | cut -d' ' -f3)

		# (1) live: gdb -p, then the CLI on the same process
		gdb_cmds $GS
		eval "rungdb live -p $TPID -x '$PLUGIN' -ex 'fp summary --json' $GDBCMDS \
			-ex 'fp bt g999999' -ex 'help fp bt' -ex 'thread 2' -ex 'frame 1' \
			-ex 'fp bt all --unwinder both --output /dev/null' -ex 'echo fp-done\\n' -ex 'thread' -ex 'frame' \
			-ex 'fp check --output /dev/null' -ex 'print \$_fp_status' \
			-ex 'complete fp bt g$MAING' -ex 'complete fp bt all --unwinder d' -ex 'complete fp go' \
			-ex 'complete fp d' -ex 'complete fp dump --s' -ex 'complete fp check --st' -ex 'complete fp bt all --u'"
		sleep 0.2
		check_eq "$VER $T live: no thread left stopped after gdb" "$(stopped_threads "$TPID")" 0
		check "$VER $T live: target still answers after gdb" ping_target
		grep '^{' "$TDIR/live.out" | head -1 >"$TDIR/p.summary.json"
		same_live "$VER $T" "$GS"
		# (4) a bad goroutine id is a GDB error, not a traceback
		check "$VER $T live: fp bt g999999 is a GDB error" grep -q "no goroutine 999999" "$TDIR/live.err"
		# (5) help
		check "$VER $T help fp bt: usage" grep -q "^Usage: fp bt TARGET \[--unwinder fp|dwarf|go|both|all\]" "$TDIR/live.out"
		check "$VER $T help fp bt: library help" grep -q "marks the first frame where they part" "$TDIR/live.out"
		sed -n '/^fp-done$/,$p' "$TDIR/live.out" >"$TDIR/after"
		check "$VER $T selected thread kept" grep -q "Current thread is 2 " "$TDIR/after"
		check "$VER $T selected frame kept" grep -q "^#1 " "$TDIR/after"
		FPST=0
		[ "$T" = cgo ] && go_bug_72870 "$GO" && FPST=1
		check "$VER $T \$_fp_status = $FPST" grep -q "^\\\$1 = $FPST\$" "$TDIR/live.out"
		check "$VER $T completes goroutine ids" grep -q "^fp bt g$MAING\$" "$TDIR/live.out"
		check "$VER $T completes unwinders" grep -q "^fp bt all --unwinder dwarf\$" "$TDIR/live.out"
		check "$VER $T completes subcommands" grep -q "^fp goroutines\$" "$TDIR/live.out"
		# the library's commands and options, not a list of the plugin's
		check "$VER $T completes the library's commands (dump)" grep -q "^fp dump\$" "$TDIR/live.out"
		check "$VER $T completes dump's options" test "$(grep -c '^fp dump --s\(ystem\|tatus\)$' "$TDIR/live.out")" = 2
		check "$VER $T completes check's options" grep -q "^fp check --stacks\$" "$TDIR/live.out"
		check "$VER $T completes bt's options" grep -q "^fp bt all --unwinder\$" "$TDIR/live.out"

		# (2) a gcore core of the same process: GDB's runtime-gdb.py fails
		# on goroutine backtraces here; the plugin gives the live frames
		rm -f "$TDIR"/p.*
		timeout 600 gdb -nx -batch -p "$TPID" -ex "gcore $TDIR/gcore" >"$TDIR/gcore.log" 2>&1
		sparse "$TDIR/gcore"
		check "$VER $T gcore wrote a core" test -s "$TDIR/gcore"
		sleep 0.2
		check_eq "$VER $T no thread left stopped after gcore" "$(stopped_threads "$TPID")" 0
		check "$VER $T target still answers after gcore" ping_target
		stop_target
		gdb_cmds $GS
		eval "rungdb gcore '$BIN' '$TDIR/gcore' -x '$PLUGIN' -ex 'fp summary --json' $GDBCMDS \
			-ex 'fp bt all --unwinder both --json --output $TDIR/p.btall.json' -ex 'fp bt g999999'"
		for g in $GS; do
			same "$VER $T gcore bt g$g = live CLI" bt-pcfn "$TDIR/p.bt$g.json" "$TDIR/c.bt$g.json"
		done
		same "$VER $T gcore goroutines = live CLI" goroutines "$TDIR/p.goroutines.json" "$TDIR/c.goroutines.json"
		same "$VER $T gcore threads = live CLI" threads "$TDIR/p.threads.json" "$TDIR/c.threads.json" "$TDIR/p.goroutines.json" "$TDIR/c.goroutines.json"
		check "$VER $T gcore: fp bt g999999 is a GDB error" grep -q "no goroutine 999999" "$TDIR/gcore.err"
		# and equal to `fpinspect core` on the same core, command by command
		"$FPI" core "$TDIR/gcore" "$BIN" --json threads >"$TDIR/c.threads.json"
		"$FPI" core "$TDIR/gcore" "$BIN" --json goroutines >"$TDIR/c.goroutines.json"
		"$FPI" core "$TDIR/gcore" "$BIN" --json check >"$TDIR/c.check.json"
		"$FPI" core "$TDIR/gcore" "$BIN" --json bt all --unwinder both >"$TDIR/c.btall.json"
		for w in threads goroutines check; do
			same "$VER $T gcore $w = CLI core" $w "$TDIR/p.$w.json" "$TDIR/c.$w.json" "$TDIR/p.goroutines.json" "$TDIR/c.goroutines.json"
		done
		same "$VER $T gcore bt all (both unwinders) = CLI core" bt "$TDIR/p.btall.json" "$TDIR/c.btall.json"
		rm -f "$TDIR/gcore"

		# (3) a core the kernel wrote
		KDIR="$TDIR/kcore"
		rm -rf "$KDIR"; mkdir -p "$KDIR"
		case "$core_pattern" in
		"" | "|"* | */*) kernel=no ;;
		*) kernel=yes ;;
		esac
		what="kernel core"
		if [ $kernel = yes ]; then
			start_target sh -c 'ulimit -c unlimited 2>/dev/null; cd "$1" || exit 1; shift; GOTRACEBACK=crash exec "$@"' \
				sh "$KDIR" "$BIN" $ARGS
			kill -ABRT "$TPID"
			wait "$TPID" 2>/dev/null
			exec 8>&-
			CORE=$(ls "$KDIR"/core* 2>/dev/null | head -1)
			if [ -z "$CORE" ]; then
				echo "note: no core from the kernel here (core_pattern '$core_pattern', ulimit -c $(ulimit -c)): using gcore"
				kernel=no
			fi
		else
			echo "note: core_pattern '$core_pattern' gives no core file here: using gcore"
		fi
		if [ $kernel = no ]; then
			what="gcore (for a kernel core)"
			start_target "$BIN" $ARGS
			timeout 600 gdb -nx -batch -p "$TPID" -ex "gcore $KDIR/core" >"$TDIR/gcore.log" 2>&1
			sparse "$KDIR/core"
			stop_target
			CORE="$KDIR/core"
		fi
		rungdb kcore "$BIN" "$CORE" -x "$PLUGIN" -ex "fp goroutines --json --output $TDIR/p.goroutines.json" \
			-ex "fp goroutines"
		"$FPI" core "$CORE" "$BIN" --json goroutines >"$TDIR/c.goroutines.json"
		same "$VER $T $what: goroutines = CLI core" goroutines "$TDIR/p.goroutines.json" "$TDIR/c.goroutines.json"
		out=$(python3 - "$TOUT" "$TDIR/p.goroutines.json" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().split("\n")
gs = {g["goid"] for g in json.load(open(sys.argv[2]))["goroutines"]}
mine = {int(l.split()[1]) for l in lines if l.startswith("G ")}
missing = sorted(mine - gs)
print("missing %s" % missing if missing else "ok %d of the program's goroutines among %d" % (len(mine), len(gs)))
PY
)
		echo "$out"
		check "$VER $T $what: the program's goroutines listed" test "${out#ok}" != "$out"
		check "$VER $T $what: text output" grep -q "goroutines\$" "$TDIR/kcore.out"
		rm -rf "$KDIR"
	done
done
finish
