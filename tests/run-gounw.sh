#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The go unwinder (the runtime's own method: pclntab's SP deltas, .eh_frame
# for C) against DWARF CFI, from the same stop (bt all --unwinder all): the
# compiler writes a Go function's .debug_frame from the same SP deltas as its
# pcsp table, so the two must give the same pcs on every stack of the parked
# test programs (every state of tests/targets/states, the cgo callbacks and
# C-locked goroutines of tests/targets/cgo), and, on a healthy busy program
# (tests/targets/busy: vDSO calls, deep stacks, GC, signals), the same Go
# frames on every goroutine, a few attaches over. tests/run-oracle.sh holds
# the go unwinder against the runtime's own SIGQUIT traceback. A copy of the
# cgo program without .debug_frame (objcopy: DWARF stays for the runtime's
# layouts) has no CFI for Go frames: check takes the go walk as the FP walk's
# reference there and finds what it finds on the full binary.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace; need_python

# compare FILE LABEL [goframes]: go_frames against dwarf_frames of every
# stack in a bt all --unwinder all --json; goframes: only the Go frames of
# goroutines (the stacks a running program moves the least between frames)
compare() {
	python3 - "$1" "${3:-all}" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
goframes = sys.argv[2] == "goframes"
bad, n, nf = [], 0, 0
for s in d["stacks"]:
    who = "g%d" % s["goid"] if "goid" in s else "thread %d" % s["tid"]
    if goframes and "goid" not in s:
        continue
    def pcs(k):
        out = []
        for f in s[k]:
            if f["inlined"]:
                continue
            if goframes and f["stack"] == "C":
                break
            out.append(f["pc"])
        return out
    a, b = pcs("go_frames"), pcs("dwarf_frames")
    n += 1
    nf += len(a)
    if a != b:
        k = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        bad.append("%s: go and dwarf part at frame %d: go %s (end %r), dwarf %s (end %r)" %
                   (who, k, a[k:k + 3], s["go_end"], b[k:k + 3], s["dwarf_end"]))
    elif not goframes and s["go_end"] != s["dwarf_end"]:
        bad.append("%s: same frames, go ends %r, dwarf %r" % (who, s["go_end"], s["dwarf_end"]))
print("\n".join(bad) or "ok %d stacks, %d frames" % (n, nf))
PY
}

for GO in $(go_toolchains); do
	VER=$(go_version_of "$GO")
	echo "== $VER"

	BIN=$(build_target states "$GO")
	start_target "$BIN" -n 14 -depth 3
	"$FPI" attach "$TPID" --json bt all --unwinder all >"$TDIR/s.json"
	check_eq "$VER states bt all --unwinder all exit" "$?" 0
	out=$(compare "$TDIR/s.json")
	echo "$VER states: $out"
	check "$VER states: go and dwarf give the same pcs on every stack" test "${out#ok}" != "$out"
	"$FPI" attach "$TPID" bt g1 --unwinder go >"$TDIR/g1.txt"
	check "$VER text bt --unwinder go names the frames" grep -q "main.serve .*main.go:[0-9]" "$TDIR/g1.txt"
	"$FPI" attach "$TPID" --json bt g1 --unwinder go >"$TDIR/g1.json"
	check "$VER json bt --unwinder go says go" grep -q '"unwinder": *"go"' "$TDIR/g1.json"
	stop_target

	BIN=$(build_target cgo "$GO")
	start_target "$BIN" -mode basic
	"$FPI" attach "$TPID" --json bt all --unwinder all >"$TDIR/c.json"
	check_eq "$VER cgo bt all --unwinder all exit" "$?" 0
	out=$(compare "$TDIR/c.json")
	echo "$VER cgo: $out"
	check "$VER cgo: go and dwarf give the same pcs on every stack" test "${out#ok}" != "$out"
	"$FPI" attach "$TPID" --json check >"$TDIR/c-full.json"
	check_eq "$VER cgo check exit" "$?" "$(go_bug_72870 "$GO" && echo 1 || echo 0)"
	stop_target
	if command -v objcopy >/dev/null 2>&1; then
		objcopy --remove-section=.debug_frame --remove-section=.zdebug_frame "$BIN" "$TDIR/cgo-nocfi"
		start_target "$TDIR/cgo-nocfi" -mode basic
		"$FPI" attach "$TPID" --json bt all --unwinder dwarf >"$TDIR/nocfi-dw.json"
		check "$VER no .debug_frame: the dwarf walk stops at a Go frame" grep -q "no CFI for pc" "$TDIR/nocfi-dw.json"
		"$FPI" attach "$TPID" --json check >"$TDIR/c-nocfi.json"
		check_eq "$VER no .debug_frame: check exit" "$?" "$(go_bug_72870 "$GO" && echo 1 || echo 0)"
		out=$(python3 - "$TDIR/c-full.json" "$TDIR/c-nocfi.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
kinds = lambda d: sorted((f["kind"], f["severity"]) for f in d["findings"])
print("ok" if kinds(a) == kinds(b) else "full %s, without .debug_frame %s" % (kinds(a), kinds(b)))
PY
)
		echo "$VER cgo without .debug_frame: $out"
		check "$VER no .debug_frame: check judges against the go walk, same findings" test "$out" = ok
		stop_target
	fi

	BIN=$(build_target busy "$GO")
	start_target "$BIN"
	for k in 1 2 3; do
		"$FPI" attach "$TPID" --json bt all --unwinder all >"$TDIR/b.json"
		check_eq "$VER busy attach $k exit" "$?" 0
		out=$(compare "$TDIR/b.json" "" goframes)
		echo "$VER busy $k: $out"
		check "$VER busy attach $k: go and dwarf give the same Go frames on every goroutine" test "${out#ok}" != "$out"
		sleep 0.2
	done
	check "$VER busy target still answers" ping_target
	stop_target
done
finish
