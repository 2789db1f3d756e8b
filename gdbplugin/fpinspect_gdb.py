# SPDX-License-Identifier: GPL-3.0-or-later
# fpinspect GDB plugin: the `fp` commands.
#
# Loaded by gdbplugin/fpplugin (gdb -x .../fpplugin). This module is thin: it
# loads libfpinspect.so with ctypes and hands it a target whose memory reads,
# threads, registers and file mappings come from GDB, so the same C core that
# serves `fpinspect attach` and `fpinspect core` does the work, on whatever
# GDB has open: a live process, a core file, a gdbserver connection.
#
# Read-only by construction: the plugin reads registers of frame 0 of each
# thread and reads memory. It never resumes, stops or writes the inferior,
# and never changes registers (GDB's runtime-gdb.py `goroutine N bt` sets
# $pc/$sp, which fails on core files; we never need to). The selected thread
# and frame are restored after reading registers.

import os
import re

import gdb

__all__ = ["register"]

# ---------------------------------------------------------------- library

import fpinspect_ctypes as fpi

_MASK64 = (1 << 64) - 1
_REG_NAMES = fpi.REG_NAMES_X86_64[:-1]  # what GDB calls them; fs_base apart

_plugin_dir = os.path.dirname(os.path.abspath(__file__))


def _load_library():
    """The loaded library, or gdb.GdbError saying everywhere we looked."""
    try:
        return fpi.load_library(_plugin_dir)
    except fpi.Error as e:
        raise gdb.GdbError("fpinspect: %s" % e.message)


# ---------------------------------------------------------------- target


def _sysinfo_ehdr():
    """AT_SYSINFO_EHDR from GDB's view of the auxiliary vector (live or
    core): where the vDSO's ELF image is; 0 when GDB does not know."""
    try:
        text = gdb.execute("info auxv", to_string=True)
    except gdb.error:
        return 0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "AT_SYSINFO_EHDR":
            try:
                return int(parts[-1], 16)
            except ValueError:
                return 0
    return 0

def _Reader(inferior):
    """The read callback (fpi.PageReader: a page cache, one trip into GDB
    per page instead of per 8-byte read) over GDB's inferior memory."""
    def raw(addr, n):
        return inferior.read_memory(addr, n).tobytes()
    r = fpi.PageReader(raw, 4096, (gdb.MemoryError, gdb.error, ValueError, OverflowError))
    return r


def _int_reg(frame, name):
    v = frame.read_register(name)
    try:
        return int(v) & _MASK64
    except gdb.error:
        return int(v.cast(gdb.lookup_type("long"))) & _MASK64


def _arch(inf):
    """The register set GDB has for the inferior: arm64 for aarch64 (a
    core of an arm64 program in gdb-multiarch), amd64 otherwise."""
    try:
        name = inf.architecture().name()
    except (AttributeError, gdb.error):
        name = gdb.selected_frame().architecture().name()
    return fpi.ARCH_ARM64 if name.startswith("aarch64") else fpi.ARCH_X86_64


def _read_threads(inf):
    """[(tid, {register: value})] for every thread, frame 0, without
    running anything; the selected thread and frame are restored."""
    threads = [t for t in inf.threads() if t.is_valid() and not t.is_exited()]
    if not threads:
        raise gdb.GdbError("fpinspect: the inferior has no threads (is a process attached or a core loaded?)")
    for t in threads:
        if t.is_running():
            raise gdb.GdbError("fpinspect: thread %d is running; interrupt the program first "
                               "(fp commands read a stopped program and never stop or resume it)" % t.num)
    threads.sort(key=lambda t: t.num)  # GDB's numbering: /proc/PID/task or core note order
    try:
        orig_thread = gdb.selected_thread()
    except gdb.error:
        orig_thread = None
    try:
        orig_frame = gdb.selected_frame()
    except gdb.error:
        orig_frame = None
    out = []
    arch = _arch(inf)
    names = fpi.REG_NAMES_ARM64 if arch == fpi.ARCH_ARM64 else _REG_NAMES
    try:
        for t in threads:
            t.switch()
            f = gdb.newest_frame()
            try:
                regs = dict((n, _int_reg(f, n)) for n in names)
            except (gdb.error, ValueError) as e:
                raise gdb.GdbError("fpinspect: cannot read the registers of thread %d: %s "
                                   "(fp commands need an amd64 or arm64 program)" % (t.num, e))
            if arch == fpi.ARCH_X86_64:
                try:
                    regs["fs_base"] = _int_reg(f, "fs_base")
                except (gdb.error, ValueError):
                    pass  # the runtime model then matches threads to Ms by procid
            tid = t.ptid[1] or t.ptid[2] or t.ptid[0]
            out.append((tid, regs, arch))
    finally:
        if orig_thread is not None and orig_thread.is_valid():
            orig_thread.switch()
            if orig_frame is not None and orig_frame.is_valid():
                try:
                    orig_frame.select()
                except gdb.error:
                    pass
    return out


_MAP_RE = re.compile(r"^\s*(0x[0-9a-fA-F]+)\s+(0x[0-9a-fA-F]+)\s+(0x[0-9a-fA-F]+)\s+(0x[0-9a-fA-F]+)"
                     r"(?:\s+[r-][w-][x-][sp-])?\s+(/.*?)\s*$")


def _parse_mappings(text):
    out = []
    for line in text.splitlines():
        m = _MAP_RE.match(line)
        if m:
            out.append((int(m.group(1), 16), int(m.group(2), 16), int(m.group(4), 16), m.group(5)))
    return out


def _connection_type(inf):
    conn = getattr(inf, "connection", None)
    return getattr(conn, "type", None) if conn is not None else None


def _read_mappings(inf):
    """File-backed mappings (start, end, offset, path): /proc/PID/maps for a
    local live process (what `fpinspect attach` reads), otherwise `info proc
    mappings` (core files: their NT_FILE note; gdbserver: the remote /proc)."""
    if _connection_type(inf) == "native" and inf.pid > 0:
        maps = fpi.read_proc_maps(inf.pid)
        if maps is not None:
            return maps
    try:
        return _parse_mappings(gdb.execute("info proc mappings", to_string=True))
    except gdb.error:
        return []  # modules then come from the executable alone


def _executable(inf):
    ps = inf.progspace if hasattr(inf, "progspace") else gdb.current_progspace()
    exe = ps.filename if ps is not None else None
    if not exe:
        raise gdb.GdbError("fpinspect: no executable loaded; load the Go program with `file PROGRAM`")
    return exe


class _Session(object):
    """One libfpinspect session over what GDB has open now."""

    def __init__(self, lib, inf):
        self.fpi = None
        self.inf = inf
        self.key = None
        if inf.pid <= 0:
            raise gdb.GdbError("fpinspect: no process or core file: attach (gdb -p PID), "
                               "load a core (gdb PROGRAM CORE) or start the program first")
        self.exe = _executable(inf)
        threads = _read_threads(inf)
        self.tids = [t[0] for t in threads]
        self.reader = _Reader(inf)
        try:
            self.fpi = fpi.Session(lib, self.exe, inf.pid, self.reader.read)
            self._fill(threads)
        except fpi.Error as e:
            self.close()
            self._check_interrupt()
            raise gdb.GdbError("fpinspect: %s" % e.message)
        except BaseException:
            self.close()
            raise

    def _fill(self, threads):
        for tid, regs, arch in threads:
            self.fpi.add_thread(tid, regs, arch)
        for start, end, off, path in _read_mappings(self.inf):
            self.fpi.add_mapping(start, end, off, path)
        vdso = _sysinfo_ehdr()
        if vdso:
            self.fpi.set_vdso(vdso)
        self.fpi.load()
        self._check_interrupt()

    def _check_interrupt(self):
        if self.reader.interrupted:
            raise gdb.GdbError("fpinspect: interrupted")

    def _interrupted(self):
        if self.reader.interrupted:
            self.reader.interrupted = False
            raise gdb.GdbError("fpinspect: interrupted")

    def run(self, argv, json):
        """(status, output); status 2 raises gdb.GdbError."""
        try:
            st, text = self.fpi.run(argv, json)
        except fpi.Error as e:
            self._interrupted()
            raise gdb.GdbError("fpinspect: %s" % e.message)
        self._interrupted()
        return st, text

    @property
    def ptr(self):
        return self.fpi.ptr if self.fpi else None

    def close(self):
        if self.fpi:
            self.fpi.close()
            self.fpi = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


# A session is kept while nothing about the inferior can have changed:
# dropped on any resume, stop, exit, memory or register write, new objfile,
# new thread (also how loading another core shows) or inferior change.
_cache = None


def _invalidate(*_args):
    global _cache
    if _cache is not None:
        _cache.close()
        _cache = None


def _key(inf):
    conn = getattr(inf, "connection_num", None)
    ps = inf.progspace if hasattr(inf, "progspace") else gdb.current_progspace()
    tids = tuple(sorted((t.num, t.ptid) for t in inf.threads() if t.is_valid()))
    return (inf.num, inf.pid, conn, ps.filename if ps else None, tids)


def _session():
    global _cache
    lib = _load_library()
    inf = gdb.selected_inferior()
    key = _key(inf)
    if _cache is not None and _cache.key == key and _cache.ptr:
        return _cache
    _invalidate()
    s = _Session(lib, inf)
    s.key = key
    _cache = s
    return s


def _connect_events():
    ev = gdb.events
    for name in ("cont", "stop", "exited", "new_objfile", "clear_objfiles", "memory_changed",
                 "register_changed", "new_thread", "inferior_deleted", "new_inferior",
                 "inferior_call"):
        reg = getattr(ev, name, None)
        if reg is not None:
            reg.connect(_invalidate)


# ---------------------------------------------------------------- commands

_HELP_FALLBACK = {
    "summary": "Executable, Go version, architecture, threads, Ms, goroutines by status, and how long "
               "the process was stopped.",
    "threads": "One row per OS thread: TID, M id, the stack its SP is on (g0, gsignal, curg, other), curg "
               "and lockedg goids,\nisextra, isExtraInC, ncgo, incgo, hasCgoOnStack (ncgo > 0 || isextra). "
               "Ms without a thread follow.\nFields the program's Go version lacks show as n/a.",
    "goroutines": "One row per goroutine that is not dead: goid, status (+scan when the scan bit is held), "
                  "wait reason,\nhow long it has waited, M id, locked to its thread, parent goid, sched pc/sp/bp, "
                  "stack bounds,\nthe user location (the first frame outside the runtime), the function at "
                  "sched.pc, the creation\nsite and the pprof labels. --group, --filter REGEX, --status S: "
                  "as dump's.",
    "bt": "Backtrace of TARGET: a thread id, gGOID (g42), or all. Default unwinder fp (frame pointers);\n"
          "dwarf uses DWARF CFI; go the Go runtime's own method (pclntab's SP deltas, CFI for C frames);\n"
          "both shows fp and dwarf side by side and marks the first frame where they part; all: fp, dwarf\n"
          "and go.",
    "check": "Every check over every thread and goroutine: frame-pointer chains (fp-cycle, "
             "fp-out-of-bounds,\nfp-not-increasing, fp-misaligned), cgo state (cgo-fp-unsafe, "
             "extra-in-c-with-go-frames),\nfp-dwarf-mismatch, stack-not-owned. Exit status 1 when an "
             "error is found.",
}

# the first line of each help text: what `help fp` lists
_SUMMARY = {
    "summary": "Go version, threads, Ms and goroutines by status of the program.",
    "threads": "OS threads with their M, the stack they are on, and their cgo state.",
    "goroutines": "Goroutines: status, wait, M, locked, parent, sched registers, stack, user location, labels.",
    "bt": "Backtrace of a thread or goroutine (gGOID), or of all, by frame pointers or DWARF CFI.",
    "check": "Check frame-pointer chains, cgo state and stack ownership of every thread and goroutine.",
}

_USAGE = {
    "summary": "fp summary [--json] [--output FILE]",
    "threads": "fp threads [--json] [--output FILE]",
    "goroutines": "fp goroutines [--group] [--filter REGEX] [--status S] [--json] [--output FILE]",
    "bt": "fp bt TARGET [--unwinder fp|dwarf|go|both|all] [--json] [--output FILE]",
    "check": "fp check [--stacks] [--json] [--output FILE]",
}

_COMMON_HELP = """
--json prints one JSON document (on one line) instead of text; --output FILE
writes the output to FILE instead of the GDB console. The output is the same
as `fpinspect attach PID CMD` or `fpinspect core CORE CMD` would print. The
command's exit status (0 ok, 1 a check found problems) is left in $_fp_status.
Reads registers and memory only: never resumes, stops or writes the program."""


def _doc(name):
    text = lib = None
    try:
        lib = _load_library()
        h = lib.fpi_command_help(name.encode())
        text = h.decode("utf-8", "replace") if h else None
    except gdb.GdbError:
        pass
    text = text or _HELP_FALLBACK[name]
    doc = "%s\nUsage: %s\n\n%s\n" % (_SUMMARY.get(name) or fpi.command_summary(lib, name),
                                     _USAGE.get(name) or fpi.command_usage(lib, name), text.strip())
    return doc + _COMMON_HELP


def _parse(name, arg):
    """(argv for the library, json, output file)."""
    try:
        words = gdb.string_to_argv(arg)
    except Exception as e:
        raise gdb.GdbError("fp %s: %s" % (name, e))
    try:
        return fpi.parse_command(_load_library(), [name] + words)
    except fpi.Error as e:
        raise gdb.GdbError(e.message)


class _FpPrefix(gdb.Command):
    """Inspect the Go program GDB has open with fpinspect (goroutines, Ms, frame-pointer checks).

Works on a live process (gdb -p PID), a core file (gdb PROGRAM CORE), or a
gdbserver connection. The same C core as the fpinspect CLI does the work,
from registers and memory GDB reads: it never resumes, stops or writes the
program, and never changes registers, so `fp bt gGOID` also works on cores.
The library is libfpinspect.so ($FPINSPECT_LIB overrides where it is found)."""

    def __init__(self):
        super(_FpPrefix, self).__init__("fp", gdb.COMMAND_STACK, gdb.COMPLETE_NONE, True)

    def invoke(self, arg, from_tty):
        words = gdb.string_to_argv(arg)
        if not words:
            gdb.execute("help fp", from_tty)
            return
        raise gdb.GdbError("fp: unknown command '%s' (commands: %s; see help fp)" %
                           (words[0], " ".join(_names())))


class _FpCommand(gdb.Command):
    fp_name = None

    def __init__(self):
        super(_FpCommand, self).__init__("fp " + self.fp_name, gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        argv, json, output = _parse(self.fp_name, arg)
        self.dont_repeat()
        st, text = _session().run(argv, json)
        try:
            gdb.set_convenience_variable("_fp_status", st)
        except AttributeError:
            pass
        if output is not None:
            try:
                fpi.write_output(text, output, "fp " + self.fp_name)
            except fpi.Error as e:
                raise gdb.GdbError(e.message)
        else:
            gdb.write(text)
            if text and not text.endswith("\n"):
                gdb.write("\n")
            gdb.flush()

    def complete(self, text, word):
        try:
            if word is None:
                # first call: how to split words. Like file names: only at
                # blanks, so that "--json" and "/a/file" are one word each
                return gdb.COMPLETE_FILENAME
            token = "" if (not text or text[-1].isspace()) else text.split()[-1]
            if not token.endswith(word):
                token = word
            done = text[:len(text) - len(token)].split()
            cut = len(token) - len(word)
            opts = self.options()
            if done and done[-1] in ("--output", "-o"):  # profile's -o is a file too
                return [c[cut:] for c in _files(token)]
            if done and done[-1] == "--unwinder":
                cands = ["fp", "dwarf", "go", "both", "all"]
            elif done and done[-1] in [o for o, takes_value in opts if takes_value]:
                cands = []  # a value nobody can guess (--filter REGEX)
            else:
                cands = self.values(done, token) + [o for o, _ in opts if o not in done]
            return [c[cut:] for c in cands if c.startswith(token)]
        except Exception:  # completion must never fail loudly
            return []

    def options(self):
        """The library's options of the command (so that one added to the
        CLI completes here too), --json and --output."""
        try:
            return fpi.command_options(_load_library(), self.fp_name)
        except gdb.GdbError:
            return [("--json", False), ("--output", True)]

    def values(self, done, word):
        return []


def _files(prefix):
    import glob
    out = []
    for p in sorted(glob.glob(glob.escape(os.path.expanduser(prefix)) + "*")):
        if prefix.startswith("~"):
            p = "~" + p[len(os.path.expanduser("~")):]
        out.append(p + "/" if os.path.isdir(os.path.expanduser(p)) else p)
    return out


def _goids():
    try:
        return ["g%d" % g["goid"] for g in _session().fpi.goroutines()]
    except Exception:  # completion must never fail loudly
        return []


def _tids():
    try:
        return ["%d" % (t.ptid[1] or t.ptid[0]) for t in gdb.selected_inferior().threads()]
    except Exception:
        return []


class _FpBt(_FpCommand):
    fp_name = "bt"

    def values(self, done, word):
        plain = [w for i, w in enumerate(done)
                 if not w.startswith("-") and not (i > 0 and done[i - 1] in ("--unwinder", "--output", "-o"))]
        if plain:
            return []  # TARGET given already
        vals = ["all"]
        if word.startswith("g") or word == "":
            vals += _goids()
        if word == "" or word[:1].isdigit():
            vals += _tids()
        return vals


def _make(name, base=_FpCommand):
    cls = type("_Fp_" + name, (base,), {"fp_name": name, "__doc__": _doc(name)})
    return cls()


_registered = []
_events_connected = False


def _names():
    """The commands: the library's (dump, profile, whatever the CLI has),
    the five the plugin knows by heart when the library cannot be loaded
    (their help is here: help fp works and says the library is missing)."""
    try:
        return fpi.command_names(_load_library())
    except gdb.GdbError:
        return list(_USAGE)


def register(plugin_dir=None):
    """Define the fp commands (again, if sourced twice)."""
    global _plugin_dir, _events_connected
    if plugin_dir:
        _plugin_dir = os.path.abspath(plugin_dir)
    del _registered[:]
    _registered.append(_FpPrefix())
    for name in _names():
        _registered.append(_make(name, _FpBt if name == "bt" else _FpCommand))
    if not _events_connected:
        _connect_events()
        _events_connected = True
    try:
        _load_library()
    except gdb.GdbError as e:
        gdb.write("warning: %s\n" % e, gdb.STDERR)
