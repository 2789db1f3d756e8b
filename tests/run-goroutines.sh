#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# goroutines' columns against the Go runtime's own account of the same
# parked states program (-locked 2 -labels), built with every toolchain of
# the suite: the user location is the first frame of the runtime's
# runtime.Stack(all) and of dump; the wait minutes are those of the
# runtime's and of dump's headers (a GC cycle records g.waitsince, then the
# test waits past a minute, once for all toolchains); locked goroutines are
# those the runtime says are locked to a thread (and those that called
# LockOSThread); the parent goid is dump's "created by ... in goroutine N";
# the pprof labels are those each goroutine set; JSON fields are there,
# null where the Go version lacks them; --group partitions the goroutines;
# --filter and --status keep exactly what they say.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace; need_python

# start_one BIN: like start_target, each target with its own fd (3, 4, ...)
# so that all of them live through the one wait
NT=0
start_one() {
	NT=$((NT + 1))
	_fd=$((NT + 2))
	mkfifo "$TDIR/in$NT"
	"$@" <"$TDIR/in$NT" >"$TDIR/out$NT" 2>"$TDIR/err$NT" &
	eval "PID$NT=$!"
	_PIDS="$_PIDS $!"
	eval "exec $_fd>\"\$TDIR/in$NT\""
	_i=0
	while ! grep -q '^READY' "$TDIR/out$NT" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -gt 1200 ] && { echo "FAIL: target $* did not get ready"; tail "$TDIR/err$NT"; exit 99; }
		sleep 0.1
	done
}
# ask_one N REQUEST REPLY: as ask_target, for target N
ask_one() {
	_before=$(grep -c "^$3" "$TDIR/out$1")
	eval "echo '$2' >&$(($1 + 2))"
	_i=0
	while [ "$(grep -c "^$3" "$TDIR/out$1")" -le "$_before" ]; do
		_i=$((_i + 1))
		[ $_i -gt 200 ] && return 1
		sleep 0.05
	done
}

VERS=""
for GO in $(go_toolchains); do
	VER=$(go_version_of "$GO")
	BIN=$(build_target states "$GO")
	start_one env GOTRACEBACK=all "$BIN" -n 21 -depth 2 -running 0 -locked 2 -labels
	check "$VER: a GC cycle (records waitsince)" ask_one $NT gc "gc done"
	VERS="$VERS $VER"
done
# past a minute since every GC: the runtime's headers then say "1 minutes"
sleep 62

N=0
for VER in $VERS; do
	N=$((N + 1))
	eval "P=\$PID$N"
	D=$TDIR/$VER
	mkdir -p "$D"
	"$FPI" attach "$P" --json goroutines >"$D/g.json" 2>"$D/e1"
	check_eq "$VER goroutines --json: exit status" "$?" 0
	"$FPI" attach "$P" goroutines >"$D/g.txt" 2>"$D/e2"
	check_eq "$VER goroutines: exit status" "$?" 0
	"$FPI" attach "$P" dump >"$D/dump.txt" 2>"$D/e3"
	check_eq "$VER dump: exit status" "$?" 0
	"$FPI" attach "$P" --json goroutines --group >"$D/grp.json" 2>"$D/e4"
	check_eq "$VER goroutines --group --json: exit status" "$?" 0
	"$FPI" attach "$P" goroutines --group >"$D/grp.txt" 2>"$D/e5"
	check_eq "$VER goroutines --group: exit status" "$?" 0
	"$FPI" attach "$P" --json goroutines --status "chan receive" --filter 'main\.blockAs$' >"$D/flt.json" 2>"$D/e6"
	check_eq "$VER goroutines --status --filter: exit status" "$?" 0
	check "$VER: runtime.Stack(all)" ask_one $N stacks "STACKS END"
	sed -n '/^STACKS BEGIN$/,/^STACKS END$/p' "$TDIR/out$N" | sed '1d;$d' >"$D/stack.txt"
	python3 - "$D" "$TDIR/out$N" "$VER" >"$D/r" 2>&1 <<'PY'
import json, re, sys
d, outf, ver = sys.argv[1:4]
minor = int(ver.split(".")[1])
def blocks(path):
    out, cur = [], None
    for ln in open(path).read().split("\n"):
        if cur is None:
            if ln.startswith("goroutine "):
                cur = [ln]
        elif ln == "":
            out.append(cur); cur = None
        else:
            cur.append(ln)
    if cur: out.append(cur)
    return out
def parse(path):
    r = {}
    for b in blocks(path):
        m = re.match(r"goroutine (\d+) (?:gp=\S+ m=\S+ (?:mp=\S+ )?)?\[([^]]*)\]:", b[0])
        gid, hdr = int(m.group(1)), m.group(2).split(", ")
        mins = [int(x.split()[0]) for x in hdr[1:] if x.endswith(" minutes")]
        first = None
        if len(b) > 2 and not b[1].startswith("created by") and b[2].startswith("\t"):
            fn = re.sub(r"\([^()]*\)$", "", b[1])
            loc = b[2].strip().split(" ")[0]
            first = (fn, loc)
        created = [ln for ln in b if ln.startswith("created by ")]
        parent = None
        if created:
            pm = re.search(r" in goroutine (\d+)$", created[0])
            parent = int(pm.group(1)) if pm else None
        r[gid] = dict(minutes=mins[0] if mins else None, locked="locked to thread" in hdr, first=first,
                      parent=parent, created=bool(created))
    return r
J = {g["goid"]: g for g in json.load(open(d + "/g.json"))["goroutines"]}
D = parse(d + "/dump.txt")
S = parse(d + "/stack.txt")
glines = {}
for ln in open(outf):
    m = re.match(r"G (\d+) (\S+)$", ln.strip())
    if m: glines[int(m.group(1))] = m.group(2)
maingoid = int([ln.split()[2] for ln in open(outf) if ln.startswith("M maingoid ")][0])
def user(g):
    u = g["user"]
    return (u["function"], "%s:%d" % (u["file"], u["line"])) if u else None
def fname(f):
    # the runtime prints generic type arguments as [...]
    return re.sub(r"\[.*\]", "[...]", f) if f else f
bad = []
keys = ["wait_ns", "wait_minutes", "locked", "parent_goid", "user", "user_unknown", "labels"]
print("fields", all(all(k in g for k in keys) for g in J.values()))
print("parent null iff before 1.21", all((g["parent_goid"] is None) == (minor < 21) for g in J.values()))
# user location = first frame of the runtime's own dump and of dump
n_s = n_d = 0
for src, name in ((S, "runtime"), (D, "dump")):
    for gid, x in src.items():
        if gid == maingoid or gid not in J or x["first"] is None:
            continue
        u = user(J[gid])
        want = x["first"]
        if x["first"][0].startswith("runtime.") and not re.match(r"runtime\.[A-Z]", x["first"][0]):
            want = None  # only runtime frames: no user location
        got = (fname(u[0]), u[1]) if u else None
        if got != want:
            bad.append("%s g%d user %s want %s" % (name, gid, got, want))
        if name == "runtime": n_s += 1
        else: n_d += 1
print("user compared", n_s, n_d)
# the stack tops read were enough for every walk
print("user unknown", sum(1 for g in J.values() if g["user_unknown"]))
# wait minutes: the runtime's headers and dump's
n1 = 0
for src, name in ((S, "runtime"), (D, "dump")):
    for gid, x in src.items():
        if gid == maingoid or gid not in J:
            continue
        got = J[gid]["wait_minutes"]
        if x["minutes"] is not None:
            if got != x["minutes"]: bad.append("%s g%d minutes %s want %s" % (name, gid, got, x["minutes"]))
            n1 += name == "runtime"
        elif got not in (None, 0):
            bad.append("%s g%d minutes %s, header has none" % (name, gid, got))
print("minutes in runtime headers", n1)
# locked
for src, name in ((S, "runtime"), (D, "dump")):
    for gid, x in src.items():
        if gid in J and gid != maingoid and J[gid]["locked"] != x["locked"]:
            bad.append("%s g%d locked %s want %s" % (name, gid, J[gid]["locked"], x["locked"]))
locked = [g for g, k in glines.items() if k == "locked"]
print("locked goroutines", len(locked), all(J[g]["locked"] for g in locked))
# parent goid = dump's created by ... in goroutine N
np = 0
for gid, x in D.items():
    if x["parent"] is not None:
        np += 1
        if J[gid]["parent_goid"] != x["parent"]:
            bad.append("g%d parent %s want %s" % (gid, J[gid]["parent_goid"], x["parent"]))
print("parents compared", np, "(1.21+)" if minor >= 21 else "(none before 1.21)")
# labels: what each blocked goroutine set
kinds = ["chanrecv", "chansend", "select", "sleep", "mutex", "cond", "wg"]
nl = 0
for gid, k in glines.items():
    if k not in kinds: continue
    lb = J[gid]["labels"]
    if not lb or lb.get("kind") != k or int(lb.get("index", -1)) % 7 != kinds.index(k):
        bad.append("g%d labels %s want kind %s" % (gid, lb, k))
    nl += 1
print("labels compared", nl)
# --group: a partition, largest first, members share the user location
G = json.load(open(d + "/grp.json"))["groups"]
ids = [x for g in G for x in g["goids"]]
print("group partition", sorted(ids) == sorted(J) and len(ids) == len(set(ids)))
print("group largest first", [g["count"] for g in G] == sorted([g["count"] for g in G], reverse=True))
print("group counts", all(g["count"] == len(g["goids"]) for g in G))
for g in G:
    for x in g["goids"]:
        if J[x]["user"] != g["user"]: bad.append("group member g%d user %s, group's %s" % (x, J[x]["user"], g["user"]))
# --status "chan receive" --filter main.blockAs$
F = sorted(g["goid"] for g in json.load(open(d + "/flt.json"))["goroutines"])
want = sorted(g for g, k in glines.items() if k == "chanrecv")
print("filtered", F == want, len(F))
print("bad", len(bad))
for b in bad[:20]: print(" ", b)
PY
	sed "s/^/$VER: /" "$D/r"
	check_eq "$VER: JSON fields present" "$(sed -n 's/^fields //p' "$D/r")" True
	check_eq "$VER: parent_goid null exactly before Go 1.21" "$(sed -n 's/^parent null iff before 1.21 //p' "$D/r")" True
	check "$VER: user locations compared with the runtime's and dump's" \
		grep -q '^user compared [1-9][0-9]* [1-9][0-9]*$' "$D/r"
	check_eq "$VER: no user location unknown (the stack tops sufficed)" "$(sed -n 's/^user unknown //p' "$D/r")" 0
	check "$VER: the runtime's headers say minutes for the blocked goroutines" \
		sh -c "[ \$(sed -n 's/^minutes in runtime headers //p' '$D/r') -ge 21 ]"
	check_eq "$VER: the LockOSThread goroutines show locked" "$(sed -n 's/^locked goroutines //p' "$D/r")" "2 True"
	if [ "$(echo "$VER" | cut -d. -f2)" -ge 21 ]; then
		check "$VER: parent goids compared" grep -q '^parents compared [1-9]' "$D/r"
	fi
	check_eq "$VER: labels compared" "$(sed -n 's/^labels compared //p' "$D/r")" 21
	check_eq "$VER: --group partitions the goroutines" "$(sed -n 's/^group partition //p' "$D/r")" True
	check_eq "$VER: --group largest first" "$(sed -n 's/^group largest first //p' "$D/r")" True
	check_eq "$VER: --group counts" "$(sed -n 's/^group counts //p' "$D/r")" True
	check_eq "$VER: --status --filter keep exactly the chan receive goroutines in main.blockAs" \
		"$(sed -n 's/^filtered //p' "$D/r")" "True 3"
	check_eq "$VER: no value differs" "$(sed -n 's/^bad //p' "$D/r")" 0
	# the text table: its header, one row per goroutine, the JSON's count
	check "$VER: text header has the new columns" \
		grep -q '^GOID .* WAIT .* LOCKED PARENT .* USER  FUNCTION' "$D/g.txt"
	check_eq "$VER: text rows" "$(sed -n 's/^\([0-9]*\) goroutines$/\1/p' "$D/g.txt")" \
		"$(jq_py "$D/g.json" 'print(len(d["goroutines"]))')"
	check "$VER: text shows 1 minutes" grep -q ' 1 minutes ' "$D/g.txt"
	check "$VER: text shows labels" grep -q 'labels{index=0, kind=chanrecv}' "$D/g.txt"
	check_eq "$VER: --group text: one row per group" "$(($(wc -l <"$D/grp.txt") - 1))" \
		"$(jq_py "$D/grp.json" 'print(len(d["groups"]))')"
	ask_one $N ping pong || { NFAIL=$((NFAIL + 1)); echo "FAIL: $VER: the target answers afterwards"; }
done
"$FPI" attach "$PID1" goroutines --filter '(' >"$TDIR/o" 2>"$TDIR/e"
check_eq "bad regex: exit status 2" "$?" 2
check "bad regex: the message names it" grep -q "filter '('" "$TDIR/e"
finish
