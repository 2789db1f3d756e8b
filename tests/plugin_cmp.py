# SPDX-License-Identifier: GPL-3.0-or-later
# plugin_cmp.py MODE PLUGIN.json CLI.json [MORE...]: "ok ..." or what
# differs; the debugger plugins' JSON against the CLI's (run-gdb.sh,
# run-lldb.sh). "GDB's attach" below: LLDB's stops the same way.
import json, sys
mode, a, b = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))

def frames(d, keys):
    return [[tuple(f.get(k) for k in keys) for f in s["frames"]] for s in d["stacks"]]

# GDB's attach (SIGSTOP) interrupts a goroutine's blocking syscall; the
# runtime restarts it, and exitsyscall may hand the goroutine to another M
# on the way. Before Go 1.23 entersyscall saved no BP either: sched.bp of a
# goroutine in a syscall is stale.
if mode == "goroutines":
    # how long a goroutine has waited is counted to each session's own stop
    # (a host debugger's session has none: null)
    def norm(g):
        g = dict(g, wait_ns=None, wait_minutes=None)
        return dict(g, bp=None, m=None) if g["status"] == "syscall" else g
    x = sorted(map(norm, a["goroutines"]), key=lambda g: g["goid"])
    y = sorted(map(norm, b["goroutines"]), key=lambda g: g["goid"])
    what = "%d goroutines" % len(x)
elif mode == "threads":
    # argv[4], argv[5]: the two goroutine lists; an M that ran a goroutine
    # in a syscall on either side may have passed it on: curg and stack not
    # compared for it
    sys_g = set(g["goid"] for f in sys.argv[4:6] for g in json.load(open(f))["goroutines"] if g["status"] == "syscall")
    moved = set(t["m"] for t in a["threads"] + b["threads"] if t["curg"] in sys_g)
    norm = lambda t: dict(t, curg=None, stack=None) if t["m"] in moved else t
    k = lambda t: (t["tid"] is None, t["tid"] or 0, t["m"] if t["m"] is not None else -1)
    x, y = sorted(map(norm, a["threads"]), key=k), sorted(map(norm, b["threads"]), key=k)
    if len(sys.argv) > 6 and sys.argv[6] == "live":
        # the runtime may start a thread (a new M) between the two attaches,
        # GDB's SIGSTOP having interrupted a syscall: the threads both saw
        # must agree, and the second attach may see one or two more
        tids = set(t["tid"] for t in x)
        extra = [t for t in y if t["tid"] not in tids]
        if len(extra) <= 2 and tids <= set(t["tid"] for t in y):
            y = [t for t in y if t["tid"] in tids]
    what = "%d threads" % len(x)
elif mode in ("summary", "summary-live"):
    # live: threads and Ms as in the threads mode: a new M may come between
    drop = ("target", "pause_seconds") + (("threads", "ms") if mode == "summary-live" else ())
    x = {k: v for k, v in a.items() if k not in drop}
    y = {k: v for k, v in b.items() if k not in drop}
    what = "%d goroutines" % x["goroutines"]
elif mode == "bt":  # everything about every frame
    x, y = a, b
    what = "%d stacks" % len(a["stacks"])
elif mode == "bt-pcfn":  # what a goroutine's frames are: pc and function
    x, y = frames(a, ("pc", "function")), frames(b, ("pc", "function"))
    what = "%d frames" % sum(len(s) for s in x)
elif mode in ("check", "check-live"):
    # two attaches of a live process: its idle threads (sysmon, Ms parked in
    # futex or a syscall) may be a frame deeper or shallower the second time,
    # and there may be a new one
    drop = ("frames", "threads") if mode == "check-live" else ()
    x = {k: v for k, v in a.items() if k not in drop}
    y = {k: v for k, v in b.items() if k not in drop}
    what = "%d findings (%s)" % (len(a["findings"]), " ".join(sorted(set(f["kind"] for f in a["findings"]))) or "none")
else:
    sys.exit("bad mode " + mode)
if x == y:
    print("ok " + what)
else:
    print("differ: %s\n  plugin: %s\n  cli:    %s" % (mode, json.dumps(x)[:1500], json.dumps(y)[:1500]))
