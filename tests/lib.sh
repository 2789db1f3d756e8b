# SPDX-License-Identifier: GPL-3.0-or-later
# Shared helpers for the shell tests (sourced). Exit codes follow automake:
# 0 pass, 1 fail, 77 skip, 99 hard error. Under CI=true a test that lacks
# ptrace, Go or GDB fails instead of skipping: CI must run them all.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
FPI="$top_builddir/fpinspect"
TDIR=$(mktemp -d "${TMPDIR:-/tmp}/fpi-test.XXXXXX")
NFAIL=0
NCHECK=0
_PIDS=""

cleanup() {
	for p in $_PIDS; do
		kill -CONT "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$TDIR"
}
trap cleanup EXIT

skip_or_fail() {
	if [ "${CI:-}" = "true" ]; then
		echo "FAIL (CI=true forbids skipping): $*"
		exit 99
	fi
	echo "SKIP: $*"
	exit 77
}

need_go() { command -v go >/dev/null 2>&1 || skip_or_fail "no Go toolchain in PATH"; }
need_gdb() { command -v gdb >/dev/null 2>&1 || skip_or_fail "gdb not installed"; }
# need_lldb: $LLDB, the LLDB to use: lldb-16 (setup.sh installs it;
# bookworm's lldb 14 has a Python that fails to import), else lldb
need_lldb() {
	LLDB=$(command -v lldb-16 || command -v lldb) || skip_or_fail "lldb not installed (setup.sh installs lldb-16)"
	"$LLDB" -b -o 'script import lldb' >/dev/null 2>&1 || skip_or_fail "$LLDB has no working Python"
}
# need_lldb_server: $LLDB_SERVER, the gdb-remote stub of $LLDB's version
# (lldb-16 ships lldb-server-16)
need_lldb_server() {
	LLDB_SERVER=$(command -v "lldb-server${LLDB##*lldb}") || LLDB_SERVER=$(command -v lldb-server) ||
		skip_or_fail "lldb-server not installed (setup.sh installs lldb-16, which has it)"
}
need_python() { command -v python3 >/dev/null 2>&1 || skip_or_fail "python3 not installed"; }
need_ptrace() {
	# a throwaway child of our own: can we seize it?
	sleep 30 &
	_p=$!
	if ! "$FPI" attach "$_p" summary >/dev/null 2>"$TDIR/ptrace.err"; then
		if grep -q "not permitted" "$TDIR/ptrace.err"; then
			kill "$_p"; wait "$_p" 2>/dev/null
			skip_or_fail "ptrace not permitted here: $(cat "$TDIR/ptrace.err")"
		fi
	fi
	kill "$_p" 2>/dev/null; wait "$_p" 2>/dev/null
	return 0
}

# Every Go toolchain the tests build targets with: the one in PATH,
# Debian's Go 1.19 (the oldest layout: no isextra/isExtraInC), and from the
# Go module proxy (GOTOOLCHAIN downloads them once into the module cache)
# Go 1.21 and 1.23, the versions with isExtraInC left set after nested cgo
# callbacks (golang/go#72870) and the layouts between, and 1.27, the newest
# release. FPI_GO_EXTRA="" to leave those out.
FPI_GO_EXTRA=${FPI_GO_EXTRA-go1.21.13 go1.23.12 go1.27.3}
go_toolchains() {
	command -v go
	if [ -x /usr/lib/go-1.19/bin/go ]; then
		echo /usr/lib/go-1.19/bin/go
	elif [ "${CI:-}" = "true" ]; then
		echo "FAIL: /usr/lib/go-1.19/bin/go missing (setup.sh installs golang-1.19-go)" >&2
		exit 99
	fi
	for _v in $FPI_GO_EXTRA; do
		_root=$(GOTOOLCHAIN=$_v GOFLAGS= go env GOROOT 2>"$TDIR/toolchain.err")
		# a go in PATH older than 1.21 ignores GOTOOLCHAIN and names itself
		if [ -x "$_root/bin/go" ] && [ "$(GOTOOLCHAIN=local "$_root/bin/go" env GOVERSION)" = "$_v" ]; then
			echo "$_root/bin/go"
		elif [ "${CI:-}" = "true" ]; then
			echo "FAIL: $_v not available from the Go module proxy: $(tail -1 "$TDIR/toolchain.err")" >&2
			exit 99
		else
			echo "note: $_v not available (GOTOOLCHAIN=$_v go env GOROOT: $(tail -1 "$TDIR/toolchain.err")); not tested with it" >&2
		fi
	done
}

go_version_of() { "$1" env GOVERSION; }

# go_bug_72870 GO: true when GO's runtime leaves isExtraInC set after a
# nested cgo callback returns (golang/go#72870: Go 1.21 up to the fix, which
# 1.25 has and later 1.23/1.24 point releases got). Read from the
# toolchain's own cgocallbackg: it has the flag but not the fix's
# "isextra && ncgo == 0" condition.
go_bug_72870() {
	_cg="$("$1" env GOROOT)/src/runtime/cgocall.go"
	grep -q 'isExtraInC = true' "$_cg" && ! grep -q 'isextra && gp.m.ncgo == 0' "$_cg"
}

# build_with NAME GO SUFFIX [FLAGS...]: tests/targets/NAME built with GO and
# FLAGS into tests/build/<version>/NAME-SUFFIX (NAME for an empty SUFFIX),
# cached while newer than its sources. Prints the binary's path.
build_with() {
	_name=$1 _go=$2 _suf=$3; shift 3
	_out="$top_builddir/tests/build/$(go_version_of "$_go")/$_name${_suf:+-$_suf}"
	_src="$top_srcdir/tests/targets/$_name"
	mkdir -p "$(dirname "$_out")"
	if [ ! -x "$_out" ] || [ -n "$(find "$_src" -newer "$_out" -type f 2>/dev/null | head -1)" ]; then
		# built aside and renamed: a test never runs half a binary
		(cd "$_src" && GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=1 "$_go" build "$@" -o "$_out.tmp$$" . &&
			mv "$_out.tmp$$" "$_out") >&2 || {
			echo "FAIL: building $_name${_suf:+ ($_suf)} with $_go" >&2
			exit 99
		}
	fi
	echo "$_out"
}

# build_target NAME GO [LDFLAGS]: build_with, -ldflags=LDFLAGS ("-s -w"
# makes NAME-s-w)
build_target() {
	if [ -n "${3:-}" ]; then
		build_with "$1" "$2" "$(echo "$3" | tr -d ' =' | sed 's/^-//')" -ldflags="$3"
	else
		build_with "$1" "$2" ""
	fi
}

# set_go_version BIN OLD NEW OUT: BIN with the Go version in .go.buildinfo
# changed from OLD to NEW (the same length): a release fpinspect has no
# layout for, without building one
set_go_version() {
	python3 -c '
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.index(b"\xff Go buildinf:")
j = b.index(sys.argv[2].encode(), i)
b[j:j + len(sys.argv[3])] = sys.argv[3].encode()
open(sys.argv[4], "wb").write(b)' "$1" "$2" "$3" "$4" && chmod +x "$4"
}

# start_target BIN [ARGS...]: run BIN with stdin on a fifo we hold open and
# stdout in $TDIR; wait for READY. Sets TPID, TOUT, TIN (fd 8 writes stdin).
start_target() {
	_NT=$((${_NT:-0} + 1))
	TOUT="$TDIR/out.$_NT"
	TIN="$TDIR/in.$_NT"
	mkfifo "$TIN"
	"$@" <"$TIN" >"$TOUT" 2>"$TOUT.err" &
	TPID=$!
	_PIDS="$_PIDS $TPID"
	exec 8>"$TIN"
	_i=0
	while ! grep -q '^READY' "$TOUT" 2>/dev/null; do
		_i=$((_i + 1))
		if [ $_i -gt 1200 ] || ! kill -0 "$TPID" 2>/dev/null; then
			echo "FAIL: target $* did not get ready"; cat "$TOUT" "$TOUT.err" | tail -20
			exit 99
		fi
		sleep 0.1
	done
}

# ask_target REQUEST REPLY: send REQUEST on the target's stdin and wait (5 s
# at most) for a new line starting with REPLY; print it.
ask_target() {
	_before=$(grep -c "^$2" "$TOUT")
	echo "$1" >&8
	_i=0
	while [ "$(grep -c "^$2" "$TOUT")" -le "$_before" ]; do
		_i=$((_i + 1))
		[ $_i -gt 100 ] && return 1
		sleep 0.05
	done
	grep "^$2" "$TOUT" | tail -1
}

# ping_target: the target answers "pong N" to "ping": it still works.
ping_target() { ask_target ping pong >/dev/null; }

stop_target() {
	exec 8>&-
	wait "$TPID" 2>/dev/null
}

# Threads of PID in a ptrace or job-control stop ("t" or "T")
stopped_threads() {
	for _s in /proc/$1/task/*/stat; do
		sed 's/.*) //' "$_s" 2>/dev/null | cut -d' ' -f1
	done | grep -c '[tT]' || true
}

# sparse FILE: a gcore core holds the Go runtime's PROT_NONE reservations
# as written zeros (1.2-1.8 GB for a program of a few MB; the kernel's own
# cores leave them out): punched out at once (0.7 s), so that two tests at
# a time writing cores do not fill a small disk
sparse() { fallocate -d "$1" 2>/dev/null || :; }

check() {
	# check DESCRIPTION COMMAND...: count and report
	_desc=$1; shift
	NCHECK=$((NCHECK + 1))
	if "$@"; then
		:
	else
		NFAIL=$((NFAIL + 1))
		echo "FAIL: $_desc"
	fi
}

check_eq() {
	# check_eq DESCRIPTION GOT WANT: count and report; status 1 when they differ
	NCHECK=$((NCHECK + 1))
	if [ "$2" != "$3" ]; then
		NFAIL=$((NFAIL + 1))
		echo "FAIL: $1: got '$2', want '$3'"
		return 1
	fi
}

finish() {
	echo "$(basename "$0"): $NCHECK checks, $NFAIL failed"
	[ $NFAIL -eq 0 ]
	exit $?
}

# py EXPR-SCRIPT FILE: run python3 with the JSON document in FILE as `d`
jq_py() {
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $2" "$1"
}

# ---- the debugger plugins' tests (run-gdb.sh, run-lldb.sh) ----

# same DESC MODE PLUGIN.json CLI.json [MORE.json...]: the plugin's JSON
# equals the CLI's (tests/plugin_cmp.py says how, per MODE)
same() {
	if [ ! -s "$3" ] || [ ! -s "$4" ]; then
		check_eq "$1: both answered" "$([ -s "$3" ] && echo y || echo n)$([ -s "$4" ] && echo y || echo n)" yy
		return
	fi
	_d=$1; shift
	_o=$(python3 "$top_srcdir/tests/plugin_cmp.py" "$@" 2>&1)
	case "$_o" in ok*) echo "$_d: $_o" ;; *) echo "$_o" ;; esac
	check "$_d (${_o%%
*})" test "${_o#ok}" != "$_o"
}

# goids GLINE-KINDS...: one goid of each kind from the target's G lines, and main's
goids() {
	for _k in "$@"; do
		grep "^G [0-9]* $_k\$" "$TOUT" | head -1 | cut -d' ' -f2
	done
	grep '^M maingoid ' "$TOUT" | cut -d' ' -f3
}

# start_plugin_target T BIN: the plugin tests' targets (T states or cgo)
# started parked; ARGS their arguments, GS one goid of each kind
start_plugin_target() {
	if [ "$1" = states ]; then
		ARGS="-n 50 -running 0 -syscall 1"
		start_target "$2" $ARGS
		GS=$(goids chanrecv chansend select sleep mutex cond wg syscall)
	else
		ARGS=""
		start_target "$2"
		GS=$(goids callback cgocall nested)
	fi
	GS=$(echo $GS)
}

# same_live DESC GOIDS: the plugin's JSON of the live $TPID ($TDIR/p.*.json:
# summary, threads, goroutines, check, btGOID) against the CLI's, now
same_live() {
	"$FPI" attach "$TPID" --json summary >"$TDIR/c.summary.json"
	"$FPI" attach "$TPID" --json threads >"$TDIR/c.threads.json"
	"$FPI" attach "$TPID" --json goroutines >"$TDIR/c.goroutines.json"
	"$FPI" attach "$TPID" --json check >"$TDIR/c.check.json"
	for _g in $2; do
		"$FPI" attach "$TPID" --json bt "g$_g" >"$TDIR/c.bt$_g.json"
	done
	same "$1 live summary = CLI" summary-live "$TDIR/p.summary.json" "$TDIR/c.summary.json"
	check_eq "$1 live summary pid" "$(jq_py "$TDIR/p.summary.json" 'print(d["pid"])')" "$TPID"
	for _w in threads goroutines check; do
		_m=$_w; [ $_w = check ] && _m=check-live
		same "$1 live $_w = CLI" $_m "$TDIR/p.$_w.json" "$TDIR/c.$_w.json" "$TDIR/p.goroutines.json" \
			"$TDIR/c.goroutines.json" live
	done
	for _g in $2; do
		same "$1 live bt g$_g = CLI" bt "$TDIR/p.bt$_g.json" "$TDIR/c.bt$_g.json"
	done
}
