#!/bin/sh
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
finish
