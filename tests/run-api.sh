#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The public API as a user gets it: the library exports exactly the
# FPI_PUBLIC functions of fpinspect.h; tests/example_api.c, built against a
# staging install with nothing but the installed header and pkg-config,
# attaches to a Go program and lists the same goroutines, statuses, frame
# pcs and findings as the CLI's --json output of the same stopped program.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace; need_python
command -v pkg-config >/dev/null 2>&1 || skip_or_fail "pkg-config not installed"

# ---- exported symbols
grep -o 'FPI_PUBLIC [^(]*(' "$top_srcdir/inspector/fpinspect.h" | sed 's/($//; s/.*[ *]//' | grep '^fpi_' | sort >"$TDIR/want"
nm -D --defined-only "$top_builddir/.libs/libfpinspect.so" | awk '{sub(/@.*/, "", $3); print $3}' | grep -v '^LIBFPINSPECT' | sort >"$TDIR/got"
check "exports exactly fpinspect.h's FPI_PUBLIC functions" cmp -s "$TDIR/want" "$TDIR/got"
diff "$TDIR/want" "$TDIR/got"
check "some are exported" test -s "$TDIR/got"

# ---- a staging install, and the example built from it alone
STAGE="$TDIR/stage"
make -C "$top_builddir" install DESTDIR="$STAGE" >"$TDIR/install.log" 2>&1
check_eq "make install DESTDIR" "$?" 0 || tail -20 "$TDIR/install.log"
PC=$(find "$STAGE" -name libfpinspect.pc | head -1)
check "the .pc file is installed" test -n "$PC"
LIBDIR=$(dirname "$(dirname "$PC")")
export PKG_CONFIG_PATH="$(dirname "$PC")" PKG_CONFIG_SYSROOT_DIR="$STAGE"
CFLAGS=$(pkg-config --cflags libfpinspect) && LIBS=$(pkg-config --libs libfpinspect)
check_eq "pkg-config libfpinspect" "$?" 0
# shellcheck disable=SC2086
${CC:-cc} -std=c11 -Wall -Werror -o "$TDIR/example_api" "$top_srcdir/tests/example_api.c" $CFLAGS $LIBS \
	-Wl,-rpath,"$LIBDIR"
check_eq "example_api builds from the installed header and pkg-config" "$?" 0
[ -x "$TDIR/example_api" ] || finish
check "it runs on the installed library" sh -c "ldd '$TDIR/example_api' | grep -q '$STAGE'"

# ---- the same answers as the CLI, on one stopped program
BIN=$(build_target states "$(command -v go)")
start_target "$BIN" -n 50 -depth 4
kill -STOP "$TPID"
"$FPI" attach "$TPID" --json goroutines >"$TDIR/g.json"
"$FPI" attach "$TPID" --json threads >"$TDIR/t.json"
"$FPI" attach "$TPID" --json bt all >"$TDIR/bt.json"
"$FPI" attach "$TPID" --json check >"$TDIR/c.json"
"$TDIR/example_api" "$TPID" >"$TDIR/ex.txt" 2>"$TDIR/ex.err"
check_eq "example_api exit status (0: no error findings)" "$?" 0 || cat "$TDIR/ex.err"
kill -CONT "$TPID"
ping_target
check "the program goes on" test $? -eq 0

python3 - "$TDIR" <<'PY' >"$TDIR/cmp.txt"
import json, sys
d = sys.argv[1]
g = json.load(open(d + "/g.json"))["goroutines"]
t = json.load(open(d + "/t.json"))["threads"]
bt = json.load(open(d + "/bt.json"))["stacks"]
c = json.load(open(d + "/c.json"))
ex = [l.rstrip("\n").split("\t") for l in open(d + "/ex.txt")]
bad = []
eg = {int(l[1]): (l[2], l[3]) for l in ex if l[0] == "goroutine"}  # tab-separated: reasons have blanks
cg = {x["goid"]: (x["status"], x["wait_reason"] or "-") for x in g}
if eg != cg:
    bad.append("goroutines: api %s cli %s" % (sorted(eg.items())[:5], sorted(cg.items())[:5]))
et = [int(l[1]) for l in ex if l[0] == "thread"]
ct = [x["tid"] for x in t if x["tid"] is not None]
if et != ct:
    bad.append("threads: api %s cli %s" % (et, ct))
em = {int(l[1]): (l[3], l[4]) for l in ex if l[0] == "m"}
for x in t:
    if x["m"] is not None and x["tid"] is not None:
        want = (("n/a" if x["isextra"] is None else str(int(x["isextra"]))),
                ("n/a" if x["is_extra_in_c"] is None else str(int(x["is_extra_in_c"]))))
        if em.get(x["m"]) != want:
            bad.append("M%d: api %s cli %s" % (x["m"], em.get(x["m"]), want))
ef = {}
for l in ex:
    if l[0] == "frame":
        ef.setdefault(int(l[1]), []).append(l[3])
nstacks = 0
for s in bt:
    if "goid" not in s:
        continue
    pcs, seen = [], set()
    for f in s["frames"]:
        if f["index"] not in seen:  # inlined frames repeat the index
            seen.add(f["index"])
            pcs.append(f["pc"])
    if ef.get(s["goid"], []) != pcs:
        bad.append("g%d frames: api %s cli %s" % (s["goid"], ef.get(s["goid"]), pcs))
    nstacks += 1
efind = sorted((l[1], int(l[2]), int(l[3]), int(l[4])) for l in ex if l[0] == "finding")
sev = {"error": 0, "warning": 1, "info": 2}
cfind = sorted((x["kind"], sev[x["severity"]], -1 if x["goid"] is None else x["goid"],
                -1 if x["tid"] is None else x["tid"]) for x in c["findings"])
if efind != cfind:
    bad.append("findings: api %s cli %s" % (efind, cfind))
print("compared %d goroutines, %d threads, %d stacks, %d findings" % (len(cg), len(ct), nstacks, len(cfind)))
for b in bad:
    print("BAD " + b)
PY
cat "$TDIR/cmp.txt"
check "the API and the CLI agree" sh -c "! grep -q '^BAD' '$TDIR/cmp.txt'"
check "goroutines were compared" grep -q "compared [1-9][0-9]* goroutines, [1-9]" "$TDIR/cmp.txt"
stop_target
finish
