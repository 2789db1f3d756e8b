#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# completion/fpinspect.bash: sourced in bash, the completion function is
# called with COMP_WORDS/COMP_CWORD as bash would set them at a TAB, and
# what it offers is compared with what fpinspect takes (--help).
. "$(dirname "$0")/lib.sh"
command -v bash >/dev/null 2>&1 || skip_or_fail "bash not installed"
COMPLETION="$top_srcdir/completion/fpinspect.bash"

# complete WORD... (the last is the one being completed): the offers,
# sorted, on one line
complete_words() {
	bash -c '. "$1" || exit 99; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_fpinspect; printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " " | sed "s/ $//"' \
		sh "$COMPLETION" "$@"
}
want() {
	# want WORD... = OFFER...: completing the last WORD offers exactly OFFERs
	_w=""
	while [ "$1" != "=" ]; do
		_w="$_w${_w:+ }'$1'"
		shift
	done
	shift
	check_eq "$_w<TAB>" "$(eval complete_words "$_w")" "$(printf '%s\n' "$@" | sort | tr '\n' ' ' | sed 's/ $//')"
}

"$FPI" --help >"$TDIR/help"
session=$(awk '/^commands:/ { c = 1; next } /^$/ { c = 0 } c && /^  [a-z]/ { print $1 }' "$TDIR/help")
check "--help lists session commands" test -n "$session"

check_eq "fpinspect at<TAB>" "$(complete_words fpinspect at)" attach
want fpinspect "" = attach core layout demo help --help --version
want fpinspect --v = --version
want fpinspect help "" = $session
want fpinspect core c.core exe bt --unwinder "" = fp dwarf go both all
want fpinspect attach 1 bt g1 --unwinder d = dwarf
want fpinspect attach 1 bt "" = all g
want fpinspect attach 1 bt g1 "" = --unwinder --json --stats --debug-file --layout
want fpinspect attach 1 "" = $session --json --stats --debug-file --layout
want fpinspect attach 1 --json "" = $session --json --stats --debug-file --layout
want fpinspect attach 1 g = goroutines
want fpinspect core c.core exe "" = $session --json --stats --debug-file --layout
want fpinspect attach 1 check -- = --stacks --json --stats --debug-file --layout
want fpinspect attach 1 goroutines -- = --group --filter --status --json --stats --debug-file --layout
want fpinspect attach 1 goroutines --status "" =
want fpinspect attach 1 summary -- = --json --stats --debug-file --layout
want fpinspect attach 1 help "" = $session quit
want fpinspect demo "" =
want fpinspect layout "" = --from -o --help
want fpinspect attach 1 --layout x.layout "" = $session --json --stats --debug-file --layout

# attach: process ids, one of them ours
sleep 30 &
SPID=$!
_PIDS="$_PIDS $SPID"
# shellcheck disable=SC2046
set -- $(complete_words fpinspect attach "")
check "attach <TAB> offers process ids ($# of them)" test $# -ge 2
check "attach <TAB> offers only numbers" sh -c "! printf '%s\n' $* | grep -q '[^0-9]'"
check "attach <TAB> offers $SPID (a process of ours)" sh -c "printf '%s\n' $* | grep -qx $SPID"
check "attach ${SPID%?}<TAB> offers $SPID" sh -c "printf '%s\n' $(complete_words fpinspect attach "${SPID%?}") | grep -qx $SPID"

# core: files, then files and session commands
mkdir "$TDIR/cores" && : >"$TDIR/cores/a.core" && : >"$TDIR/cores/b.core"
want fpinspect core $TDIR/cores/ = "$TDIR/cores/a.core" "$TDIR/cores/b.core"
want fpinspect core $TDIR/cores/a.core $TDIR/cores/b = "$TDIR/cores/b.core"
want fpinspect core $TDIR/cores/a.core su = summary
finish
