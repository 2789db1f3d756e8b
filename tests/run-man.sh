#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# fpinspect(1) renders without a groff warning and names every command and
# option `fpinspect --help` lists, and every session command
# (fpi_command_names: the ones `help COMMAND` explains), so it cannot go stale.
. "$(dirname "$0")/lib.sh"
MAN="$top_builddir/doc/fpinspect.1"
command -v groff >/dev/null 2>&1 || skip_or_fail "groff not installed (setup.sh installs groff-base)"
[ -f "$MAN" ] || skip_or_fail "$MAN not built (make builds it)"

groff -man -Tascii -ww -z "$MAN" 2>"$TDIR/warn"
check_eq "groff -man -ww: exit status" "$?" 0
check "groff -man -ww: no warning (got: $(head -c 300 "$TDIR/warn"))" test ! -s "$TDIR/warn"
# the same page installed under a deep prefix (make distcheck's is
# /.../fpinspect-0.1.0/_inst/share/...): long paths must not make warnings
deep=/a/very/deep/build/directory/of/some/ci/machine/fpinspect-0.1.0/_inst/share
sed -e "s|@PACKAGE_VERSION[@]|0|g" -e "s|@pkgdatadir[@]|$deep/fpinspect|g" \
	-e "s|@docdir[@]|$deep/doc/fpinspect|g" "$top_srcdir/doc/fpinspect.1.in" >"$TDIR/deep.1"
groff -man -Tascii -ww -z "$TDIR/deep.1" 2>"$TDIR/warn"
check "groff -man -ww, deep prefix: no warning (got: $(head -c 300 "$TDIR/warn"))" test ! -s "$TDIR/warn"
# plain text, one long line per paragraph (no breaks or hyphens inside words)
groff -man -Tascii -P-cbou -rLL=1000n "$MAN" 2>/dev/null >"$TDIR/man.txt"

"$FPI" --help >"$TDIR/help"
# each command (top level, then session) and option is an entry of its own:
# a line of the text starts with it
cmds=$(sed -n 's/^ *\(usage: \)\{0,1\}fpinspect \([a-z]*\).*/\2/p' "$TDIR/help"
	awk '/^commands:/ { c = 1; next } /^$/ { c = 0 } c && /^  [a-z]/ { print $1 }' "$TDIR/help"
	awk '/^options:/ { c = 1; next } /^$/ { c = 0 } c && /^  -/ { print $1 }' "$TDIR/help")
# the session commands the prompt takes: each has its own help text
for w in summary threads goroutines bt check dump profile help quit exit frobnicate; do
	if [ "$("$FPI" help "$w")" != "$(cat "$TDIR/help")" ]; then
		cmds="$cmds $w"
	fi
done
# every other option and value --help names: somewhere
words=$(grep -o -- '--[a-z][a-z-]*' "$TDIR/help"
	grep -o -- '--unwinder [a-z|]*' "$TDIR/help" | sed 's/.* //' | tr '|' '\n')
check "--help lists commands (got: $(echo $cmds))" test "$(printf "%s\n" $cmds | sort -u | wc -l)" -ge 12
for w in $(printf "%s\n" $cmds | sort -u); do
	check "man page has an entry '$w'" grep -q -- "^ *$w\( \|$\)" "$TDIR/man.txt"
done
for w in $(printf "%s\n" $words | sort -u); do
	check "man page names '$w'" grep -q -- "\(^\|[^a-z-]\)$w\([^a-z-]\|$\)" "$TDIR/man.txt"
done
for s in "EXIT STATUS" ENVIRONMENT FILES "SEE ALSO" "~/.fpinspect_history" README.md fpplugin; do
	check "man page has $s" grep -q -- "$s" "$TDIR/man.txt"
done
finish
