#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# check: a healthy program is clean; C code with garbage in RBP under a cgo
# callback stops the FP walk at that C frame with a finding of the right
# severity; a self-pointing saved BP written into a parked goroutine's frame
# (by GDB, not by fpinspect) is an fp-cycle for exactly that goroutine.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace; need_python; need_gdb

for GO in $(go_toolchains); do
	VER=$(go_version_of "$GO")
	echo "== $VER"

	# healthy: exit 0, no errors, no warnings
	BIN=$(build_target states "$GO")
	start_target "$BIN" -n 200 -depth 4
	"$FPI" attach "$TPID" --json check >"$TDIR/c.json"
	check_eq "$VER healthy check exit" "$?" 0
	check_eq "$VER healthy: errors, warnings" "$(jq_py "$TDIR/c.json" 'print(d["errors"], d["warnings"])')" "0 0" ||
		{ jq_py "$TDIR/c.json" 'print("\n".join(map(str, d["findings"])))'; "$FPI" attach "$TPID" bt all --unwinder both; }
	check "$VER healthy: walked every goroutine" jq_py "$TDIR/c.json" 'sys.exit(0 if d["goroutines"] >= 204 and d["frames"] > 204 * 6 else 1)'
	"$FPI" attach "$TPID" check >"$TDIR/c.txt"
	check "$VER text summary line" grep -q "^check: .* 0 errors, 0 warnings" "$TDIR/c.txt"

	# fault injection: a parked goroutine's saved BP made to point at itself
	G=$(awk '/^G .* chanrecv$/{print $2; exit}' "$TOUT")
	"$FPI" attach "$TPID" --json bt "g$G" >"$TDIR/bt.json"
	FP=$(jq_py "$TDIR/bt.json" 'print(d["stacks"][0]["frames"][2]["fp"])')
	gdb -nx -batch -p "$TPID" -ex "set language c" -ex "set {long}$FP = $FP" >/dev/null 2>&1
	check_eq "$VER gdb wrote the cycle" \
		"$(gdb -nx -batch -p "$TPID" -ex "x/gx $FP" 2>/dev/null | awk '/^0x/{print $2}' | python3 -c 'import sys; print(hex(int(sys.stdin.read(), 16)))')" "$FP"
	start=$(date +%s)
	timeout 30 "$FPI" attach "$TPID" --json check >"$TDIR/cyc.json"
	check_eq "$VER check exit with a cycle" "$?" 1
	check "$VER check prompt (under 10 s)" test $(( $(date +%s) - start )) -lt 10
	check_eq "$VER exactly one fp-cycle, for g$G at frame 2" \
		"$(jq_py "$TDIR/cyc.json" 'print([(f["goid"], f["frame"], f["severity"]) for f in d["findings"] if f["kind"] == "fp-cycle"])')" \
		"[($G, 2, 'error')]"
	check_eq "$VER no other errors" "$(jq_py "$TDIR/cyc.json" 'print(d["errors"])')" 1
	timeout 30 "$FPI" attach "$TPID" bt "g$G" >"$TDIR/cyc.txt"
	check "$VER bt says which frame points to itself" grep -q "points to its own frame" "$TDIR/cyc.txt"
	stop_target

	# garbage RBP in C under a callback: FP stops at the C frame; DWARF goes on
	BIN=$(build_target cgo "$GO")
	start_target "$BIN" -mode badfp
	G=$(awk '/^G /{print $2; exit}' "$TOUT")
	"$FPI" attach "$TPID" --json check >"$TDIR/b.json"
	check_eq "$VER badfp check exit (C is there by the M's account)" "$?" 0
	check_eq "$VER badfp finding" \
		"$(jq_py "$TDIR/b.json" 'print([(f["kind"], f["severity"], f["goid"], "0xdeadbeef" in f["message"]) for f in d["findings"]])')" \
		"[('fp-out-of-bounds', 'info', $G, True)]"
	"$FPI" attach "$TPID" --json bt "g$G" --unwinder both >"$TDIR/bb.json"
	out=$(jq_py "$TDIR/bb.json" '
s = d["stacks"][0]
fp = [f["function"] for f in s["fp_frames"]]
dw = [f["function"] for f in s["dwarf_frames"]]
bad = []
if "0xdeadbeef" not in (s["fp_end"] or ""): bad.append("fp end: %r" % s["fp_end"])
if fp[-1] != "c_call_with_rbp": bad.append("fp last frame %r" % fp[-1])
if "runtime.cgocallback" not in dw or "callback_thread" not in dw: bad.append("dwarf: %r" % dw)
print("\n".join(bad) or "ok")')
	echo "$out"
	check "$VER badfp: fp stops at the C frame, dwarf goes through cgocallback" test "$out" = ok
	stop_target
done
finish
