#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compare `fpinspect dump` with the Go runtime's own SIGQUIT traceback.

usage: dumpcmp.py [--system] [--skip-first] [--running-suffix] RUNTIME_TRACEBACK FPINSPECT_DUMP

--skip-first: RUNTIME_TRACEBACK is runtime.Stack(all)'s, whose first
goroutine is its caller (running, not parked): left out.
--running-suffix: a goroutine the runtime shows [running] (the one that
crashed, in a GOTRACEBACK=crash dump) is printed from below the runtime's
own crash frames: its frames must end fpinspect's, which start at the
thread's registers.

Both are parsed into goroutine blocks: the header (goid, the status in the
brackets, the rest of the header: minutes, locked to thread), the frames
(function, file:line, +0xoff, and with --system fp= sp= pc=), and the
created-by line with its file:line. Argument words are ignored (fpinspect
prints them as "(...)"). Goroutine 0 (the g0 the signal interrupted) and
the frames of goroutines the runtime could not walk ("stack unavailable")
are left out. Prints "DIFF ..." lines and a summary
"dumpcmp: <n> goroutines, <n> frames compared, <n> differences"; exit 1 on
a difference.
"""
import re
import sys

HEADER = re.compile(r"^goroutine (\d+)(?: gp=\S+)?(?: m=\S+)?(?: mp=\S+)? \[([^\]]*)\]:$")
FILELINE = re.compile(r"^\t(.*:\d+)( \+0x[0-9a-f]+)?( fp=0x[0-9a-f]+ sp=0x[0-9a-f]+ pc=0x[0-9a-f]+)?$")


def parse(text, runtime):
    blocks = {}
    cur = None
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        ln = lines[i]
        i += 1
        m = HEADER.match(ln)
        if m:
            goid = int(m.group(1))
            cur = {"goid": goid, "status": m.group(2), "frames": [], "created": None,
                   "unavailable": False, "elided": None}
            if goid in blocks and runtime:
                # the interrupted goroutine, printed first: keep the first
                cur = {"frames": [], "created": None}
                continue
            blocks[goid] = cur
            continue
        if cur is None:
            continue
        if ln == "":
            cur = None
            continue
        if ln.strip() == "goroutine running on other thread; stack unavailable":
            cur["unavailable"] = True
            continue
        if re.match(r"^\.\.\.(additional|\d+) frames elided\.\.\.$", ln):
            cur["elided"] = ln
            continue
        nxt = lines[i] if i < len(lines) else ""
        fl = FILELINE.match(nxt)
        if ln.startswith("created by "):
            cur["created"] = (ln, fl.group(1) if fl else None, fl.group(2) if fl else None)
            i += 1
            continue
        if ln.startswith("\t") or "(" not in ln:
            continue  # registers, signal lines
        name = ln[:ln.rfind("(")]
        if not fl:
            raise SystemExit("dumpcmp: no file:line after %r: %r" % (ln, nxt))
        i += 1
        cur["frames"].append((name, fl.group(1), fl.group(2), fl.group(3)))
    return blocks


def main():
    args = sys.argv[1:]
    system = skip_first = running_suffix = False
    while args and args[0].startswith("--"):
        system |= args[0] == "--system"
        skip_first |= args[0] == "--skip-first"
        running_suffix |= args[0] == "--running-suffix"
        args = args[1:]
    text = open(args[0]).read()
    if skip_first:
        # runtime.Stack(all): its caller first, running; not parked
        m = re.search(r"^goroutine (\d+) ", text, re.M)
        first = int(m.group(1)) if m else None
    rt = parse(text, True)
    if skip_first and first is not None:
        rt.pop(first, None)
    fp = parse(open(args[1]).read(), False)
    rt.pop(0, None)
    if skip_first and first is not None:
        fp.pop(first, None)
    diffs = 0
    nframes = 0

    def diff(msg):
        nonlocal diffs
        diffs += 1
        print("DIFF " + msg)

    for goid in sorted(set(rt) | set(fp)):
        if goid not in fp:
            diff("goroutine %d [%s]: in the runtime's dump, not in fpinspect's" % (goid, rt[goid]["status"]))
            continue
        if goid not in rt:
            diff("goroutine %d [%s]: in fpinspect's dump, not in the runtime's" % (goid, fp[goid]["status"]))
            continue
        a, b = rt[goid], fp[goid]
        if a["status"] != b["status"]:
            diff("goroutine %d: header [%s], fpinspect [%s]" % (goid, a["status"], b["status"]))
        if a["created"] != b["created"]:
            diff("goroutine %d: %r, fpinspect %r" % (goid, a["created"], b["created"]))
        if a["unavailable"]:
            continue
        fa = a["frames"] if system else [f[:3] for f in a["frames"]]
        fb = b["frames"] if system else [f[:3] for f in b["frames"]]
        if running_suffix and a["status"] == "running" and len(fb) > len(fa):
            fb = fb[len(fb) - len(fa):]
        if fa != fb or a["elided"] != b["elided"]:
            diff("goroutine %d frames:\n  runtime:   %s\n  fpinspect: %s" % (
                goid, "\n             ".join(map(str, fa)), "\n             ".join(map(str, fb))))
        nframes += len(fa)
    print("dumpcmp: %d goroutines, %d frames compared, %d differences" % (len(rt), nframes, diffs))
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
