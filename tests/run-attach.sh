#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Live attach on a program with hundreds of goroutines in known states, built
# with every Go toolchain on the machine: goroutine ids, statuses and wait
# reasons against what the program says of itself; threads against
# /proc/PID/task; the program goes on afterwards with no thread left stopped.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace; need_python

for GO in $(go_toolchains); do
	VER=$(go_version_of "$GO")
	echo "== $VER"
	BIN=$(build_target states "$GO")
	start_target "$BIN" -n 300 -running 1 -syscall 2
	"$FPI" attach "$TPID" --json goroutines >"$TDIR/g.json" 2>"$TDIR/g.err"
	check_eq "$VER goroutines exit status" "$?" 0
	"$FPI" attach "$TPID" --json threads >"$TDIR/t.json" 2>>"$TDIR/g.err"
	check_eq "$VER threads exit status" "$?" 0
	"$FPI" attach "$TPID" --json summary >"$TDIR/s.json"
	check_eq "$VER summary exit status" "$?" 0
	ls /proc/"$TPID"/task | sort -n >"$TDIR/tasks"
	cat "$TDIR/g.err"

	# Every goroutine the program created, in the state it put it in, with
	# the runtime's own wait-reason string; the rest are runtime goroutines.
	out=$(python3 - "$TOUT" "$TDIR/g.json" "$VER" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().split("\n")
d = json.load(open(sys.argv[2]))
ver = sys.argv[3]
minor = int(ver.split(".")[1])
gs = {g["goid"]: g for g in d["goroutines"]}
facts = {l.split()[1]: l.split()[2] for l in lines if l.startswith("M ")}
mine = {int(l.split()[1]): l.split()[2] for l in lines if l.startswith("G ")}
mine[int(facts["maingoid"])] = "main"
want = {
    "chanrecv": ("waiting", ["chan receive"]),
    "chansend": ("waiting", ["chan send"]),
    "select": ("waiting", ["select"]),
    "sleep": ("waiting", ["sleep"]),
    "mutex": ("waiting", ["sync.Mutex.Lock", "semacquire"] if minor < 20 else ["sync.Mutex.Lock"]),
    "cond": ("waiting", ["sync.Cond.Wait"]),
    "wg": ("waiting", ["sync.WaitGroup.Wait", "semacquire"] if minor < 25 else ["sync.WaitGroup.Wait"]),
    "syscall": ("syscall", [None]),
    "running": (("running", "runnable"), [None]),
}
bad = []
for goid, kind in mine.items():
    g = gs.get(goid)
    if g is None:
        bad.append("goroutine %d (%s) missing" % (goid, kind)); continue
    if kind == "main":
        continue
    st, wr = want[kind]
    if g["status"] not in (st if isinstance(st, tuple) else (st,)):
        bad.append("g%d %s: status %s, want %s" % (goid, kind, g["status"], st))
    if wr != [None] and g["wait_reason"] not in wr:
        bad.append("g%d %s: wait reason %r, want %r" % (goid, kind, g["wait_reason"], wr))
    if kind != "running" and not (int(g["stack_lo"], 16) <= int(g["sp"], 16) < int(g["stack_hi"], 16)):
        bad.append("g%d: sp outside its stack" % goid)
    if g["created_by"] is None or not g["created_by"].startswith("main."):
        bad.append("g%d: created_by %r" % (goid, g["created_by"]))
# the program's own count: every goroutine it has that is not a runtime one
if len(mine) != int(facts["numgoroutine"]):
    bad.append("G lines %d != numgoroutine %s" % (len(mine), facts["numgoroutine"]))
extra = [g for i, g in gs.items() if i not in mine]
for g in extra:
    if not (g["created_by"] or "").startswith("runtime."):
        bad.append("unexpected goroutine %d created by %r" % (g["goid"], g["created_by"]))
if len(gs) != len(mine) + len(extra) or len(extra) > 10:
    bad.append("%d goroutines listed, %d of the program's, %d runtime" % (len(gs), len(mine), len(extra)))
kinds = sorted(set(mine.values()))
print("\n".join(bad) if bad else "ok %d goroutines (%d the program's: %s)" % (len(gs), len(mine), " ".join(kinds)))
PY
)
	echo "$out"
	check "$VER goroutines match the program's own account" test "${out#ok}" != "$out"

	out=$(python3 - "$TDIR/t.json" "$TDIR/tasks" "$VER" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
tasks = [int(x) for x in open(sys.argv[2]).read().split()]
minor = int(sys.argv[3].split(".")[1])
th = [t for t in d["threads"] if t["tid"] is not None]
bad = []
if sorted(t["tid"] for t in th) != sorted(tasks):
    bad.append("threads %s != /proc tasks %s" % (sorted(t["tid"] for t in th), tasks))
for t in th:
    if t["m"] is None:
        bad.append("thread %d has no M" % t["tid"])
    for k in ("isextra", "is_extra_in_c"):
        if minor < 20 and t[k] is not None:
            bad.append("%s must be null (n/a) on Go 1.%d" % (k, minor))
    if minor >= 21 and (t["isextra"] is not False or t["is_extra_in_c"] is not False):
        bad.append("thread %d: isextra/isExtraInC %r %r in a program without cgo" % (t["tid"], t["isextra"], t["is_extra_in_c"]))
    if t["ncgo"] != 0:
        bad.append("thread %d: ncgo %r" % (t["tid"], t["ncgo"]))
    if t["stack"] not in ("g0", "gsignal", "curg", "other"):
        bad.append("thread %d: stack %r" % (t["tid"], t["stack"]))
ms = [t["m"] for t in d["threads"] if t["m"] is not None]
if len(ms) != len(set(ms)):
    bad.append("an M listed twice")
print("\n".join(bad) if bad else "ok %d threads" % len(th))
PY
)
	echo "$out"
	check "$VER threads match /proc/PID/task" test "${out#ok}" != "$out"

	check_eq "$VER summary go_version" "$(jq_py "$TDIR/s.json" 'print(d["go_version"])')" "$VER"
	check "$VER summary pause measured" jq_py "$TDIR/s.json" 'sys.exit(0 if 0 < d["pause_seconds"] < 5 else 1)'
	check_eq "$VER summary goroutines = listed" "$(jq_py "$TDIR/s.json" 'print(d["goroutines"])')" \
		"$(jq_py "$TDIR/g.json" 'print(len(d["goroutines"]))')"

	# text output has the same goroutines
	"$FPI" attach "$TPID" goroutines >"$TDIR/g.txt"
	check_eq "$VER text goroutines count line" "$(tail -1 "$TDIR/g.txt")" \
		"$(jq_py "$TDIR/g.json" 'print("%d goroutines" % len(d["goroutines"]))')"
	check "$VER text shows chan receive" grep -q "chan receive" "$TDIR/g.txt"

	# the program goes on, untouched
	sleep 0.2
	check_eq "$VER no thread left stopped" "$(stopped_threads "$TPID")" 0
	check "$VER target still answers" ping_target
	stop_target
done
finish
