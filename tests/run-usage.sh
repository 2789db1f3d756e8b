#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Command-line contract: help, usage errors exit 2 with a message on stderr.
. "$(dirname "$0")/lib.sh"

expect_fail() {
	# expect_fail DESC PATTERN ARGS...: exit status 2 and PATTERN on stderr
	_d=$1 _p=$2; shift 2
	"$FPI" "$@" >"$TDIR/o" 2>"$TDIR/e" </dev/null
	check_eq "$_d: exit status" "$?" 2
	check "$_d: message '$_p'" grep -q -- "$_p" "$TDIR/e"
}

"$FPI" --help >"$TDIR/h"
check_eq "--help exit status" "$?" 0
for w in attach core demo summary threads goroutines bt check; do
	check "--help mentions $w" grep -q "$w" "$TDIR/h"
done
check "--version" sh -c "'$FPI' --version | grep -q '^fpinspect '"
expect_fail "no arguments" "missing command"
expect_fail "unknown subcommand" "unknown command 'frobnicate'" frobnicate
expect_fail "attach without PID" "missing PID" attach
expect_fail "attach with a word" "'abc' is not a process id" attach abc
expect_fail "attach with negative" "is not a process id" attach -5
expect_fail "attach unknown command" "unknown command 'bogus'" attach 1 bogus
expect_fail "core without file" "missing CORE" core

# every session command takes --help (no process needed: none is attached)
# and refuses options it does not know, naming them
for c in summary threads goroutines bt check dump profile help; do
	"$FPI" attach 1 $c --help >"$TDIR/o" 2>"$TDIR/e" </dev/null
	check_eq "$c --help: exit status" "$?" 0
	check "$c --help: prints its usage" grep -q "^usage: $c" "$TDIR/o"
	check "$c --help: nothing on stderr" test ! -s "$TDIR/e"
done
"$FPI" attach 1 goroutines --help >"$TDIR/o" 2>&1
check "goroutines --help: help, not a list" grep -q "One row per goroutine" "$TDIR/o"
"$FPI" core /nonexistent.core goroutines --help >"$TDIR/o" 2>&1
check_eq "core CORE goroutines --help: exit status" "$?" 0
check "core CORE goroutines --help: the help" grep -q "One row per goroutine" "$TDIR/o"
for c in summary threads goroutines; do
	expect_fail "$c --frob" "$c: unknown option '--frob'" attach 1 $c --frob
done
expect_fail "bt unknown option" "bt: unknown option '--frob'" attach 1 bt all --frob
expect_fail "check unknown option" "check: unknown option '--frob'" attach 1 check --frob
# help: every command listed with a whole line, not a sentence cut short
"$FPI" attach 1 help >"$TDIR/h" 2>&1
check_eq "help: exit status" "$?" 0
for c in summary threads goroutines bt check dump profile help quit; do
	check "help lists $c" grep -q "^  $c" "$TDIR/h"
done
check "help: threads' line not cut mid-sentence" grep -q "^  threads .*cgo state\$" "$TDIR/h"
finish
