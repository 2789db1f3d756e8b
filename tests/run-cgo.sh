#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# cgo: a C-created thread inside a Go callback (an extra M), a goroutine
# locked in a C call, nested C -> Go -> C -> Go callbacks. The M fields the
# runtime keeps for them, per Go version (n/a where a version lacks them).
# Where the toolchain's runtime has golang/go#72870 (Go 1.21.13 here), the
# nested callback's M is caught with isExtraInC set under live Go frames.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace; need_python

for GO in $(go_toolchains); do
	VER=$(go_version_of "$GO")
	echo "== $VER"
	BIN=$(build_target cgo "$GO")
	start_target "$BIN" -mode basic
	"$FPI" attach "$TPID" --json threads >"$TDIR/t.json"
	check_eq "$VER threads exit" "$?" 0
	"$FPI" attach "$TPID" --json goroutines >"$TDIR/g.json"
	check_eq "$VER goroutines exit" "$?" 0
	CB=$(awk '/^G .* callback$/{print $2}' "$TOUT")
	"$FPI" attach "$TPID" --json bt "g$CB" --unwinder both >"$TDIR/bt.json"
	check_eq "$VER bt exit" "$?" 0
	BUG=0
	go_bug_72870 "$GO" && BUG=1
	echo "golang/go#72870 in this runtime: $BUG"
	"$FPI" attach "$TPID" --json check >"$TDIR/c.json"
	check_eq "$VER cgo program: check exit (1 where the runtime has golang/go#72870)" "$?" "$BUG"
	out=$(python3 - "$TOUT" "$TDIR" "$VER" "$BUG" <<'PY'
import json, sys
out, tdir, ver, bug = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
minor = int(ver.split(".")[1])
lines = open(out).read().split("\n")
facts = {l.split()[1]: l.split()[2] for l in lines if l.startswith("M ")}
kinds = {l.split()[2]: int(l.split()[1]) for l in lines if l.startswith("G ")}
th = {t["tid"]: t for t in json.load(open(tdir + "/t.json"))["threads"] if t["tid"] is not None}
nothread = [t for t in json.load(open(tdir + "/t.json"))["threads"] if t["tid"] is None]
gs = {g["goid"]: g for g in json.load(open(tdir + "/g.json"))["goroutines"]}
bt = json.load(open(tdir + "/bt.json"))["stacks"][0]
chk = json.load(open(tdir + "/c.json"))
bad = []
def want(what, got, exp):
    if got != exp:
        bad.append("%s: got %r, want %r" % (what, got, exp))
na = minor < 20          # isextra arrived in 1.20
na_inc = minor < 21      # isExtraInC in 1.21
cb = th[int(facts["ctid_callback"])]
want("callback thread isextra", cb["isextra"], None if na else True)
want("callback thread lockedg", cb["lockedg"], kinds["callback"])
want("callback thread has_cgo_on_stack", cb["has_cgo_on_stack"], None if na else True)
nt = th[int(facts["ctid_nested"])]
want("nested thread isextra", nt["isextra"], None if na else True)
# golang/go#72870: the nested goroutine's M still claims to be in C after
# the inner callback returned, with the goroutine's Go frames live on it
want("nested thread isExtraInC", nt["is_extra_in_c"], None if na_inc else bug)
want("nested thread lockedg", nt["lockedg"], kinds["nested"])
lk = th[int(facts["lockedtid"])]
want("C-calling thread ncgo", lk["ncgo"] >= 1, True)
want("C-calling thread incgo", lk["incgo"], True)
want("C-calling thread curg", lk["curg"], kinds["cgocall"])
want("C-calling thread has_cgo_on_stack", lk["has_cgo_on_stack"], True)
for t in th.values():
    if t["tid"] not in (cb["tid"], nt["tid"]) and t["isextra"] not in (None, False):
        bad.append("thread %d isextra %r" % (t["tid"], t["isextra"]))
want("goroutine callback", (gs[kinds["callback"]]["status"], gs[kinds["callback"]]["wait_reason"]), ("waiting", "chan receive"))
want("goroutine nested", (gs[kinds["nested"]]["status"], gs[kinds["nested"]]["wait_reason"]), ("waiting", "chan receive"))
want("goroutine cgocall status", gs[kinds["cgocall"]]["status"], "syscall")
want("goroutine cgocall M", gs[kinds["cgocall"]]["m"], lk["m"])
# the DWARF stack of the callback goroutine goes through cgocallback into C
dfn = [f["function"] for f in bt["dwarf_frames"]]
for fn in ("main.goCallback1", "runtime.cgocallback", "crosscall2", "callback_thread"):
    if fn not in dfn:
        bad.append("dwarf bt of the callback goroutine lacks %s: %s" % (fn, dfn))
if "runtime.cgocallback" in dfn and "callback_thread" in dfn and dfn.index("callback_thread") < dfn.index("runtime.cgocallback"):
    bad.append("frame order")
cstack = [f["stack"] for f in bt["dwarf_frames"] if f["function"] == "callback_thread"]
want("callback_thread frame is on the C side", cstack[:1], ["C"])
if bug:
    # the live reproduction: exactly one error, for that goroutine and thread
    got = [(f["kind"], f["severity"], f["goid"], f["tid"]) for f in chk["findings"] if f["severity"] != "info"]
    want("check findings (golang/go#72870)", got,
         [("extra-in-c-with-go-frames", "error", kinds["nested"], nt["tid"])])
elif chk["errors"] != 0 or chk["warnings"] != 0:
    bad.append("check on a healthy cgo program: %r" % chk["findings"])
print("\n".join(bad) if bad else "ok")
PY
)
	echo "$out"
	check "$VER cgo threads, goroutines, callback stack" test "$out" = ok
	check "$VER target still answers" ping_target
	stop_target
done
finish
