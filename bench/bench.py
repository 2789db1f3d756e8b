#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""fpinspect benchmark harness (run through bench/run.sh; see bench/README.md).

For each goroutine count N it starts tests/targets/states with -n N -depth D,
then on that one process measures

  * fpinspect: summary, goroutines, check, bt all --unwinder fp|dwarf, each
    run --reps times (median wall time; pause and peak RSS from --stats);
  * Delve:     dlv attach, `goroutines` and `goroutines -t DEPTH`, then detach;
  * GDB:       gdb -p with the toolchain's runtime-gdb.py, `info goroutines`
               and (small N only) `goroutine all bt`;

and prints markdown tables (also written to bench/out/results.md, raw numbers
to bench/out/results.json). Nothing is asserted: the targets from the issue
are listed as met or missed, the exit status is 0 unless the harness itself
fails.
"""

import argparse
import hashlib
import json
import os
import platform
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

STATS_RE = re.compile(r"stats: pause ([0-9.]+) ms, total ([0-9.]+) ms, peak RSS ([0-9.]+) MB")
# fpinspect prints phase timings with FPI_TIMING set (a development aid:
# picked up when present, e.g. "timing: load 80.1 ms, stop 0.9 ms").
TIMING_RE = re.compile(r"(load|plan|stop|snapshot|copy|release|detach|output|command)\s+([0-9.]+) ms")
CHECK_RE = re.compile(r"check: (\d+) threads, (\d+) goroutines, (\d+) frames walked")

FPI_COMMANDS = [
    ("summary", ["summary"]),
    ("goroutines", ["goroutines"]),
    ("check", ["check"]),
    ("bt all --unwinder fp", ["bt", "all", "--unwinder", "fp"]),
    ("bt all --unwinder dwarf", ["bt", "all", "--unwinder", "dwarf"]),
]

# The targets, checked at N = 100,000, depth 10, pure-Go build.
TARGET_N, TARGET_DEPTH = 100000, 10


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def fmt_n(n):
    if n >= 1000000 and n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n >= 1000 and n % 1000 == 0:
        return "%dk" % (n // 1000)
    return str(n)


def read_status(pid):
    """Fields of /proc/PID/status as a dict (empty if the process is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            return dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)
    except OSError:
        return {}


# --------------------------------------------------------------------------
# The target process


class Target:
    """tests/targets/states started by us: stdin is a pipe we hold open
    (closing it ends the program), stdout is read by a thread."""

    def __init__(self, exe, n, depth, errpath, setup_timeout):
        self.exe, self.n, self.depth = exe, n, depth
        self.lines = queue.Queue()
        self.meta = {}
        self.errf = open(errpath, "wb")
        t0 = time.perf_counter()
        self.p = subprocess.Popen([exe, "-n", str(n), "-depth", str(depth)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.errf, bufsize=0)
        self.pid = self.p.pid
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        deadline = t0 + setup_timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                self.kill()
                raise RuntimeError("target -n %d -depth %d: no READY within %d s" % (n, depth, setup_timeout))
            try:
                line = self.lines.get(timeout=min(left, 1.0))
            except queue.Empty:
                if self.p.poll() is not None:
                    raise RuntimeError("target -n %d exited with status %s before READY (stderr in %s)"
                                       % (n, self.p.returncode, errpath))
                continue
            if line is None:
                raise RuntimeError("target -n %d closed stdout before READY (status %s)" % (n, self.p.wait()))
            if line == "READY":
                break
            if line.startswith("M "):
                parts = line.split()
                if len(parts) >= 3:
                    self.meta[parts[1]] = parts[2]
        self.setup_s = time.perf_counter() - t0
        self.rss_mb = int(read_status(self.pid).get("VmRSS", "0 kB").split()[0]) / 1024.0
        self.threads = int(read_status(self.pid).get("Threads", "0"))
        self.pongs = 0

    def _read(self):
        for raw in self.p.stdout:
            self.lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self.lines.put(None)

    def ping(self, timeout):
        """Round trip of one "ping" line; returns seconds or None."""
        t0 = time.perf_counter()
        try:
            self.p.stdin.write(b"ping\n")
            self.p.stdin.flush()
        except OSError:
            return None
        deadline = t0 + timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                return None
            if line.startswith("pong"):
                return time.perf_counter() - t0

    def healthy(self, timeout=30.0):
        """Alive, not traced, not stopped, and answering pings."""
        if self.p.poll() is not None:
            return False, "exited with status %s" % self.p.returncode
        try:
            os.kill(self.pid, signal.SIGCONT)  # in case a killed debugger left it stopped
        except OSError:
            pass
        st = read_status(self.pid)
        if st.get("TracerPid", "0").strip() != "0":
            return False, "still traced by pid %s" % st.get("TracerPid").strip()
        if self.ping(timeout) is None:
            return False, "no answer to ping within %g s (State: %s)" % (timeout, st.get("State", "?"))
        return True, "ok"

    def stop(self):
        """Close stdin: the program exits."""
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()
        self.errf.close()

    def kill(self):
        if self.p.poll() is None:
            try:
                os.kill(self.pid, signal.SIGCONT)
                self.p.kill()
            except OSError:
                pass
            self.p.wait()
        try:
            self.p.stdin.close()
        except OSError:
            pass


class StallMonitor:
    """Pings the target every `interval` seconds while a tool runs and keeps the
    longest round trip: how long the target was seen not answering. It covers
    Delve and GDB, which have no --stats, and cross-checks fpinspect's own pause."""

    def __init__(self, target, interval):
        self.target, self.interval = target, interval
        self.max = 0.0
        self.lost = False
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            rt = self.target.ping(timeout=600)
            if rt is None:
                self.lost = True
                return
            self.max = max(self.max, rt)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(timeout=610)


# --------------------------------------------------------------------------
# Running a tool


class Run:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def run_tool(argv, stdout_path, stderr_path, timeout, env=None, stdin_data=None, graceful=False):
    """Run argv; wall time from spawn to reap, the child's peak RSS from wait4.
    On timeout: SIGINT (if graceful), then SIGTERM, then SIGKILL, 10 s apart."""
    out = open(stdout_path, "wb") if stdout_path != os.devnull else subprocess.DEVNULL
    err = open(stderr_path, "wb")
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
                         stdout=out, stderr=err, env=env)
    timed_out = threading.Event()
    done = threading.Event()

    def watchdog():
        # the deadline counts from before the spawn: exec may itself be slow
        if done.wait(max(0.0, t0 + timeout - time.perf_counter())):
            return
        timed_out.set()
        for sig in ([signal.SIGINT] if graceful else []) + [signal.SIGTERM, signal.SIGKILL]:
            try:
                os.kill(p.pid, sig)
            except OSError:
                return
            if done.wait(10):
                return

    wd = threading.Thread(target=watchdog, daemon=True)
    wd.start()
    if stdin_data is not None:
        try:
            p.stdin.write(stdin_data)
            p.stdin.close()
        except OSError:
            pass
    while True:
        try:
            _, status, ru = os.wait4(p.pid, 0)
            break
        except InterruptedError:
            continue
    wall = time.perf_counter() - t0
    done.set()
    p.returncode = os.waitstatus_to_exitcode(status)
    if out is not subprocess.DEVNULL:
        out.close()
    err.close()
    with open(stderr_path, "rb") as f:
        stderr = f.read().decode("utf-8", "replace")
    return Run(argv=argv, wall=wall, rc=p.returncode, rss_mb=ru.ru_maxrss / 1024.0,
               cpu=ru.ru_utime + ru.ru_stime,
               timed_out=timed_out.is_set(), stderr=stderr)


# --------------------------------------------------------------------------
# The benchmark


class Bench:
    def __init__(self, args):
        self.a = args
        self.out = args.out
        os.makedirs(self.out, exist_ok=True)
        self.scratch = os.path.join(self.out, "scratch")
        os.makedirs(self.scratch, exist_ok=True)
        self.results = []      # one dict per (variant, depth, N)
        self.notes = []
        self.md = []

    # ---- setup ----

    def find_fpinspect(self):
        b = self.a.builddir
        real = os.path.join(b, ".libs", "fpinspect")
        wrapper = os.path.join(b, "fpinspect")
        env = dict(os.environ)
        # The libtool wrapper only sets LD_LIBRARY_PATH and execs .libs/fpinspect:
        # time the real binary, as an installed fpinspect would run.
        # One binary for the whole run: the tree may be rebuilt while we
        # measure, so the binary (and its shared library) is copied first.
        snap = os.path.join(self.out, "fpi")
        if os.path.isfile(real) and os.access(real, os.X_OK):
            shutil.rmtree(snap, ignore_errors=True)
            os.makedirs(snap)
            libdir = os.path.join(b, ".libs")
            for f in os.listdir(libdir):
                if f == "fpinspect" or (f.startswith("libfpinspect.so") and not os.path.islink(os.path.join(libdir, f))):
                    shutil.copy2(os.path.join(libdir, f), snap)
            for f in os.listdir(libdir):  # the soname links
                if f.startswith("libfpinspect.so") and os.path.islink(os.path.join(libdir, f)):
                    os.symlink(os.readlink(os.path.join(libdir, f)), os.path.join(snap, f))
            env["LD_LIBRARY_PATH"] = snap + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
            self.fpi, self.fpi_env = os.path.join(snap, "fpinspect"), env
            self.fpi_from = real
        elif os.path.isfile(wrapper) and os.access(wrapper, os.X_OK):
            self.fpi, self.fpi_env, self.fpi_from = wrapper, env, wrapper
        else:
            raise SystemExit("bench: no fpinspect binary in %s (run make first)" % b)
        h = hashlib.sha256()
        for f in sorted(os.listdir(os.path.dirname(self.fpi))):
            p = os.path.join(os.path.dirname(self.fpi), f)
            if (f == "fpinspect" or f.startswith("libfpinspect.so")) and os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as fh:
                    h.update(fh.read())
        self.fpi_id = "sha256 %s…, built %s" % (h.hexdigest()[:12], time.strftime(
            "%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(self.fpi_from))))
        r = subprocess.run([self.fpi, "--version"], env=self.fpi_env, capture_output=True, text=True)
        self.fpi_version = (r.stdout.strip() or r.stderr.strip()).splitlines()[0] if (r.stdout or r.stderr) else "?"

    def go_env(self, var):
        return subprocess.run(["go", "env", var], capture_output=True, text=True, check=True).stdout.strip()

    def build_targets(self):
        src = os.path.join(self.a.top, "tests", "targets", "states")
        env = dict(os.environ, GOFLAGS="-mod=mod", GOTOOLCHAIN="local")
        self.exes = {}
        log("building states (CGO_ENABLED=0) into %s" % self.out)
        exe = os.path.join(self.out, "states")
        subprocess.run(["go", "build", "-o", exe, "."], cwd=src, env=dict(env, CGO_ENABLED="0"), check=True)
        self.exes["go"] = exe
        if self.a.cgo_max_n > 0:
            log("building states with import \"C\" (CGO_ENABLED=1, go build -overlay)")
            # cgo insists on file names ending in .go, also for the file an
            # overlay maps to: copy the .go.in there first
            cgofile = os.path.join(self.scratch, "zz_bench_cgo.go")
            shutil.copyfile(os.path.join(self.a.top, "bench", "states_cgo.go.in"), cgofile)
            overlay = os.path.join(self.scratch, "overlay.json")
            with open(overlay, "w") as f:
                json.dump({"Replace": {os.path.join(src, "zz_bench_cgo.go"): cgofile}}, f)
            exe = os.path.join(self.out, "states-cgo")
            r = subprocess.run(["go", "build", "-overlay", overlay, "-o", exe, "."], cwd=src,
                               env=dict(env, CGO_ENABLED="1"), capture_output=True, text=True)
            if r.returncode == 0:
                self.exes["cgo"] = exe
            else:
                sys.stderr.write(r.stderr)
                self.note("cgo build skipped: go build with CGO_ENABLED=1 failed: %s"
                          % ((r.stderr.strip().splitlines() or ["?"])[-1][:200]))

    def setup_delve(self):
        self.dlv = None
        if self.a.no_delve:
            self.note("Delve not run (--no-delve).")
            return
        bindir = os.path.join(self.out, "bin")
        dlv = os.path.join(bindir, "dlv")
        if not os.access(dlv, os.X_OK):
            log("installing Delve: GOBIN=%s go install github.com/go-delve/delve/cmd/dlv@latest" % bindir)
            os.makedirs(bindir, exist_ok=True)
            env = dict(os.environ, GOBIN=bindir, GOFLAGS="")
            try:
                r = subprocess.run(["go", "install", "github.com/go-delve/delve/cmd/dlv@latest"],
                                   cwd=self.out, env=env, capture_output=True, text=True, timeout=900)
                ok = r.returncode == 0 and os.access(dlv, os.X_OK)
                why = (r.stderr.strip().splitlines() or ["?"])[-1]
            except subprocess.TimeoutExpired:
                ok, why = False, "timed out after 900 s"
            if not ok:
                self.note("Delve skipped: `go install github.com/go-delve/delve/cmd/dlv@latest` failed: %s" % why)
                return
        r = subprocess.run([dlv, "version"], capture_output=True, text=True)
        m = re.search(r"Version: (\S+)", r.stdout)
        self.dlv = dlv
        self.dlv_version = m.group(1) if m else "?"

    def setup_gdb(self):
        self.gdb = None
        if self.a.no_gdb:
            self.note("GDB not run (--no-gdb).")
            return
        gdb = shutil.which("gdb")
        rtgdb = os.path.join(self.go_env("GOROOT"), "src", "runtime", "runtime-gdb.py")
        if not gdb:
            self.note("GDB skipped: gdb not installed.")
            return
        if not os.path.isfile(rtgdb):
            self.note("GDB skipped: %s missing." % rtgdb)
            return
        self.gdb, self.rtgdb = gdb, rtgdb
        r = subprocess.run([gdb, "--version"], capture_output=True, text=True)
        self.gdb_version = r.stdout.splitlines()[0] if r.stdout else "?"

    def note(self, s):
        log(s)
        self.notes.append(s)

    def machine(self):
        cpu = "?"
        try:
            with open("/proc/cpuinfo") as f:
                for l in f:
                    if l.startswith("model name"):
                        cpu = l.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        mem = read_meminfo_total()
        info = [
            ("date", time.strftime("%Y-%m-%d %H:%M %Z")),
            ("nproc", subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()),
            ("CPU", cpu),
            ("memory", "%.1f GB" % (mem / 1024.0 / 1024.0) if mem else "?"),
            ("kernel", platform.release()),
            ("load average at start", loadavg()),
            ("go", subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()),
            ("fpinspect", "%s (%s; %s)" % (self.fpi_version, self.fpi_from, self.fpi_id)),
            ("Delve", self.dlv_version if self.dlv else "not run"),
            ("GDB", "%s + %s" % (self.gdb_version, self.rtgdb) if self.gdb else "not run"),
            ("reps", "%d per fpinspect command (median wall; median pause; max RSS); Delve and GDB once"
             % self.a.reps),
        ]
        return info

    # ---- measuring ----

    def fpinspect(self, target, label, cmd, reps, monitor):
        runs = []
        for i in range(reps):
            outp = os.devnull
            if label == "check":
                outp = os.path.join(self.scratch, "check.out")
            argv = [self.fpi, "attach", str(target.pid), "--stats"] + cmd
            env = dict(self.fpi_env, FPI_TIMING="1")
            if monitor:
                with StallMonitor(target, self.a.ping_interval) as mon:
                    r = run_tool(argv, outp, os.path.join(self.scratch, "fpi.err"), self.a.timeout,
                                 env=env)
                r.stall_ms = None if mon.lost else mon.max * 1e3
            else:
                r = run_tool(argv, outp, os.path.join(self.scratch, "fpi.err"), self.a.timeout,
                             env=env)
                r.stall_ms = None
            m = STATS_RE.search(r.stderr)
            r.pause_ms = float(m.group(1)) if m else None
            r.total_ms = float(m.group(2)) if m else None
            if m:
                r.rss_mb = float(m.group(3))
            r.phases = {}
            for line in r.stderr.splitlines():
                if line.startswith("timing:"):
                    for k, v in TIMING_RE.findall(line):
                        r.phases[k] = r.phases.get(k, 0.0) + float(v)
            r.frames = None
            if label == "check" and r.rc in (0, 1):
                with open(outp) as f:
                    cm = CHECK_RE.search(f.read())
                if cm:
                    r.frames = int(cm.group(3))
                    r.check_goroutines = int(cm.group(2))
            r.ok = r.rc in ((0, 1) if label == "check" else (0,)) and not r.timed_out
            runs.append(r)
            log("  fpinspect %-24s #%d: %.3f s  cpu %.3f s  rc=%d  pause=%s ms  rss=%.1f MB%s" % (
                label, i + 1, r.wall, r.cpu, r.rc, "%.1f" % r.pause_ms if r.pause_ms is not None else "?", r.rss_mb,
                "" if r.ok else "  FAILED: " + r.stderr.strip()[-300:]))
            if not r.ok:
                break
        walls = [r.wall for r in runs]
        med = sorted(runs, key=lambda r: r.wall)[(len(runs) - 1) // 2]
        pauses = [r.pause_ms for r in runs if r.pause_ms is not None]
        stalls = [r.stall_ms for r in runs if r.stall_ms is not None]
        row = {
            "tool": "fpinspect", "command": label,
            "ok": all(r.ok for r in runs),
            "wall": statistics.median(walls), "wall_min": min(walls), "wall_max": max(walls),
            "cpu": statistics.median(r.cpu for r in runs),
            "pause_ms": statistics.median(pauses) if pauses else None,
            "stall_ms": statistics.median(stalls) if stalls else None,
            "rss_mb": max(r.rss_mb for r in runs),
            "rc": runs[-1].rc, "timed_out": any(r.timed_out for r in runs),
            "stderr": "" if all(r.ok for r in runs) else runs[-1].stderr.strip()[-2000:],
            "n_runs": len(runs),
            "phases": med.phases,
        }
        fr = [r.frames for r in runs if getattr(r, "frames", None)]
        if fr:
            row["frames"] = fr[0]
        return row

    def debugger(self, target, tool, label, argv, stdin_data, timeout, count_fn, outname):
        outp = os.path.join(self.scratch, outname)
        log("  %s %s (timeout %d s) ..." % (tool, label, timeout))
        with StallMonitor(target, self.a.ping_interval) as mon:
            r = run_tool(argv, outp, outp + ".err", timeout, stdin_data=stdin_data, graceful=True)
        count = count_fn(outp)
        healthy, why = target.healthy()
        row = {
            "tool": tool, "command": label, "ok": r.rc == 0 and not r.timed_out and healthy,
            "wall": r.wall, "cpu": r.cpu, "pause_ms": None, "stall_ms": None if mon.lost else mon.max * 1e3,
            "rss_mb": r.rss_mb, "rc": r.rc, "timed_out": r.timed_out, "count": count,
            "target_after": why, "stderr": r.stderr.strip()[-1000:] if r.rc else "",
        }
        log("  %s %s: %.2f s rc=%d%s, %s goroutines seen, rss %.0f MB, target after: %s" % (
            tool, label, r.wall, r.rc, " TIMEOUT" if r.timed_out else "", count, r.rss_mb, why))
        if not self.a.keep_outputs:
            for p in (outp, outp + ".err"):
                try:
                    os.unlink(p)
                except OSError:
                    pass
        return row, healthy

    def one(self, variant, depth, n):
        exe = self.exes[variant]
        reps = self.a.reps
        log("== %s, depth %d, N = %d: starting target" % (variant, depth, n))
        t = Target(exe, n, depth, os.path.join(self.scratch, "target.err"), self.a.setup_timeout)
        res = {"variant": variant, "depth": depth, "n": n, "rows": [], "notes": []}
        try:
            res["setup_s"] = t.setup_s
            res["target_rss_mb"] = t.rss_mb
            res["threads"] = t.threads
            res["loadavg"] = loadavg()
            idle = [t.ping(5) for _ in range(20)]
            idle = [x for x in idle if x is not None]
            res["idle_ping_ms"] = max(idle) * 1e3 if idle else None
            log("   pid %d ready in %.1f s, RSS %.0f MB, %d threads" % (t.pid, t.setup_s, t.rss_mb, t.threads))

            # Goroutine count, from summary --json.
            r = subprocess.run([self.fpi, "attach", str(t.pid), "--json", "summary"], env=self.fpi_env,
                               capture_output=True, text=True, timeout=self.a.timeout)
            try:
                g = json.loads(r.stdout)["goroutines"]
            except (ValueError, KeyError):
                g = None
            res["goroutines"] = g
            res["count_ok"] = g is not None and g >= n
            if not res["count_ok"]:
                res["notes"].append("summary --json reported goroutines = %s, expected >= %d (rc %d: %s)"
                                    % (g, n, r.returncode, r.stderr.strip()[-300:]))
                log("   " + res["notes"][-1])

            for label, cmd in FPI_COMMANDS:
                res["rows"].append(self.fpinspect(t, label, cmd, reps, self.a.monitor_fpinspect))
                ok, why = t.healthy()
                if not ok:
                    res["notes"].append("target unhealthy after fpinspect %s: %s" % (label, why))
                    log("   " + res["notes"][-1])
                    t.kill()
                    t = Target(exe, n, depth, os.path.join(self.scratch, "target.err"), self.a.setup_timeout)

            debuggers = variant == "go" and n <= self.a.tool_max_n
            if self.dlv and debuggers:
                base = [self.dlv, "attach", str(t.pid), "--allow-non-terminal-interactive=true"]
                # `exit` in an attach session asks "Would you like to kill the
                # process? [Y/n]": answer n, so Delve detaches and the target lives.
                for label, cmd, name in (("goroutines", "goroutines", "dlv.out"),
                                         ("goroutines -t %d" % self.a.dlv_stack_depth,
                                          "goroutines -t %d" % self.a.dlv_stack_depth, "dlv-t.out")):
                    row, ok = self.debugger(t, "Delve", label, base, ("%s\nexit\nn\n" % cmd).encode(),
                                            self.a.timeout, count_dlv, name)
                    res["rows"].append(row)
                    if not ok:
                        res["notes"].append("target unhealthy after Delve %s: %s; restarted" % (label, row["target_after"]))
                        t.kill()
                        t = Target(exe, n, depth, os.path.join(self.scratch, "target.err"), self.a.setup_timeout)
            if self.gdb and debuggers:
                gdbcmds = [("info goroutines", self.a.timeout, count_gdb_info, "gdb.out")]
                if n <= self.a.gdb_bt_max_n:
                    gdbcmds.append(("goroutine all bt", self.a.gdb_bt_timeout, count_gdb_bt, "gdb-bt.out"))
                for label, to, fn, name in gdbcmds:
                    argv = [self.gdb, "-nx", "-batch", "-p", str(t.pid), "-ex", "source " + self.rtgdb,
                            "-ex", label]
                    row, ok = self.debugger(t, "GDB", label, argv, None, to, fn, name)
                    res["rows"].append(row)
                    if not ok:
                        res["notes"].append("target unhealthy after GDB %s: %s; restarted" % (label, row["target_after"]))
                        t.kill()
                        t = Target(exe, n, depth, os.path.join(self.scratch, "target.err"), self.a.setup_timeout)
        finally:
            t.stop()
        return res

    # ---- reporting ----

    def render(self, final):
        md = []
        md.append("# fpinspect benchmark\n")
        md.append("| | |\n|---|---|")
        for k, v in self.machine_info:
            md.append("| %s | %s |" % (k, str(v).replace("|", "\\|")))
        md.append("")
        md.append("Target: `tests/targets/states -n N -depth D` (N blocked goroutines in 7 wait kinds, each under D "
                  "frames of `main.recurse`, plus 1 spinning and 1 in read(2); GC off). `go` = CGO_ENABLED=0 build, "
                  "`cgo` = the same program with `import \"C\"` (runtime/cgo linked, pthread threads). "
                  "wall = spawn to exit of the tool, output to /dev/null (Delve/GDB: to a file). "
                  "pause = fpinspect --stats (first thread stopped to last released). "
                  "stall = longest ping round trip to the target while the tool ran (how long it was seen "
                  "stopped; Delve and GDB keep it stopped for their whole session). "
                  "RSS = tool's peak RSS (--stats; wait4 for Delve/GDB). "
                  "× goroutines = wall / fpinspect `goroutines` wall on the same process; "
                  "× bt fp = wall / fpinspect `bt all --unwinder fp` wall. "
                  "Delve and GDB run only for N <= %d%s.\n" % (
                      self.a.tool_max_n,
                      (", GDB `goroutine all bt` only for N <= %d (timeout %d s)" % (
                          self.a.gdb_bt_max_n, self.a.gdb_bt_timeout)) if self.a.gdb_bt_max_n > 0
                      else ", GDB `goroutine all bt` not run"))
        for s in self.notes:
            md.append("- " + s)
        if self.notes:
            md.append("")
        for res in self.results:
            md.extend(self.render_one(res))
        md.extend(self.render_scaling())
        md.extend(self.render_depth())
        md.extend(self.render_targets())
        if not final:
            md.append("\n_(partial: the run is still going)_")
        return "\n".join(md) + "\n"

    def render_one(self, res):
        md = []
        md.append("## N = %s, depth %d, %s build\n" % ("{:,}".format(res["n"]), res["depth"], res["variant"]))
        md.append("target: setup %.1f s, RSS %.0f MB, %d threads; summary --json: %s goroutines (%s); idle ping %s ms; load average %s"
                  % (res["setup_s"], res["target_rss_mb"], res["threads"], res.get("goroutines"),
                     ">= N ok" if res.get("count_ok") else "MISMATCH",
                     "%.2f" % res["idle_ping_ms"] if res.get("idle_ping_ms") is not None else "?",
                     res.get("loadavg", "?")))
        try:
            busy = float(res.get("loadavg", "0").split()[0]) > os.cpu_count() + 1  # +1: the target spins one
        except ValueError:
            busy = False
        if busy:
            md[-1] += " (**busy machine**: 1-min load above nproc + 1, wall times and pauses are inflated)"
        fr = next((r.get("frames") for r in res["rows"] if r.get("frames")), None)
        if fr and res.get("goroutines"):
            md[-1] += "; check walked %s frames (%.1f per goroutine)" % ("{:,}".format(fr), fr / res["goroutines"])
        md.append("")
        base_g = next((r["wall"] for r in res["rows"] if r["tool"] == "fpinspect" and r["command"] == "goroutines"
                       and r["ok"]), None)
        base_bt = next((r["wall"] for r in res["rows"] if r["tool"] == "fpinspect"
                        and r["command"] == "bt all --unwinder fp" and r["ok"]), None)
        md.append("| tool | command | wall s | CPU s | pause ms | stall ms | RSS MB | × goroutines | × bt fp | notes |")
        md.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in res["rows"]:
            notes = []
            if r["tool"] == "fpinspect" and r.get("n_runs", 1) > 1:
                notes.append("min %.3f, max %.3f" % (r["wall_min"], r["wall_max"]))
            if r.get("phases"):
                notes.append("phases ms: " + ", ".join("%s %.0f" % kv for kv in r["phases"].items()))
            if r.get("timed_out"):
                notes.append("**timeout** (killed after %.0f s)" % r["wall"])
            elif not r["ok"]:
                notes.append("**FAILED** rc=%s" % r["rc"])
            if "count" in r and r["count"] is not None:
                notes.append("%s goroutines listed" % "{:,}".format(r["count"]))
            if r["tool"] != "fpinspect" and r.get("target_after") not in (None, "ok"):
                notes.append("target after: " + r["target_after"])
            if r.get("stderr"):
                notes.append("stderr: `%s`" % r["stderr"].strip().splitlines()[-1][:200].replace("|", "\\|"))
            wall = ("%.3f" % r["wall"]) if r["wall"] < 10 else ("%.1f" % r["wall"])
            if r.get("timed_out"):
                wall = "> " + wall
            xg = "%.2f" % (r["wall"] / base_g) if base_g else "-"
            xb = "%.2f" % (r["wall"] / base_bt) if base_bt and (r["tool"] != "fpinspect" and
                                                                ("-t" in r["command"] or "bt" in r["command"])
                                                                or r["command"].startswith("bt")) else "-"
            md.append("| %s | %s | %s | %.3f | %s | %s | %s | %s | %s | %s |" % (
                r["tool"], r["command"], wall, r["cpu"],
                "%.1f" % r["pause_ms"] if r.get("pause_ms") is not None else "-",
                "%.1f" % r["stall_ms"] if r.get("stall_ms") is not None else "-",
                "%.1f" % r["rss_mb"], xg, xb, "; ".join(notes)))
        for s in res["notes"]:
            md.append("\n- " + s)
        md.append("")
        return md

    def series(self, fixed, varying):
        """Results grouped by (variant, fixed), two or more per group, each
        group sorted by varying: [((variant, fixed value), [results])]."""
        groups = {}
        for res in self.results:
            groups.setdefault((res["variant"], res[fixed]), []).append(res)
        return [(k, sorted(rs, key=lambda r: r[varying])) for k, rs in groups.items() if len(rs) >= 2]

    def render_scaling(self):
        md = []
        for (variant, depth), rs in self.series("depth", "n"):
            md.append("## Scaling: fpinspect, %s build, depth %d\n" % (variant, depth))
            md.append("Cost per goroutine and per frame walked (frames from `check`). Linear scaling = flat "
                      "µs/goroutine and ns/frame columns.\n")
            md.append("| command | N | wall s | CPU s | pause ms | RSS MB | µs / goroutine | ns / frame | pause µs / goroutine |")
            md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
            for label, _ in FPI_COMMANDS:
                for res in rs:
                    r = next((x for x in res["rows"] if x["tool"] == "fpinspect" and x["command"] == label), None)
                    if not r:
                        continue
                    g = res.get("goroutines") or res["n"]
                    fr = next((x.get("frames") for x in res["rows"] if x.get("frames")), None)
                    md.append("| %s | %s | %s%.3f | %.3f | %s | %.1f | %.2f | %s | %s |" % (
                        label, fmt_n(res["n"]), "" if r["ok"] else "FAILED ", r["wall"], r["cpu"],
                        "%.1f" % r["pause_ms"] if r.get("pause_ms") is not None else "-",
                        r["rss_mb"], r["wall"] / g * 1e6,
                        "%.1f" % (r["wall"] / fr * 1e9) if fr else "-",
                        "%.2f" % (r["pause_ms"] / g * 1e3) if r.get("pause_ms") is not None else "-"))
            md.append("")
            if len(rs) >= 3:
                md.extend(self.render_fit(rs))
        return md

    def render_depth(self):
        """The same N at several depths: cost per frame walked should stay
        flat (cost linear in goroutines x depth)."""
        md = []
        for (variant, n), rs in self.series("n", "depth"):
            md.append("## Depth: fpinspect, %s build, N = %s\n" % (variant, fmt_n(n)))
            md.append("Frames walked per goroutine grow with the depth; linear cost = flat ns/frame for the "
                      "walking commands, and a per-frame fit (wall = fixed + per-frame x frames) close to "
                      "every point.\n")
            md.append("| command | depth | frames / goroutine | wall s | pause ms | RSS MB | ns / frame | meas/fit |")
            md.append("|---|---:|---:|---:|---:|---:|---:|---:|")
            for label, _ in FPI_COMMANDS:
                if not label.startswith(("check", "bt")):
                    continue  # summary and goroutines walk no stack
                pts = []
                for res in rs:
                    r = next((x for x in res["rows"] if x["tool"] == "fpinspect" and x["command"] == label
                              and x["ok"]), None)
                    fr = next((x.get("frames") for x in res["rows"] if x.get("frames")), None)
                    if r and fr:
                        pts.append((res, r, fr))
                if len(pts) < 2:
                    continue
                a, b = linfit([(fr, r["wall"]) for _, r, fr in pts])
                for res, r, fr in pts:
                    g = res.get("goroutines") or res["n"]
                    fit = a + b * fr
                    md.append("| %s | %d | %.1f | %.3f | %s | %.1f | %.1f | %s |" % (
                        label, res["depth"], fr / g, r["wall"],
                        "%.1f" % r["pause_ms"] if r.get("pause_ms") is not None else "-",
                        r["rss_mb"], r["wall"] / fr * 1e9, "%.2f" % (r["wall"] / fit) if fit > 0 else "-"))
            md.append("")
        return md

    def render_fit(self, rs):
        """Least-squares wall = a + b * goroutines per command, and how far each
        measurement is from the line: linear cost = small deviations."""
        md = ["Linear fit per command (least squares on relative error), wall = fixed + per-goroutine × "
              "goroutines (CPU time in brackets), and each N's measured / fitted wall time:\n"]
        hdr = "| command | fixed ms | µs / goroutine | ns / frame | " + " | ".join(
            "N=%s meas/fit" % fmt_n(r["n"]) for r in rs) + " |"
        md.append(hdr)
        md.append("|---|---:|---:|---:|" + "---:|" * len(rs))
        fr_per_g = None
        for res in rs:
            fr = next((x.get("frames") for x in res["rows"] if x.get("frames")), None)
            if fr and res.get("goroutines"):
                fr_per_g = fr / res["goroutines"]
        for label, _ in FPI_COMMANDS:
            pts = []
            for res in rs:
                r = next((x for x in res["rows"] if x["tool"] == "fpinspect" and x["command"] == label
                          and x["ok"]), None)
                if r:
                    pts.append((res.get("goroutines") or res["n"], r["wall"], r["cpu"], res["n"]))
            if len(pts) < 2:
                continue
            (a, b), (ac, bc) = linfit([(x, y) for x, y, _, _ in pts]), linfit([(x, c) for x, _, c, _ in pts])
            dev = {n: y / (a + b * x) if a + b * x > 0 else float("nan") for x, y, _, n in pts}
            md.append("| %s | %.0f (%.0f) | %.2f (%.2f) | %s | %s |" % (
                label, a * 1e3, ac * 1e3, b * 1e6, bc * 1e6,
                "%.0f" % (b * 1e9 / fr_per_g) if fr_per_g else "-",
                " | ".join("%.2f" % dev[r["n"]] if r["n"] in dev else "-" for r in rs)))
        md.append("")
        return md

    def render_targets(self):
        md = []
        res = next((r for r in self.results if r["variant"] == "go" and r["n"] == TARGET_N
                    and r["depth"] == TARGET_DEPTH), None)
        big = [r for r in self.results if r["n"] >= 1000000]
        if not res and not big:
            return md
        md.append("## Targets from the issue (N = 100,000, depth 10, go build)\n")
        md.append("| target | limit | measured | |")
        md.append("|---|---:|---:|---|")

        def row(name, limit, val, unit):
            if val is None:
                md.append("| %s | %s %s | - | not measured |" % (name, limit, unit))
            else:
                md.append("| %s | %s %s | %s %s | %s |" % (name, limit, unit, val, unit,
                                                            "met" if float(val) <= limit else "**missed**"))

        if res:
            get = lambda c: next((x for x in res["rows"] if x["tool"] == "fpinspect" and x["command"] == c), None)
            g, c, fp, dw = get("goroutines"), get("check"), get("bt all --unwinder fp"), get("bt all --unwinder dwarf")
            row("goroutines wall", 0.3, "%.3f" % g["wall"] if g and g["ok"] else None, "s")
            row("check wall", 0.6, "%.3f" % c["wall"] if c and c["ok"] else None, "s")
            row("check pause", 100, "%.1f" % c["pause_ms"] if c and c.get("pause_ms") is not None else None, "ms")
            row("bt all --unwinder fp wall", 1.5, "%.3f" % fp["wall"] if fp and fp["ok"] else None, "s")
            row("bt all --unwinder dwarf wall", 4, "%.3f" % dw["wall"] if dw and dw["ok"] else None, "s")
            rss = [x["rss_mb"] for x in res["rows"] if x["tool"] == "fpinspect"]
            row("peak RSS (any command)", 200, "%.1f" % max(rss) if rss else None, "MB")
            pauses = [x["pause_ms"] for x in res["rows"] if x["tool"] == "fpinspect" and x.get("pause_ms") is not None]
            if pauses:
                md.append("| (pause, any command) | - | %.1f ms | max over commands |" % max(pauses))
        for r in big:
            bad = [x["command"] for x in r["rows"] if x["tool"] == "fpinspect" and not x["ok"]]
            md.append("| N = %s completes (%s build) | - | %s | %s |" % (
                "{:,}".format(r["n"]), r["variant"], "all commands ok" if not bad else "failed: " + ", ".join(bad),
                "met" if not bad and r.get("count_ok") else "**missed**"))
        md.append("")
        return md

    def save(self, final=False):
        text = self.render(final)
        with open(os.path.join(self.out, "results.md"), "w") as f:
            f.write(text)
        with open(os.path.join(self.out, "results.json"), "w") as f:
            json.dump({"machine": self.machine_info, "notes": self.notes, "results": self.results,
                       "args": {k: getattr(self.a, k) for k in RENDER_ARGS}}, f, indent=1)
        return text

    def run(self):
        self.find_fpinspect()
        self.build_targets()
        self.setup_delve()
        self.setup_gdb()
        self.machine_info = self.machine()
        if any(n > self.a.tool_max_n for n in self.a.ns) and (self.dlv or self.gdb):
            self.note("Delve and GDB are run only for N <= %d (at 1M they take many minutes and "
                      "gigabytes)." % self.a.tool_max_n)
        plan = []
        for depth in self.a.depths:
            for n in self.a.ns:
                plan.append(("go", depth, n))
            if "cgo" in self.exes:
                for n in self.a.ns:
                    if n <= self.a.cgo_max_n:
                        plan.append(("cgo", depth, n))
        if "cgo" in self.exes and any(n > self.a.cgo_max_n for n in self.a.ns):
            self.note("cgo build measured only for N <= %d." % self.a.cgo_max_n)
        for variant, depth, n in plan:
            try:
                self.results.append(self.one(variant, depth, n))
            except RuntimeError as e:
                self.note("%s build, depth %d, N = %d: %s" % (variant, depth, n, e))
            self.save()
        text = self.save(final=True)
        sys.stdout.write(text)
        log("written to %s" % os.path.join(self.out, "results.md"))


RENDER_ARGS = ("tool_max_n", "gdb_bt_max_n", "gdb_bt_timeout")


def rerender(path):
    """--render results.json: the markdown again, e.g. after changing this file."""
    with open(path) as f:
        d = json.load(f)
    a = argparse.Namespace(tool_max_n=100000, gdb_bt_max_n=10000, gdb_bt_timeout=120)
    for k, v in d.get("args", {}).items():
        setattr(a, k, v)
    b = Bench.__new__(Bench)
    b.a, b.machine_info, b.notes, b.results = a, d["machine"], d["notes"], d["results"]
    sys.stdout.write(b.render(True))


def linfit(pts):
    """Least squares y = a + b x on relative errors (weights 1/y^2), so that
    the smallest N counts as much as the largest."""
    w = [1.0 / (y * y) if y > 0 else 0.0 for _, y in pts]
    sw = sum(w)
    if sw == 0:
        return 0.0, 0.0
    mx = sum(wi * x for wi, (x, _) in zip(w, pts)) / sw
    my = sum(wi * y for wi, (_, y) in zip(w, pts)) / sw
    sxx = sum(wi * (x - mx) ** 2 for wi, (x, _) in zip(w, pts))
    b = sum(wi * (x - mx) * (y - my) for wi, (x, y) in zip(w, pts)) / sxx if sxx else 0.0
    return my - b * mx, b


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def read_meminfo_total():
    try:
        with open("/proc/meminfo") as f:
            for l in f:
                if l.startswith("MemTotal:"):
                    return int(l.split()[1])
    except OSError:
        pass
    return 0


def tail_text(path, nbytes=65536):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - nbytes))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def count_dlv(path):
    m = re.findall(r"\[(\d+) goroutines\]", tail_text(path))
    return int(m[-1]) if m else count_lines(path, re.compile(rb"^\s*\*?\s*Goroutine \d+ - "))


def count_lines(path, rx):
    n = 0
    try:
        with open(path, "rb") as f:
            for l in f:
                if rx.match(l):
                    n += 1
    except OSError:
        return None
    return n


def count_gdb_info(path):
    return count_lines(path, re.compile(rb"^[* ]\s*\d+\s+[a-z]+\s"))


def count_gdb_bt(path):
    # each goroutine's backtrace starts with frame #0
    return count_lines(path, re.compile(rb"^#0 "))


def main():
    ap = argparse.ArgumentParser(prog="bench/run.sh", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="N = 10000 only, 1 rep, no cgo build, no GDB goroutine all bt")
    ap.add_argument("--ns", help='goroutine counts (default "10000 100000 1000000")')
    ap.add_argument("--depth", default="10", help='frames of main.recurse (a list runs each: "10 40")')
    ap.add_argument("--reps", type=int, help="runs per fpinspect command (default 3, --quick 1)")
    ap.add_argument("--no-delve", action="store_true")
    ap.add_argument("--no-gdb", action="store_true")
    ap.add_argument("--tool-max-n", type=int, default=100000, help="largest N for Delve and GDB (100000)")
    ap.add_argument("--gdb-bt-max-n", type=int, default=10000, help="largest N for GDB goroutine all bt (10000)")
    ap.add_argument("--gdb-bt-timeout", type=int, default=120)
    ap.add_argument("--cgo-max-n", type=int, default=None, help="largest N for the cgo build (100000; 0: none)")
    ap.add_argument("--dlv-stack-depth", type=int, default=50, help="depth for Delve goroutines -t (50)")
    ap.add_argument("--timeout", type=int, default=300, help="per tool run, seconds (300)")
    ap.add_argument("--setup-timeout", type=int, default=600)
    ap.add_argument("--ping-interval", type=float, default=0.01)
    ap.add_argument("--no-monitor-fpinspect", dest="monitor_fpinspect", action="store_false",
                    help="do not ping the target during fpinspect runs (no stall column for them)")
    ap.add_argument("--no-build", action="store_true", help="do not run make fpinspect first (run.sh)")
    ap.add_argument("--keep-outputs", action="store_true", help="keep Delve/GDB outputs in bench/out/scratch")
    ap.add_argument("--top", required=True, help="source tree")
    ap.add_argument("--builddir", required=True, help="where fpinspect was built")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--render", metavar="RESULTS_JSON", help="only print the markdown for a results.json")
    if "--render" in sys.argv:
        i = sys.argv.index("--render")
        if i + 1 < len(sys.argv):
            return rerender(sys.argv[i + 1])
    a = ap.parse_args()
    if a.ns is None:
        a.ns = "10000" if a.quick else "10000 100000 1000000"
    a.ns = [int(x.replace(",", "").replace("_", "")) for x in a.ns.split()]
    a.depths = [int(x) for x in a.depth.split()]
    if a.reps is None:
        a.reps = 1 if a.quick else 3
    if a.cgo_max_n is None:
        a.cgo_max_n = 0 if a.quick else 100000
    if a.quick:
        a.gdb_bt_max_n = 0
    Bench(a).run()


if __name__ == "__main__":
    main()
