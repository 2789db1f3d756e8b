#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Binaries without DWARF (-ldflags=-w, -ldflags="-s -w", stripped) and the
# layouts they are read with:
# 1. every shipped layouts/goVERSION-ARCH.layout equals what `fpinspect
#    layout --from` makes from a fresh DWARF build of that toolchain
#    (amd64 and arm64; tests/targets/layout, the smallest program: the
#    layout is the runtime's, whatever the program), and --from writes
#    under $XDG_CACHE_HOME/fpinspect/;
# 2. -w and "-s -w" builds of every toolchain read with the shipped layout:
#    summary names it, the goroutines are runtime.NumGoroutine()'s, check is
#    clean, dump equals the runtime's own runtime.Stack(all) (tests/dumpcmp.py:
#    headers, functions, file:line, +0xoff, created by); a core of one too;
# 3. another patch release's layout: used once the process validates against
#    it, and said so; refused when it does not fit, or is another minor's;
#    a PIE with DWARF, placed by its load bias;
# 4. separate debug files: .gnu_debuglink, the build-ID path, --debug-file,
#    and another build's debug file (types only: globals from the binary);
# 5. bad input: exit 2 and a message saying what to do.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace; need_python; need_gdb; need_lldb
FPINSPECT_LIB=${FPINSPECT_LIB:-$top_builddir/.libs/libfpinspect.so}
export FPINSPECT_LIB
command -v objcopy >/dev/null 2>&1 || skip_or_fail "objcopy (binutils) not installed"

LAYOUTS="$top_srcdir/layouts"
CMP="$top_srcdir/tests/dumpcmp.py"
# nothing the user made: the shipped layouts serve
XDG_CACHE_HOME="$TDIR/cache"
export XDG_CACHE_HOME
unset FPINSPECT_DEBUG_FILE_DIRECTORY

# read_stripped VER LABEL [FPI OPTIONS...]: $TPID is a states -n 14 -depth 3
# -running 0 with GOTRACEBACK=all; summary, goroutines, check and dump of
# it, dump against the runtime's. $TDIR/sum.txt keeps the summary.
read_stripped() {
	_v=$1 _l=$2; shift 2
	"$FPI" attach "$TPID" "$@" summary >"$TDIR/sum.txt" 2>"$TDIR/sum.err"
	_rc=$?
	check_eq "$_v $_l: summary exit (stderr: $(head -c 300 "$TDIR/sum.err"))" "$_rc" 0
	"$FPI" attach "$TPID" "$@" check >"$TDIR/check.txt" 2>&1
	_rc=$?
	# golang/go#72870 on a runtime that has it: its finding, and only that
	if [ "${BUG_72870:-}" = y ] && [ $_rc = 1 ] && grep -q '^error *extra-in-c-with-go-frames' "$TDIR/check.txt" &&
		! grep '^error\|^warning' "$TDIR/check.txt" | grep -vq '^error *extra-in-c-with-go-frames'; then
		_rc=0
		echo "$_v $_l: check finds golang/go#72870 (isExtraInC left set), as this runtime has it"
	else
		check "$_v $_l: check has no error or warning" grep -q ": 0 errors, 0 warnings" "$TDIR/check.txt"
	fi
	check_eq "$_v $_l: check exit ($(tail -1 "$TDIR/check.txt"))" "$_rc" 0
	"$FPI" attach "$TPID" "$@" dump >"$TDIR/dump.txt"
	check_eq "$_v $_l: dump exit" "$?" 0
	check_eq "$_v $_l: dump has runtime.NumGoroutine() goroutines" "$(grep -c '^goroutine ' "$TDIR/dump.txt")" \
		"$(grep '^M numgoroutine ' "$TOUT" | cut -d' ' -f3)"
	check "$_v $_l: runtime.Stack(all)" ask_target stacks "STACKS END" >/dev/null
	# the last answer only (a target may be asked twice)
	awk '/^STACKS BEGIN$/ { n = 0; on = 1; next } /^STACKS END$/ { on = 0 } on { b[n++] = $0 }
		END { for (i = 0; i < n; i++) print b[i] }' "$TOUT" >"$TDIR/stack.txt"
	python3 "$CMP" --skip-first "$TDIR/stack.txt" "$TDIR/dump.txt" >"$TDIR/cmp.out"
	_rc=$?
	sed "s/^/$_v $_l: /" "$TDIR/cmp.out" | tail -20
	check_eq "$_v $_l: dump equals the runtime's" "$_rc" 0
	check "$_v $_l: compared frames" grep -q "dumpcmp: [1-9][0-9]* goroutines, [1-9][0-9]* frames" "$TDIR/cmp.out"
}

GO1=$(command -v go)
VER1=$(go_version_of "$GO1")
for GO in $(go_toolchains); do
	VER=$(go_version_of "$GO")
	echo "== $VER"
	# 1. the shipped layouts are what fpinspect makes
	# arm64: the releases the arm64 tests use (their runtime is compiled by then)
	ARCHS=amd64
	[ -f "$LAYOUTS/$VER-arm64.layout" ] && ARCHS="amd64 arm64"
	for ARCH in $ARCHS; do
		(cd "$top_srcdir/tests/targets/layout" &&
			GOFLAGS=-mod=mod GOTOOLCHAIN=local GOARCH=$ARCH CGO_ENABLED=0 "$GO" build -o "$TDIR/st.$ARCH" .) ||
			check "$VER $ARCH: build" false
		"$FPI" layout --from "$TDIR/st.$ARCH" -o "$TDIR/made.layout" >"$TDIR/made.out"
		check_eq "$VER $ARCH: layout --from exit" "$?" 0
		check_eq "$VER $ARCH: layout --from prints the path" "$(cat "$TDIR/made.out")" "$TDIR/made.layout"
		check "$VER $ARCH: layouts/$VER-$ARCH.layout equals a fresh build's ($(diff "$LAYOUTS/$VER-$ARCH.layout" \
			"$TDIR/made.layout" 2>&1 | head -4 | tr '\n' ' '))" cmp -s "$LAYOUTS/$VER-$ARCH.layout" "$TDIR/made.layout"
	done
	_p=$("$FPI" layout --from "$(build_target layout "$GO")")
	check_eq "$VER: layout --from writes under \$XDG_CACHE_HOME" "$_p" "$XDG_CACHE_HOME/fpinspect/$VER-amd64.layout"
	check "$VER: the cached layout is the shipped one" cmp -s "$_p" "$LAYOUTS/$VER-amd64.layout"
	rm -f "$_p"

	# 2. without DWARF, without a symbol table; the cgo program too, and
	# the DWARF build run through strip(1)
	# (the cgo program and strip(1) with the go in PATH and the oldest, 1.19)
	KINDS='"-w" "-s -w"'
	case $VER in "$VER1" | go1.19*) KINDS="$KINDS \"cgo -s -w\" strip" ;; esac
	eval "set -- $KINDS"
	for LDF in "$@"; do
		case $LDF in
		cgo*) BIN=$(build_target cgo "$GO" "-s -w"); ARGS="-mode basic"
			BUG_72870=n; go_bug_72870 "$GO" && BUG_72870=y ;;
		strip) BUG_72870=n; BIN="$TDIR/stripped"; strip -o "$BIN" "$(build_target states "$GO")"; ARGS="-n 14 -depth 3 -running 0" ;;
		*) BUG_72870=n; BIN=$(build_target states "$GO" "$LDF"); ARGS="-n 14 -depth 3 -running 0" ;;
		esac
		check "$VER $LDF: no DWARF in the binary" sh -c "! readelf -S '$BIN' | grep -q '\.debug_info'"
		# shellcheck disable=SC2086
		start_target env GOTRACEBACK=all "$BIN" $ARGS
		read_stripped "$VER" "$LDF"
		check "$VER $LDF: summary names the shipped layout ($(grep '^layout:' "$TDIR/sum.txt"))" \
			grep -q "^layout: *layout file $LAYOUTS/$VER-amd64.layout" "$TDIR/sum.txt"
		if [ "$LDF" = "-w" ]; then
			check "$VER -w: globals from the symbol table" grep -q "globals from the symbol table" "$TDIR/sum.txt"
		else
			check "$VER $LDF: globals from the machine code" grep -q "globals from the machine code" "$TDIR/sum.txt"
		fi
		"$FPI" attach "$TPID" bt all --unwinder both >"$TDIR/bt.txt"
		check_eq "$VER $LDF: bt all --unwinder both exit" "$?" 0
		[ "${LDF#cgo}" = "$LDF" ] && check "$VER $LDF: bt compares fp with go ($(grep -c 'fp and go agree' "$TDIR/bt.txt") agree)" \
			sh -c "grep -q 'fp and go agree' '$TDIR/bt.txt' && ! grep -q 'part at frame' '$TDIR/bt.txt'"
		if [ "$VER" = "$VER1" ] && [ "$LDF" = "-s -w" ]; then
			# a core of it: the same goroutines as the live process
			gcore -o "$TDIR/core" "$TPID" >/dev/null 2>&1
			sparse "$TDIR/core.$TPID"
			"$FPI" core "$TDIR/core.$TPID" "$BIN" dump >"$TDIR/coredump.txt" 2>"$TDIR/core.err"
			_rc=$?
			check_eq "$VER -s -w core: dump exit ($(head -c 200 "$TDIR/core.err"))" "$_rc" 0
			check "$VER -s -w core: dump equals the live dump" cmp -s "$TDIR/coredump.txt" "$TDIR/dump.txt"
			# the executable damaged: pclntab's magic, 256 KiB of it garbled, the file cut short
			python3 - "$BIN" "$TDIR" <<'PY'
import random, subprocess, sys
b = open(sys.argv[1], "rb").read()
sh = subprocess.run(["readelf", "-SW", sys.argv[1]], capture_output=True, text=True).stdout
t = next(l.split() for l in sh.splitlines() if ".gopclntab" in l)
off = int(t[t.index("PROGBITS") + 2], 16)
random.seed(1)
for name, d in (("magic", b[:off] + bytes(8) + b[off + 8:]),
                ("garbled", b[:off + 4096] + bytes(random.randrange(256) for _ in range(1 << 18)) + b[off + 4096 + (1 << 18):]),
                ("truncated", b[:off + 65536])):
    open("%s/dmg.%s" % (sys.argv[2], name), "wb").write(d)
PY
			for _d in magic garbled truncated; do
				"$FPI" core "$TDIR/core.$TPID" "$TDIR/dmg.$_d" summary >/dev/null 2>"$TDIR/e.$_d"
				_rc=$?
				check_eq "pclntab $_d: exit 2 ($(cat "$TDIR/e.$_d"))" "$_rc" 2
			done
			check "pclntab magic: names it" grep -q "\.gopclntab: pclntab: bad magic 0" "$TDIR/e.magic"
			check "pclntab garbled: names what is missing" grep -q "not found .* in \.gopclntab\|pclntab" "$TDIR/e.garbled"
			check "truncated: says so" grep -q "is truncated .*give fpinspect the whole executable" "$TDIR/e.truncated"
			rm -f "$TDIR/core.$TPID" "$TDIR"/dmg.*
			STRIPPED=$BIN
			# the plugins over the same library: GDB and LLDB see the goroutines the CLI sees
			"$FPI" attach "$TPID" --json goroutines >"$TDIR/c.json"
			timeout 300 gdb -nx -batch -p "$TPID" -x "$top_srcdir/gdbplugin/fpplugin" \
				-ex "fp goroutines --json --output $TDIR/g.json" >"$TDIR/gdb.out" 2>&1
			same "$VER -s -w GDB plugin: the CLI's goroutines" goroutines "$TDIR/g.json" "$TDIR/c.json"
			timeout 300 "$LLDB" --no-lldbinit -b -p "$TPID" \
				-o "command script import $top_srcdir/gdbplugin/fpinspect_lldb.py" \
				-o "fp goroutines --json --output $TDIR/l.json" >"$TDIR/lldb.out" 2>&1
			same "$VER -s -w LLDB plugin: the CLI's goroutines" goroutines "$TDIR/l.json" "$TDIR/c.json"
		fi
		# and SIGQUIT's traceback (level system: runtime frames, fp= sp= pc=)
		"$FPI" attach "$TPID" dump --system >"$TDIR/dumpsys.txt"
		check_eq "$VER $LDF: dump --system exit" "$?" 0
		kill -QUIT "$TPID"
		wait "$TPID"
		exec 8>&-
		python3 "$CMP" --system "$TOUT.err" "$TDIR/dumpsys.txt" >"$TDIR/cmp.out"
		_rc=$?
		sed "s/^/$VER $LDF SIGQUIT: /" "$TDIR/cmp.out" | tail -20
		check_eq "$VER $LDF: dump --system equals the SIGQUIT traceback" "$_rc" 0
		check "$VER $LDF: SIGQUIT compared frames" grep -q "dumpcmp: [1-9][0-9]* goroutines, [1-9][0-9]* frames" "$TDIR/cmp.out"
	done
done

# the cache of DWARF layouts by build ID: written by the first attach, read
# by the next (nothing of DWARF loaded); an entry under another build's ID
# is not used, and is written anew
BIN=$(build_target states "$GO1")
start_target "$BIN" -n 14 -depth 3 -running 0
"$FPI" attach "$TPID" summary | grep -v "^stopped for" >"$TDIR/s1.txt"
_e=$(ls "$XDG_CACHE_HOME/fpinspect/build-id/"*.layout 2>/dev/null | head -1)
check "cache: an entry for the build ($_e)" test -s "$_e"
check "cache: it keeps the globals" grep -q "^global allgs 0x" "$_e"
FPI_TIMING=1 "$FPI" attach "$TPID" summary 2>"$TDIR/t2" | grep -v "^stopped for" >"$TDIR/s2.txt"
check "cache: the second summary is the first's" cmp -s "$TDIR/s1.txt" "$TDIR/s2.txt"
check "cache: the second attach loads in under 50 ms ($(grep load "$TDIR/t2"))" \
	awk '/timing: load/ { exit !($3 < 50) }' "$TDIR/t2"
sed 's/^buildid .*/buildid 0123456789abcdef0123456789abcdef01234567/' "$_e" >"$_e.x" && mv "$_e.x" "$_e"
"$FPI" attach "$TPID" summary | grep -v "^stopped for" >"$TDIR/s3.txt"
check "cache: an entry of another build is not used" cmp -s "$TDIR/s1.txt" "$TDIR/s3.txt"
check "cache: and is written anew" sh -c "! grep -q '^buildid 0123456789abcdef' '$_e'"
stop_target
rm -rf "$XDG_CACHE_HOME/fpinspect/build-id"

# a PIE with DWARF: DWARF's addresses are link-time ones, biased to where
# the kernel put it (from the DWARF load, then from the cache)
PIE=$(build_with states "$GO1" pie -buildmode=pie)
start_target env GOTRACEBACK=all "$PIE" -n 14 -depth 3 -running 0
read_stripped "$VER1" "PIE"
check "PIE: DWARF of the executable" grep -q "^layout: *DWARF of the executable\$" "$TDIR/sum.txt"
read_stripped "$VER1" "PIE, cached"
stop_target
rm -rf "$XDG_CACHE_HOME/fpinspect/build-id"

# 3. another patch release's layout (go in PATH)
MINOR=$(echo "$VER1" | sed 's/^go1\.\([0-9]*\).*/\1/')
OTHER="go1.$MINOR.0"
[ "$OTHER" = "$VER1" ] && OTHER="go1.$MINOR.1"
sed "s/^go $VER1\$/go $OTHER/" "$LAYOUTS/$VER1-amd64.layout" >"$TDIR/other.layout"
start_target env GOTRACEBACK=all "$STRIPPED" -n 14 -depth 3 -running 0
read_stripped "$VER1" "layout of $OTHER" --layout "$TDIR/other.layout"
check "$OTHER layout: summary says it was validated ($(grep '^layout:' "$TDIR/sum.txt"))" \
	grep -q "^layout: *layout file $TDIR/other.layout (made for $OTHER: validated against this process)" "$TDIR/sum.txt"
"$FPI" attach "$TPID" --layout "$TDIR/other.layout" --json summary >"$TDIR/sum.json"
check_eq "$OTHER layout: JSON layout" "$(jq_py "$TDIR/sum.json" 'l=d["layout"]; print(l["source"], l["made_for"], l["validated"])')" \
	"layout file $OTHER True"
# goid read from atomicstatus's word: duplicates, and statuses out of place
_st=$(sed -n 's/^field g atomicstatus \([0-9]*\) .*/\1/p' "$TDIR/other.layout")
sed "s/^field g goid .*/field g goid $_st 8/" "$TDIR/other.layout" >"$TDIR/bad.layout"
"$FPI" attach "$TPID" --layout "$TDIR/bad.layout" summary >/dev/null 2>"$TDIR/bad.err"
check_eq "a layout that does not fit: exit 2" "$?" 2
check "a layout that does not fit: says so ($(cat "$TDIR/bad.err"))" grep -q "does not fit this $VER1 process" "$TDIR/bad.err"
sed "s/^go $VER1\$/go go1.$((MINOR - 1)).3/" "$LAYOUTS/$VER1-amd64.layout" >"$TDIR/minor.layout"
"$FPI" attach "$TPID" --layout "$TDIR/minor.layout" summary >/dev/null 2>"$TDIR/minor.err"
check_eq "another minor's layout: exit 2" "$?" 2
check "another minor's layout: says why ($(cat "$TDIR/minor.err"))" grep -q "differ between minor releases" "$TDIR/minor.err"
check "the target still runs" ping_target
stop_target

# 4. separate debug files (go in PATH; -B gobuildid: a GNU build ID)
FULL="$TDIR/full"
cp "$(build_target states "$GO1" "-B gobuildid")" "$FULL"
objcopy --only-keep-debug "$FULL" "$FULL.debug"
objcopy --strip-all --add-gnu-debuglink="$FULL.debug" "$FULL" "$TDIR/linked"
objcopy --strip-all "$FULL" "$TDIR/bid"
BID=$(readelf -n "$FULL" | awk '/Build ID:/ { print $3; exit }')
check "the build has a GNU build ID" test -n "$BID"
mkdir -p "$TDIR/dbg/.build-id/$(echo "$BID" | cut -c1-2)"
cp "$FULL.debug" "$TDIR/dbg/.build-id/$(echo "$BID" | cut -c1-2)/$(echo "$BID" | cut -c3-).debug"
start_target env GOTRACEBACK=all "$TDIR/linked" -n 14 -depth 3 -running 0
read_stripped "$VER1" ".gnu_debuglink"
check "debuglink: summary names the debug file ($(grep '^layout:' "$TDIR/sum.txt"))" \
	grep -q "^layout: *DWARF of the debug file $FULL.debug\$" "$TDIR/sum.txt"
stop_target
start_target env GOTRACEBACK=all "$TDIR/bid" -n 14 -depth 3 -running 0
FPINSPECT_DEBUG_FILE_DIRECTORY="$TDIR/dbg" read_stripped "$VER1" "build-ID path"
check "build ID: summary names the debug file ($(grep '^layout:' "$TDIR/sum.txt"))" \
	grep -q "^layout: *DWARF of the debug file $TDIR/dbg/.build-id/.*\.debug\$" "$TDIR/sum.txt"
"$FPI" attach "$TPID" --debug-file "$FULL.debug" summary >"$TDIR/sum.txt"
check "--debug-file: summary names it ($(grep '^layout:' "$TDIR/sum.txt"))" \
	grep -q "^layout: *DWARF of the debug file $FULL.debug\$" "$TDIR/sum.txt"
# another build's DWARF: its types serve, its addresses are not this build's
"$FPI" attach "$TPID" --debug-file "$(build_target states "$GO1")" summary >"$TDIR/sum.txt" 2>&1
_rc=$?
check_eq "another build's debug file: exit ($(tail -1 "$TDIR/sum.txt"))" "$_rc" 0
check "another build's debug file: globals looked for ($(grep '^layout:' "$TDIR/sum.txt"))" \
	grep -q "^layout: *DWARF of the debug file .*; runtime globals from the machine code" "$TDIR/sum.txt"
"$FPI" attach "$TPID" --debug-file "$TDIR/nonexistent" summary >/dev/null 2>"$TDIR/e"
check_eq "--debug-file missing: exit 2" "$?" 2
check "--debug-file missing: says so ($(cat "$TDIR/e"))" grep -q "cannot open debug file $TDIR/nonexistent" "$TDIR/e"

# 5. bad input
"$FPI" attach "$TPID" --layout "$TDIR/nonexistent" summary >/dev/null 2>"$TDIR/e"
check_eq "--layout missing: exit 2" "$?" 2
check "--layout missing: says so ($(cat "$TDIR/e"))" grep -q "cannot open layout file" "$TDIR/e"
printf 'fpinspect-layout 1\ngo %s\ngoarch amd64\nsize g 10\nfield g goid 400 8\n' "$VER1" >"$TDIR/garbage.layout"
"$FPI" attach "$TPID" --layout "$TDIR/garbage.layout" summary >/dev/null 2>"$TDIR/e"
check_eq "--layout garbage: exit 2" "$?" 2
check "--layout garbage: names the line ($(cat "$TDIR/e"))" grep -q "garbage.layout, line 5: field outside its struct" "$TDIR/e"
head -c 3000 /dev/urandom >"$TDIR/random.layout"
"$FPI" attach "$TPID" --layout "$TDIR/random.layout" summary >/dev/null 2>"$TDIR/e"
check_eq "--layout random bytes: exit 2" "$?" 2
"$FPI" attach "$TPID" --layout >/dev/null 2>"$TDIR/e"
check_eq "--layout without FILE: exit 2" "$?" 2
check "the target still runs" ping_target
stop_target
"$FPI" layout >/dev/null 2>"$TDIR/e"
check_eq "layout without --from: exit 2" "$?" 2
check "layout without --from: says so" grep -q "missing --from BINARY" "$TDIR/e"
"$FPI" layout --from /bin/sh >/dev/null 2>"$TDIR/e"
check_eq "layout --from a C program: exit 2" "$?" 2
check "layout --from a C program: not Go ($(cat "$TDIR/e"))" grep -q "is not a Go program" "$TDIR/e"
"$FPI" layout --from "$STRIPPED" >/dev/null 2>"$TDIR/e"
check_eq "layout --from a stripped binary: exit 2" "$?" 2
check "layout --from a stripped binary: says why ($(cat "$TDIR/e"))" grep -q "has no DWARF; a layout is made from a binary with DWARF" "$TDIR/e"
"$FPI" layout --from "$FULL" -o "$TDIR/no/such/dir/x.layout" >/dev/null 2>"$TDIR/e"
check_eq "layout -o into a missing directory: exit 2" "$?" 2
"$FPI" layout --help >"$TDIR/e"
check "layout --help" grep -q "usage: fpinspect layout --from BINARY" "$TDIR/e"
# a patch release with no layout of its own, and a release with none at
# all: the -w binary with another version in .go.buildinfo
PATCH=$(echo "$VER1" | sed 's/\.\([0-9]\)$/.9/; t; s/\.[0-9][0-9]$/.99/')
[ "$PATCH" = "$VER1" ] && PATCH=$(echo "$VER1" | sed 's/\.[0-9]$/.8/')
set_go_version "$(build_target states "$GO1" -w)" "$VER1" "$PATCH" "$TDIR/patch"
start_target env GOTRACEBACK=all "$TDIR/patch" -n 14 -depth 3 -running 0
read_stripped "$PATCH" "nearest patch release's layout"
check "$PATCH: the nearest patch release's layout, validated ($(grep '^layout:' "$TDIR/sum.txt"))" \
	grep -q "^layout: *layout file $LAYOUTS/$VER1-amd64.layout (made for $VER1: validated against this process)" "$TDIR/sum.txt"
stop_target
NONE=$(echo "$VER1" | sed 's/^go1\.[0-9][0-9]/go1.99/')
set_go_version "$(build_target states "$GO1" -w)" "$VER1" "$NONE" "$TDIR/none"
start_target "$TDIR/none" -n 3 -running 0
"$FPI" attach "$TPID" summary >/dev/null 2>"$TDIR/e"
check_eq "no layout for the release: exit 2" "$?" 2
check "no layout: the message names the version and the command ($(cat "$TDIR/e"))" \
	grep -q "($NONE, amd64) built without DWARF .*no layout for $NONE: .*fpinspect layout --from BINARY" "$TDIR/e"
check "no layout: the target still runs" ping_target
stop_target
finish
