#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compare fpinspect's goroutine stacks with the Go runtime's own traceback.

usage: oracle.py TRACEBACK GOROUTINES_JSON GLINES BT_JSON [BT_JSON...]

TRACEBACK is what a GOTRACEBACK=system program printed on stderr when it got
SIGQUIT; GOROUTINES_JSON is `fpinspect --json goroutines` and each BT_JSON
`fpinspect --json bt all [--unwinder U]`, all taken of the same parked
process just before the signal. GLINES is the target's stdout (its
"G <goid> <kind>" lines name the goroutines that never block).

Prints one line per difference ("DIFF ..."), one line per goroutine or
thread left out and why ("SKIP ..."), and a summary line
"oracle: <n> goroutines, <n> frames, <n> pcs compared, <n> differences".
Exit status 1 when there is a difference not in PENDING.
"""
import json
import re
import sys

# Differences in the shape of stacks that belong to the stack walker
# (inspector/stacks.c, another change under way), keyed by
# (go version prefix, unwinder, what). Each entry is reported as PENDING
# instead of DIFF; remove it when the walker is fixed.
PENDING = {
}

HEADER = re.compile(r"^goroutine (\d+)(?: gp=\S+)?(?: m=(\S+))?(?: mp=\S+)? \[([^\]]*)\]:$")
FILELINE = re.compile(r"^\t(.*):(\d+)(?: \+0x[0-9a-f]+)?(?: fp=0x[0-9a-f]+ sp=0x[0-9a-f]+ pc=(0x[0-9a-f]+))?$")
CREATED = re.compile(r"^created by (\S+)(?: in goroutine \d+)?$")
SIGLINE = re.compile(r"^PC=0x[0-9a-f]+ m=(\d+) sigcode=")
# 1.19 and 1.20 print "...additional frames elided..." after 100 frames and
# nothing of the rest; 1.21 and later print the innermost 50 and the
# outermost 50 physical frames around "...N frames elided...".
ELIDED = re.compile(r"^\.\.\.(?:additional|\d+) frames elided\.\.\.$")


def parse_traceback(text):
    """Goroutine blocks in print order: dicts with goid, m, status, frames
    (function, file, line, pc or None for an inlined frame), elided (index
    in frames where Go left frames out, or None), created_by, unavailable."""
    blocks = []
    sig_m = None
    cur = None
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        ln = lines[i]
        i += 1
        m = SIGLINE.match(ln)
        if m and sig_m is None:
            sig_m = m.group(1)
            continue
        m = HEADER.match(ln)
        if m:
            cur = {"goid": int(m.group(1)), "m": m.group(2), "status": m.group(3),
                   "frames": [], "elided": None, "created_by": None, "unavailable": False}
            blocks.append(cur)
            continue
        if cur is None:
            continue
        if ln == "":
            cur = None
            continue
        if ln.strip() == "goroutine running on other thread; stack unavailable":
            cur["unavailable"] = True
            continue
        if ELIDED.match(ln):
            cur["elided"] = len(cur["frames"])
            continue
        m = CREATED.match(ln)
        if m:
            cur["created_by"] = m.group(1)
            i += 1  # its file:line (the go statement: gopc), not a frame
            continue
        if ln.startswith("\t"):
            raise SystemExit("oracle: unexpected line in goroutine %d: %r" % (cur["goid"], ln))
        # "name(args)": the argument list holds no parentheses, so the last
        # "(" opens it; a name may hold some: "os.(*File).Read".
        name = ln[:ln.rfind("(")]
        inlined = ln.endswith("(...)")
        fl = FILELINE.match(lines[i]) if i < len(lines) else None
        if not fl:
            raise SystemExit("oracle: no file:line after %r: %r" % (ln, lines[i] if i < len(lines) else None))
        i += 1
        pc = None if inlined else fl.group(3)
        if not inlined and pc is None:
            raise SystemExit("oracle: no pc= after %r: was the target run with GOTRACEBACK=system?" % ln)
        cur["frames"].append((name, fl.group(1), int(fl.group(2)), pc))
    return sig_m, blocks


def go_name(fn):
    """fpinspect prints the symbol; Go's printFuncName (1.21+) prints a
    generic function's type arguments as "[...]"."""
    return re.sub(r"\[.*\]", "[...]", fn) if fn else fn


def fpi_frames(frames):
    return [(go_name(f["function"]), f["file"], f["line"], None if f["inlined"] else f["pc"])
            for f in frames]


def go_status(g):
    """The bracket Go prints: the wait reason for a waiting goroutine that
    has one, else the status name."""
    if g["status"] == "waiting" and g["wait_reason"]:
        return g["wait_reason"]
    return g["status"]


def main():
    tb_path, gor_path, glines_path = sys.argv[1:4]
    bt_paths = sys.argv[4:]
    version = None
    kinds = {}
    for ln in open(glines_path).read().split("\n"):
        p = ln.split()
        if len(p) == 3 and p[0] == "G":
            kinds[int(p[1])] = p[2]
    sig_m, blocks = parse_traceback(open(tb_path).read())
    gor = {g["goid"]: g for g in json.load(open(gor_path))["goroutines"]}
    ndiff = npending = ngor = nframes = npcs = 0
    out = []

    def diff(what, key=None):
        nonlocal ndiff, npending
        if key is not None and key in PENDING:
            npending += 1
            out.append("PENDING %s (%s)" % (what, PENDING[key]))
        else:
            ndiff += 1
            out.append("DIFF " + what)

    if not blocks:
        raise SystemExit("oracle: no goroutine in the traceback")
    go_ids = [b["goid"] for b in blocks]
    # Go prints the goroutine of the thread that took the signal first; the
    # rest come from allgs. Goroutine 0 is that thread's g0 (not in allgs).
    first = blocks[0]

    def signal_view(b):
        return b is first and not b["status"].startswith("syscall")
    want_ids = sorted(set(go_ids) - {0})
    got_ids = sorted(gor)
    if want_ids != got_ids:
        diff("goroutine ids: fpinspect only %s, Go only %s" %
             (sorted(set(got_ids) - set(want_ids)), sorted(set(want_ids) - set(got_ids))))
    for b in blocks:
        if b["goid"] == 0:
            continue
        g = gor.get(b["goid"])
        if g is None:
            continue
        # Which goroutines the signal itself changes, so that what Go printed
        # is not the instant fpinspect read:
        #  - the first one, the current goroutine of the thread that took
        #    SIGQUIT: sighandler prints it with tracebacktrap from the
        #    signal context's pc/sp (where that thread is now), not from
        #    g.sched as for a parked goroutine. Unless it is in a syscall:
        #    traceback1 then starts from syscallpc/syscallsp whatever pc it
        #    was given, as for any goroutine in _Gsyscall, so it is
        #    compared;
        #  - any goroutine running when the signal came: startpanic_m calls
        #    freezetheworld, which preemptall()s, so Go prints it either as
        #    "running on other thread; stack unavailable" or as runnable at
        #    the asyncPreempt it was just stopped at;
        #  - the spinners (G ... running) besides: they run between
        #    fpinspect's snapshot and the signal, so even one that both saw
        #    runnable may have run and been preempted elsewhere meanwhile.
        if signal_view(b):
            out.append("SKIP g%d: current goroutine of m%s, the thread that took SIGQUIT (Go unwinds it from the signal context)" %
                       (b["goid"], b["m"] or sig_m))
            continue
        if b["unavailable"] or b["status"].startswith("running") or g["status"] == "running":
            out.append("SKIP g%d: running (Go %r, fpinspect %r)" % (b["goid"], b["status"], g["status"]))
            continue
        if kinds.get(b["goid"]) == "running":
            out.append("SKIP g%d: spinner, runs between the snapshot and the signal (Go %r, fpinspect %r)" %
                       (b["goid"], b["status"], g["status"]))
            continue
        ngor += 1
        want_st = b["status"].split(",")[0]
        if want_st != go_status(g):
            diff("g%d status: got %r, want %r" % (b["goid"], go_status(g), want_st))
        if b["created_by"] is not None and b["created_by"] != go_name(g["created_by"]):
            diff("g%d created by: got %r, want %r" % (b["goid"], g["created_by"], b["created_by"]))
    for path in bt_paths:
        bt = json.load(open(path))
        uw = bt["unwinder"]
        stacks = {s["goid"]: s for s in bt["stacks"] if "goid" in s}
        for b in blocks:
            if signal_view(b) or b["goid"] == 0 or b["unavailable"] or b["goid"] not in gor:
                continue
            g = gor[b["goid"]]
            if b["status"].startswith("running") or g["status"] == "running" or kinds.get(b["goid"]) == "running":
                continue
            s = stacks.get(b["goid"])
            if s is None:
                diff("%s g%d: no stack in bt all" % (uw, b["goid"]))
                continue
            got = fpi_frames(s["frames"])
            want = b["frames"]
            pairs = []
            elided = b["elided"]
            if elided is None and sum(1 for w in want if w[3] is not None) == 100:
                # 1.19 and 1.20 stop at 100 physical frames and print
                # "...additional frames elided..." only when gentraceback
                # returns 100, but when printing it returns the number of
                # lines printed, inlined frames included: the line is
                # missing whenever an inlined frame was printed.
                elided = len(want)
            if elided is None:
                pairs = list(zip(range(len(want)), got, want))
                if len(got) != len(want):
                    diff("%s g%d (%s): %d frames, want %d; first extra: %s" % (
                        uw, b["goid"], b["status"], len(got), len(want),
                        got[len(want)] if len(got) > len(want) else want[len(got)]),
                        (uw, "len", b["goid"]))
            else:
                # Go printed frames[:elided] and frames[elided:] with a gap
                # between: compare the head from the top, the tail from the
                # bottom.
                e = elided
                if len(got) < len(want):
                    diff("%s g%d: %d frames, Go printed %d of more" % (uw, b["goid"], len(got), len(want)))
                pairs = list(zip(range(e), got[:e], want[:e]))
                tail = len(want) - e
                if tail:
                    pairs += [(len(got) - tail + k, a, w) for k, (a, w) in
                              enumerate(zip(got[-tail:], want[e:]))]
            for idx, a, w in pairs:
                nframes += 1
                if a[:3] != w[:3]:
                    diff("%s g%d (%s) frame %d: got %s %s:%d, want %s %s:%d" % (
                        (uw, b["goid"], b["status"], idx) + a[:3] + w[:3]), (uw, "frame", w[0]))
                    break  # the rest is off by the same step: one line says it
                if w[3] is not None:
                    npcs += 1
                    if a[3] != w[3]:
                        diff("%s g%d frame %d (%s): pc got %s, want %s" % (uw, b["goid"], idx, w[0], a[3], w[3]))
    for ln in out:
        print(ln)
    print("oracle: %d goroutines, %d frames, %d pcs compared, %d differences, %d pending" %
          (ngor, nframes, npcs, ndiff, npending))
    sys.exit(1 if ndiff else 0)


main()
