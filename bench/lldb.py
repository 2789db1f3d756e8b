#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""fp check inside LLDB against the CLI on one running target, the way
issue 14 states its goal (within 3x the CLI's time):

    python3 bench/lldb.py [--reps 5] [--builddir DIR] PID

times `fpinspect attach PID check`, `lldb -b -p PID` with only the plugin
imported (LLDB's own attach and detach), and the same with `fp check`; runs
interleaved, so load from elsewhere on the machine falls on all three alike.
Prints median, min and max wall time of each, and LLDB's time net of its
own attach (check - attach-only medians). Extra environment for the LLDB
runs with --env NAME=VALUE (FPI_LLDB_GAP=0 ...)."""

import argparse
import os
import statistics
import subprocess
import sys
import time


def timed(argv, env):
    t0 = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    dt = time.monotonic() - t0
    return dt, p.returncode, p.stdout.decode("utf-8", "replace")


def main():
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pid", type=int)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--builddir", default=top)
    ap.add_argument("--lldb", default="lldb-16")
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--plugin", help="the plugin to import (default: this tree's)")
    a = ap.parse_args()
    env = dict(os.environ)
    for kv in a.env:
        k, v = kv.split("=", 1)
        env[k] = v
    plugin = a.plugin or os.path.join(top, "gdbplugin", "fpinspect_lldb.py")
    env.setdefault("FPINSPECT_LIB", os.path.join(a.builddir, ".libs", "libfpinspect.so"))
    cli = [os.path.join(a.builddir, "fpinspect"), "attach", str(a.pid), "check"]
    base = [a.lldb, "--no-lldbinit", "-b", "-p", str(a.pid), "-o", "command script import " + plugin]
    runs = {"cli": [], "lldb attach only": [], "lldb fp check": []}
    for _ in range(a.reps):
        for name, argv in (("cli", cli), ("lldb attach only", base), ("lldb fp check", base + ["-o", "fp check"])):
            dt, rc, out = timed(argv, env)
            if name != "lldb attach only" and "goroutines," not in out:
                sys.exit("%s failed (%d):\n%s" % (name, rc, out))
            runs[name].append(dt)
    for name, v in runs.items():
        print("%-18s median %.2f s  min %.2f  max %.2f  (%d runs: %s)" %
              (name, statistics.median(v), min(v), max(v), len(v), " ".join("%.2f" % x for x in v)))
    c = statistics.median(runs["cli"])
    raw = statistics.median(runs["lldb fp check"])
    net = raw - statistics.median(runs["lldb attach only"])
    print("lldb / cli: raw %.1fx, net of LLDB's attach %.1fx (net %.2f s)" % (raw / c, net / c, net))


if __name__ == "__main__":
    main()
