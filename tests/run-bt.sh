#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# bt: frame pointers and DWARF CFI agree on plain goroutines at every depth
# of a recursive function; each thread's innermost frames equal GDB's.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace; need_python; need_gdb

for GO in $(go_toolchains); do
	VER=$(go_version_of "$GO")
	echo "== $VER"
	BIN=$(build_target recurse "$GO")
	start_target "$BIN" -depth 20
	"$FPI" attach "$TPID" --json bt all --unwinder both >"$TDIR/bt.json"
	check_eq "$VER bt all exit" "$?" 0
	out=$(python3 - "$TOUT" "$TDIR/bt.json" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().split("\n")
depth = {int(l.split()[1][6:]): int(l.split()[2]) for l in lines if l.startswith("M depth_")}
d = json.load(open(sys.argv[2]))
st = {s["goid"]: s for s in d["stacks"] if "goid" in s}
bad = []
for goid, n in depth.items():
    s = st.get(goid)
    if not s:
        bad.append("g%d missing" % goid); continue
    if s["mismatch"] is not None:
        bad.append("g%d: fp and dwarf part at %r" % (goid, s["mismatch"]))
    for k in ("fp_frames", "dwarf_frames"):
        fns = [f["function"] for f in s[k] if not f["inlined"]]
        if fns.count("main.recurse") != n:
            bad.append("g%d %s: %d main.recurse frames, want %d" % (goid, k, fns.count("main.recurse"), n))
        if fns[-1] != "runtime.goexit":
            bad.append("g%d %s ends at %s" % (goid, k, fns[-1]))
    for f in s["fp_frames"]:
        if f["function"] == "main.recurse" and (not f["file"].endswith("main.go") or f["line"] <= 0):
            bad.append("g%d: main.recurse at %s:%s" % (goid, f["file"], f["line"]))
if len(depth) != 20:
    bad.append("%d depths" % len(depth))
print("\n".join(bad) or "ok")
PY
)
	echo "$out"
	check "$VER fp and dwarf agree at depths 1..20" test "$out" = ok

	# text output: a goroutine's frames with file:line
	G=$(awk '/^M depth_/{sub("depth_","",$2); print $2; exit}' "$TOUT")
	"$FPI" attach "$TPID" bt "g$G" >"$TDIR/g.txt"
	check "$VER text bt names main.recurse with a line" grep -q "main.recurse .*main.go:[0-9]" "$TDIR/g.txt"
	check "$VER text bt starts at gopark" sh -c "sed -n 2p '$TDIR/g.txt' | grep -q runtime.gopark"

	# every thread's innermost frames (pc, inline frames skipped) against GDB
	"$FPI" attach "$TPID" --json bt all --unwinder dwarf >"$TDIR/th.json"
	gdb -nx -batch -p "$TPID" -ex 'python
import gdb
for t in gdb.selected_inferior().threads():
    t.switch()
    f = gdb.newest_frame(); pcs = []
    while f is not None and len(pcs) < 3:
        if f.type() != gdb.INLINE_FRAME:
            pcs.append("0x%x" % f.pc())
        f = f.older()
    print("T", t.ptid[1], " ".join(pcs))
end' 2>/dev/null | grep '^T ' >"$TDIR/gdb.txt"
	out=$(python3 - "$TDIR/th.json" "$TDIR/gdb.txt" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ours = {}
for s in d["stacks"]:
    if "tid" in s:
        pcs = []
        for f in s["frames"]:
            if f["inlined"]: continue
            pcs.append(f["pc"])
        ours[s["tid"]] = pcs[:3]
bad = []
gdb = {}
for l in open(sys.argv[2]):
    p = l.split()
    gdb[int(p[1])] = p[2:]
if set(gdb) != set(ours):
    bad.append("threads differ: gdb %s, ours %s" % (sorted(gdb), sorted(ours)))
for tid, pcs in gdb.items():
    o = ours.get(tid, [])
    n = min(len(pcs), len(o))
    if n < 2 or pcs[:n] != o[:n]:
        bad.append("thread %d: gdb %s, fpinspect %s" % (tid, pcs, o))
print("\n".join(bad) or "ok %d threads" % len(gdb))
PY
)
	echo "$out"
	check "$VER innermost frames equal GDB's" test "${out#ok}" != "$out"
	check "$VER target still answers" ping_target
	stop_target
done
finish
