#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# arm64 cores on this amd64 machine: the test programs built with
# GOARCH=arm64 run under qemu-aarch64 (Debian's qemu-user), which writes a
# guest core (qemu_<prog>_<date>-<pid>.core: NT_PRSTATUS per thread,
# NT_PRPSINFO, NT_AUXV, no NT_FILE) in its working directory when the
# program dies of SIGABRT under GOTRACEBACK=crash. From that core: every
# goroutine Go printed as it died, each one's stack equal to Go's own
# traceback (function, file:line, +off, fp=, sp=, pc=), the threads with
# their Ms, the FP, DWARF and pclntab walks agreeing, check clean; a fault
# in a frameless leaf (sigpanic below it); an FP cycle written into the
# core found exactly; a cgo program (cgo through Debian's
# gcc-aarch64-linux-gnu, its libc from /usr/aarch64-linux-gnu for qemu's
# -L) with its Ms' cgo fields. On Go 1.19, the go in PATH and the newest
# release.
. "$(dirname "$0")/lib.sh"
need_go; need_python
command -v qemu-aarch64 >/dev/null 2>&1 || skip_or_fail "qemu-aarch64 not installed (setup.sh installs qemu-user)"
command -v gdb-multiarch >/dev/null 2>&1 || skip_or_fail "gdb-multiarch not installed (setup.sh installs it)"

# build_arm64 NAME GO [cgo|nocgo] [LDFLAGS]: tests/targets/NAME for arm64
# (cgo through the cross compiler), cached under
# tests/build/<goversion>-arm64/NAME (NAME-s-w for LDFLAGS "-s -w").
# Prints the binary's path.
build_arm64() {
	_name=$1 _go=$2 _cgo=0 _ldf=${4:-}
	[ "${3:-}" = cgo ] && _cgo=1
	_out="$top_builddir/tests/build/$(go_version_of "$_go")-arm64/$_name$(echo "$_ldf" | tr -d ' ')"
	_src="$top_srcdir/tests/targets/$_name"
	mkdir -p "$(dirname "$_out")"
	if [ ! -x "$_out" ] || [ -n "$(find "$_src" -newer "$_out" -type f 2>/dev/null | head -1)" ]; then
		(cd "$_src" && GOFLAGS=-mod=mod GOTOOLCHAIN=local GOARCH=arm64 CGO_ENABLED=$_cgo \
			CC=aarch64-linux-gnu-gcc "$_go" build -ldflags="$_ldf" -o "$_out" .) >&2 || {
			echo "FAIL: building $_name for arm64 with $(go_version_of "$_go")" >&2
			exit 99
		}
	fi
	echo "$_out"
}

# qemu_core DIR HOW BIN [ARGS...]: run BIN under qemu-aarch64 in DIR with
# GOTRACEBACK=crash until it prints READY, then (HOW=abort) send it
# SIGABRT, or (HOW=fault) wait for it to crash by itself. Sets CORE (the
# guest core) and ERR (what Go printed as it died).
qemu_core() {
	_d=$1 _how=$2; shift 2
	rm -rf "$_d"
	mkdir -p "$_d"
	mkfifo "$_d/in"
	# qemu writes the guest core only under a core size limit that allows
	# it, and then aborts itself: a directory named core keeps the host
	# from writing qemu's own core (hundreds of MiB) there too
	mkdir "$_d/core"
	(cd "$_d" && ulimit -c unlimited &&
	 exec env GOTRACEBACK=crash qemu-aarch64 -L /usr/aarch64-linux-gnu "$@" <in >out 2>err) &
	_qp=$!
	exec 9>"$_d/in"
	_i=0
	while ! grep -q '^READY' "$_d/out" 2>/dev/null; do
		_i=$((_i + 1))
		if [ $_i -gt 1200 ] || ! kill -0 "$_qp" 2>/dev/null; then
			echo "FAIL: $* under qemu-aarch64 did not get ready"; tail -5 "$_d/out" "$_d/err"
			exit 99
		fi
		sleep 0.1
	done
	if [ "$_how" = abort ]; then
		kill -ABRT "$_qp"
	fi
	wait "$_qp"
	exec 9>&-
	rm -rf "$_d/core" "$_d"/core.[0-9]*
	CORE=$(ls "$_d"/qemu_*.core 2>/dev/null | head -1)
	ERR="$_d/err"
	check "qemu wrote a guest core for $*" test -s "$CORE"
	[ -s "$CORE" ] || { finish; }
	echo "core: $(basename "$CORE"), $(($(stat -c %s "$CORE") / 1048576)) MiB"
}

# What the runtime printed as it died: goroutine ids (0 is an M's g0) and
# the ids of the Ms it traced.
goids_of_traceback() { sed -n 's/^goroutine \([1-9][0-9]*\) .*\[.*\]:$/\1/p' "$1" | sort -n | uniq; }
mids_of_traceback() { sed -n 's/^PC=0x[0-9a-f]* m=\([0-9]*\) .*/\1/p' "$1" | sort -n | uniq; }

# go_traceback_equal EXE CORE ERR LABEL: the goroutines Go printed as it
# died are listed ($TDIR/gs.json), and each one's stack is Go's own
# traceback, frame by frame (dump --system)
go_traceback_equal() {
	_exe=$1 _core=$2 _err=$3 _l=$4
	"$FPI" core "$_core" "$_exe" --json goroutines >"$TDIR/gs.json"
	check_eq "$_l: goroutines exit" "$?" 0
	check_eq "$_l: the goroutines Go printed as it died" \
		"$(jq_py "$TDIR/gs.json" 'print("\n".join(str(g["goid"]) for g in sorted(d["goroutines"], key=lambda g: g["goid"])))')" \
		"$(goids_of_traceback "$_err")"
	"$FPI" core "$_core" "$_exe" dump --system >"$TDIR/dump.txt"
	check_eq "$_l: dump --system exit" "$?" 0
	python3 "$top_srcdir/tests/dumpcmp.py" --system --running-suffix "$_err" "$TDIR/dump.txt" >"$TDIR/cmp.out"
	_rc=$?
	sed "s/^/$_l: /" "$TDIR/cmp.out" | tail -30
	check_eq "$_l: every goroutine's stack equals Go's traceback" "$_rc" 0
	check "$_l: frames compared" grep -q "dumpcmp: [1-9][0-9]* goroutines, [1-9][0-9]* frames" "$TDIR/cmp.out"
}

# the common checks of one core: EXE CORE ERR LABEL
inspect_core() {
	_exe=$1 _core=$2 _err=$3 _l=$4
	"$FPI" core "$_core" "$_exe" --json summary >"$TDIR/summary.json"
	check_eq "$_l: summary exit" "$?" 0
	check_eq "$_l: arch" "$(jq_py "$TDIR/summary.json" 'print(d["arch"])')" arm64
	go_traceback_equal "$_exe" "$_core" "$_err" "$_l"
	# every thread of the core is an M's, and every M the runtime traced
	# as it died has its thread
	"$FPI" core "$_core" "$_exe" --json threads >"$TDIR/threads.json"
	check_eq "$_l: threads exit" "$?" 0
	check_eq "$_l: threads without an M" "$(jq_py "$TDIR/threads.json" 'print(sum(1 for t in d["threads"] if t["m"] is None))')" 0
	_mids=$(jq_py "$TDIR/threads.json" 'print("\n".join(str(t["m"]) for t in sorted(d["threads"], key=lambda t: t["m"])))')
	for _m in $(mids_of_traceback "$_err"); do
		check "$_l: M $_m (traced by Go) has a thread" sh -c "echo '$_mids' | grep -qx '$_m'"
	done
	# the three unwinders on every thread and goroutine
	"$FPI" core "$_core" "$_exe" bt all --unwinder all >"$TDIR/bt.txt"
	check_eq "$_l: bt all --unwinder all exit" "$?" 0
	check "$_l: fp and dwarf agree" grep -q "fp and dwarf agree" "$TDIR/bt.txt"
	check_eq "$_l: go and dwarf part nowhere" "$(grep -c 'go and dwarf part' "$TDIR/bt.txt")" 0
	check_eq "$_l: signal frames followed" "$(grep -c 'signal frame: cannot' "$TDIR/bt.txt")" 0
	"$FPI" core "$_core" "$_exe" check >"$TDIR/check.txt"
	_rc=$?
	tail -3 "$TDIR/check.txt"
	# where fp and dwarf part, but at a C frame: C code keeps any value in
	# x29 (on amd64 as well; check says so as info), and a qemu core names
	# no shared library for CFI to unwind libc by (no NT_FILE)
	_parted=$(python3 - "$TDIR/bt.txt" <<'PY' | sort -u
import re, sys
who, stack, out = None, {}, set()
for ln in open(sys.argv[1]):
    m = re.match(r"^(thread (\d+):|goroutine (\d+) )", ln)
    if m:
        who = "thread %s:" % m.group(2) if m.group(2) else "g" + m.group(3)
        stack, sect = {}, None
        continue
    m = re.match(r"^  (fp|dwarf|go):", ln)
    if m:
        sect = m.group(1)
        continue
    m = re.match(r"^#(\d+)\s+(\S+)", ln)
    if m and sect in ("fp", "dwarf"):
        stack.setdefault((sect, int(m.group(1))), m.group(2))
    m = re.search(r" fp and dwarf part at frame (\d+)", ln)
    if m and "C" not in (stack.get(("fp", int(m.group(1)))), stack.get(("dwarf", int(m.group(1))))):
        out.add(who)
print("\n".join(sorted(out)))
PY
)
	_flagged=$(sed -n 's/^error  *[a-z-]*  *\(g[0-9]*\) .*/\1/p' "$TDIR/check.txt" | sort -u)
	if [ "$(go_minor "$VER")" -ge 21 ]; then
		check_eq "$_l: check exit" "$_rc" 0
		check "$_l: check finds nothing" grep -q ": 0 errors, 0 warnings" "$TDIR/check.txt"
		check_eq "$_l: walks that part" "$_parted" "" || grep -B30 ' part at frame' "$TDIR/bt.txt" | head -60
	else
		# Go before 1.21 did not adjust arm64 frame pointers when it
		# copied a stack (stack.go adjustframe: "TODO what about arm64
		# frame pointer adjustment?"): a goroutine whose stack moved has
		# saved FPs into its old stack. check reports exactly those, as
		# out of bounds, and nothing else; FP and DWARF part only there.
		check "$_l: only fp-out-of-bounds errors (frame pointers into a copied stack)" \
			sh -c "! grep '^error' '$TDIR/check.txt' | grep -v '^error   fp-out-of-bounds  .* goroutine stack: saved FP (x29) at .*: outside the owning stack'"
		check_eq "$_l: the goroutines whose walks part are those check flags" \
			"$(echo "$_parted" | grep '^g')" "$_flagged"
		# a thread's walk parts only where it enters such a goroutine
		for _t in $(echo "$_parted" | sed -n 's/^thread \([0-9]*\):$/\1/p'); do
			_cg=$(jq_py "$TDIR/threads.json" "print(['g%s' % t['curg'] for t in d['threads'] if t['tid'] == $_t][0])")
			check "$_l: thread $_t parts in its goroutine $_cg, which check flags" \
				sh -c "echo '$_flagged' | grep -qx '$_cg'"
		done
		echo "$_l: $(echo $_flagged | wc -w) goroutines with frame pointers into a copied stack"
	fi
}

# go_minor go1.X.Y: X
go_minor() { echo "$1" | sed 's/^go1\.\([0-9]*\).*/\1/'; }

for GO in /usr/lib/go-1.19/bin/go $(command -v go) $(FPI_GO_EXTRA="go1.27.3" go_toolchains | tail -n +3); do
	[ -x "$GO" ] || { [ "${CI:-}" = true ] && { echo "FAIL: $GO missing"; exit 99; }; continue; }
	VER=$(go_version_of "$GO")
	BIN=$(build_arm64 states "$GO")
	echo "== $VER arm64 states (SIGABRT)"
	qemu_core "$TDIR/q.$VER" abort "$BIN" -n 21 -depth 2 -running 0
	inspect_core "$BIN" "$CORE" "$ERR" "$VER abort"

	# the runtime's globals from the arm64 machine code of a stripped copy
	# (the same addresses), against DWARF's: from the first anchors, and
	# from the fallback ones alone (sched has none that finds it)
	aarch64-linux-gnu-strip -s -o "$TDIR/stripped" "$BIN"
	for _fb in "" --fallback-anchors; do
		"$top_builddir/tests/unit_goglobals" --core "$CORE" --expect-equal $_fb 0 "$BIN" "$TDIR/stripped" >"$TDIR/u.out" 2>&1
		check_eq "$VER globals from arm64 machine code ${_fb:-(first anchors)}" "$?" 0 ||
			grep -v '^dwarf' "$TDIR/u.out"
		check_eq "$VER globals ${_fb:-(first anchors)}: from" "$(sed -n 's/^how //p' "$TDIR/u.out")" "machine code"
	done

	# the GDB plugin in gdb-multiarch on the same core: GDB's aarch64
	# registers, the same answers as the CLI, command by command
	timeout 600 gdb-multiarch -nx -batch -ex "file $BIN" -ex "core-file $CORE" -x "$top_srcdir/gdbplugin/fpplugin" \
		-ex "fp summary --json --output $TDIR/p.summary.json" \
		-ex "fp threads --json --output $TDIR/p.threads.json" \
		-ex "fp goroutines --json --output $TDIR/p.goroutines.json" \
		-ex "fp check --json --output $TDIR/p.check.json" \
		-ex "fp bt all --unwinder both --json --output $TDIR/p.btall.json" >"$TDIR/gdb.log" 2>&1
	check_eq "$VER gdb-multiarch: plugin arch" "$(jq_py "$TDIR/p.summary.json" 'print(d["arch"])' 2>&1)" arm64
	"$FPI" core "$CORE" "$BIN" --json check >"$TDIR/c.check.json"
	"$FPI" core "$CORE" "$BIN" --json bt all --unwinder both >"$TDIR/c.btall.json"
	same "$VER gdb-multiarch goroutines = CLI" goroutines "$TDIR/p.goroutines.json" "$TDIR/gs.json"
	same "$VER gdb-multiarch threads = CLI" threads "$TDIR/p.threads.json" "$TDIR/threads.json" \
		"$TDIR/p.goroutines.json" "$TDIR/gs.json"
	same "$VER gdb-multiarch check = CLI" check "$TDIR/p.check.json" "$TDIR/c.check.json"
	same "$VER gdb-multiarch bt all (both unwinders) = CLI" bt "$TDIR/p.btall.json" "$TDIR/c.btall.json"
	[ -s "$TDIR/p.btall.json" ] || tail -20 "$TDIR/gdb.log"

	# An FP cycle written into the core: goroutine 20's first frame record
	# made to point at itself, found exactly there, and the walk ends.
	G=$(jq_py "$TDIR/gs.json" 'print([g for g in d["goroutines"] if g["wait_reason"] == "chan receive"][0]["goid"])')
	BP=$(jq_py "$TDIR/gs.json" "print([g for g in d['goroutines'] if g['goid'] == $G][0]['bp'])")
	python3 - "$CORE" "$BP" "$TDIR/cycle.core" <<'PY'
import struct, sys
core, bp, out = sys.argv[1], int(sys.argv[2], 16), sys.argv[3]
data = bytearray(open(core, "rb").read())
phoff, = struct.unpack_from("<Q", data, 32)
phnum, = struct.unpack_from("<H", data, 56)
for i in range(phnum):
    t, f, off, va, pa, fs, ms, al = struct.unpack_from("<IIQQQQQQ", data, phoff + 56 * i)
    if t == 1 and va <= bp < va + fs:
        struct.pack_into("<Q", data, off + bp - va, bp)
        break
else:
    raise SystemExit("fp 0x%x not in the core" % bp)
open(out, "wb").write(data)
PY
	"$FPI" core "$TDIR/cycle.core" "$BIN" bt "g$G" --unwinder fp >"$TDIR/cycle.txt" 2>&1
	check "$VER: the cycle in the core is found at its frame record" \
		grep -q "saved FP (x29) at $BP is $BP: it points to its own frame" "$TDIR/cycle.txt"
	"$FPI" core "$TDIR/cycle.core" "$BIN" check >"$TDIR/cycle.check" 2>&1
	check_eq "$VER: check on the cycle exits 1" "$?" 1
	check "$VER: check names goroutine $G" grep -q "^error   fp-cycle  *g$G frame 0: .*saved FP (x29) at $BP is $BP" "$TDIR/cycle.check"
	rm -rf "$TDIR/q.$VER" "$TDIR/cycle.core"

	# The same program built as releases ship it (-ldflags="-s -w": no
	# DWARF, no symbol table): the runtime's layout from the shipped arm64
	# layout file, its globals from the machine code (ADRP and the ADD,
	# load or store after it), stacks from pclntab; against Go's own
	# traceback as it died.
	echo "== $VER arm64 states -s -w (SIGABRT)"
	SW=$(build_arm64 states "$GO" nocgo "-s -w")
	check "$VER -s -w: the build has no symbol table" sh -c "! aarch64-linux-gnu-readelf -SW '$SW' | grep -q ' .symtab '"
	qemu_core "$TDIR/s.$VER" abort "$SW" -n 21 -depth 2 -running 0
	export XDG_CACHE_HOME="$TDIR/xdg.$VER"
	"$FPI" core "$CORE" "$SW" --json summary >"$TDIR/sw.json" 2>"$TDIR/sw.err"
	check_eq "$VER -s -w: summary exit ($(head -c 300 "$TDIR/sw.err"))" "$?" 0
	check_eq "$VER -s -w: layout and globals" \
		"$(jq_py "$TDIR/sw.json" 'print(d["layout"]["source"] + ", " + d["layout"]["made_for"] + ", " + d["layout"]["globals"])')" \
		"layout file, $VER, machine code"
	go_traceback_equal "$SW" "$CORE" "$ERR" "$VER -s -w"
	check_eq "$VER -s -w: wait reasons named" \
		"$(jq_py "$TDIR/gs.json" 'print(sum(1 for g in d["goroutines"] if g["status"] == "waiting" and not g["wait_reason"]))')" 0
	"$FPI" core "$CORE" "$SW" bt all --unwinder all >"$TDIR/swbt.txt"
	check_eq "$VER -s -w: bt all --unwinder all exit" "$?" 0
	check "$VER -s -w: fp and go agree" grep -q "fp and go agree" "$TDIR/swbt.txt"
	if [ "$(go_minor "$VER")" -ge 21 ]; then
		"$FPI" core "$CORE" "$SW" check >"$TDIR/swcheck.txt"
		check_eq "$VER -s -w: check exit" "$?" 0
		check "$VER -s -w: check finds nothing" grep -q ": 0 errors, 0 warnings" "$TDIR/swcheck.txt"
	fi
	unset XDG_CACHE_HOME
	rm -rf "$TDIR/s.$VER" "$TDIR/xdg.$VER"

	# A nil dereference in a frameless leaf (main.faultLeaf): Go prints
	# the faulting goroutine with sigpanic and the leaf below it
	echo "== $VER arm64 states (fault in a frameless leaf)"
	qemu_core "$TDIR/f.$VER" fault "$BIN" -n 7 -running 0 -faultafter 100ms
	inspect_core "$BIN" "$CORE" "$ERR" "$VER fault"
	FG=$(sed -n 's/^G \([0-9]*\) fault$/\1/p' "$TDIR/f.$VER/out")
	"$FPI" core "$CORE" "$BIN" --json summary >"$TDIR/fs.json"
	check "$VER fault: Go died of the fault" grep -q "^\[signal SIGSEGV: segmentation violation" "$ERR"
	# the fatal panic ends in crash(), which raises SIGABRT
	check_eq "$VER fault: the core's signal" "$(jq_py "$TDIR/fs.json" 'print(d["signal"]["name"])')" SIGABRT
	for u in fp dwarf go; do
		if [ $u = fp ] && echo "$_flagged" | grep -qx "g$FG"; then
			# Go before 1.21 on arm64: its stack was copied, its saved
			# FPs point into the old one (check flagged it above)
			echo "$VER fault: g$FG's frame pointers point into its copied stack: no fp walk to compare"
			continue
		fi
		"$FPI" core "$CORE" "$BIN" bt "g$FG" --unwinder $u >"$TDIR/fbt.$u" 2>&1
		check "$VER fault $u: sigpanic, then the leaf, then its caller" \
			python3 -c 'import re,sys; t=open(sys.argv[1]).read(); f=re.findall(r"^#\d+\s+\S+\s+0x[0-9a-f]+ (\S+)", t, re.M); i=f.index("runtime.sigpanic") if "runtime.sigpanic" in f else -9; sys.exit(0 if i >= 0 and f[i+1:i+3]==["main.faultLeaf","main.faultLevel"] and f.count("main.faultLevel")==4 else 1)' "$TDIR/fbt.$u"
		grep -q "main.faultLeaf" "$TDIR/fbt.$u" || cat "$TDIR/fbt.$u"
	done
	rm -rf "$TDIR/f.$VER"

	# cgo: a C thread's callback (an extra M), a goroutine blocked in C
	# (ncgo 1, incgo 1), a nested C -> Go -> C -> Go callback
	echo "== $VER arm64 cgo (SIGABRT)"
	BIN=$(build_arm64 cgo "$GO" cgo)
	qemu_core "$TDIR/c.$VER" abort "$BIN" -mode basic
	inspect_core "$BIN" "$CORE" "$ERR" "$VER cgo"
	O="$TDIR/c.$VER/out"
	for k in cgocall callback nested; do
		eval "G_$k=\$(sed -n 's/^G \([0-9]*\) $k$/\1/p' '$O')"
	done
	LT=$(sed -n 's/^M lockedtid //p' "$O") CB=$(sed -n 's/^M ctid_callback //p' "$O") NT=$(sed -n 's/^M ctid_nested //p' "$O")
	th() { jq_py "$TDIR/threads.json" "t=[t for t in d['threads'] if t['tid'] == $1][0]; print(t['$2'])"; }
	check_eq "$VER cgo: the C call's thread: ncgo" "$(th "$LT" ncgo)" 1
	check_eq "$VER cgo: the C call's thread: incgo" "$(th "$LT" incgo)" True
	check_eq "$VER cgo: the C call's thread runs its goroutine" "$(th "$LT" curg)" "$G_cgocall"
	check_eq "$VER cgo: the callback's C thread holds its goroutine" "$(th "$CB" lockedg)" "$G_callback"
	check_eq "$VER cgo: the nested callback's C thread holds its goroutine" "$(th "$NT" lockedg)" "$G_nested"
	if [ "$(go_minor "$VER")" -lt 20 ]; then
		check_eq "$VER cgo: no isextra before 1.20" "$(th "$CB" isextra)" None
	else
		check_eq "$VER cgo: the callback's M is an extra M" "$(th "$CB" isextra)" True
		check_eq "$VER cgo: the nested callback's M is an extra M" "$(th "$NT" isextra)" True
		check_eq "$VER cgo: isExtraInC cleared after the nested callback (1.25+)" "$(th "$NT" is_extra_in_c)" False
	fi
	rm -rf "$TDIR/c.$VER"
done
finish
