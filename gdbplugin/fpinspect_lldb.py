# SPDX-License-Identifier: GPL-3.0-or-later
# fpinspect LLDB plugin: the `fp` commands.
#
#   (lldb) command script import gdbplugin/fpinspect_lldb.py             (build tree)
#   (lldb) command script import <datadir>/fpinspect/fpinspect_lldb.py   (installed)
#
# Thin, like the GDB plugin: fpinspect_ctypes (next to this file) loads
# libfpinspect.so and runs the commands of `fpinspect attach`/`core` over a
# target whose memory, threads, registers and file mappings come from LLDB's
# SB API, on whatever LLDB has open: a live process (lldb -p PID), a core
# (lldb -c CORE EXE), a gdb-remote connection.
#
# Read-only by construction: registers are read from frame 0 of each thread
# through SBThread, which neither selects the thread nor the frame, and
# memory through SBProcess.ReadMemory (a local live process's data mappings
# from /proc/PID/mem while LLDB holds it stopped: see _ProcMem). It never
# resumes, stops, writes or re-selects anything.

import bisect
import os
import shlex
import sys

import lldb

_plugin_dir = os.path.dirname(os.path.abspath(__file__))
if _plugin_dir not in sys.path:
    sys.path.insert(0, _plugin_dir)

import fpinspect_ctypes as fpi  # noqa: E402

_MASK64 = (1 << 64) - 1
# LLDB's names for the registers of fpinspect.h's x86_64 set. LLDB 16 has
# no fs_base on Linux (neither live nor for cores; it came in LLDB 18 as
# "fs_base"): then threads are matched to Ms by procid, as the library
# does when a register set lacks it.
_REG_NAMES = fpi.REG_NAMES_X86_64
_FS_BASE_NAMES = ("fs_base", "fsbase")

# single reads (allm, the M structs, what a walk reads outside the copied
# stacks) in chunks of this many bytes, aligned: one SBProcess.ReadMemory
# per 64 KiB rather than per page (a page when the chunk is not mapped whole)
_CHUNK = 64 * 1024
# the library's batches (gs, stacks): neighbours closer than this in one
# request. Through lldb-server a request costs about 60 us, a byte 20-25 ns:
# a gap under ~2.5 KiB is cheaper to read than to skip. FPI_LLDB_GAP
# overrides it (for measuring).
_MERGE_GAP = 2048


class _Failure(Exception):
    """An error for the user: becomes the command's result.SetError."""


def _lib():
    try:
        return fpi.load_library(_plugin_dir)
    except fpi.Error as e:
        raise _Failure("fpinspect: %s" % e.message)


# ---------------------------------------------------------------- target


def _registers(thread):
    """{name: value} of frame 0 of THREAD (fs_base when LLDB has it)."""
    frame = thread.GetFrameAtIndex(0)
    if not frame.IsValid():
        raise _Failure("fpinspect: thread %d has no frame (is the process stopped?)" % thread.GetThreadID())
    regs = {}
    for rset in frame.GetRegisters():
        for r in rset:
            n = r.GetName()
            if n in _FS_BASE_NAMES:
                n = "fs_base"
            if n in _REG_NAMES and n not in regs:
                err = lldb.SBError()
                v = r.GetValueAsUnsigned(err, 0)
                if err.Success():
                    regs[n] = v & _MASK64
    missing = [n for n in _REG_NAMES[:-1] if n not in regs]
    if missing:
        raise _Failure("fpinspect: cannot read %s of thread %d (fp commands need an amd64 program)" %
                       (", ".join(missing), thread.GetThreadID()))
    return regs


def _threads(process):
    """[(tid, registers)] in LLDB's order (/proc/PID/task or the core's)."""
    out = []
    for i in range(process.GetNumThreads()):
        t = process.GetThreadAtIndex(i)
        if t.IsValid():
            out.append((t.GetThreadID(), _registers(t)))
    if not out:
        raise _Failure("fpinspect: the process has no threads")
    return out


def _is_core(process):
    return process.GetPluginName() in ("elf-core", "minidump", "mach-o-core")


def _is_local_live(target, process):
    """A live process on this machine: /proc/PID is ours to read, and
    it is the executable LLDB has (a gdb-remote pid means nothing here).
    FPI_LLDB_LOCAL=0 takes every process for a remote one: what tests and
    bench/lldb.py use to run the remote path (mappings from the modules,
    memory through LLDB) on this machine."""
    if _is_core(process) or target.GetPlatform().GetName() != "host" or os.environ.get("FPI_LLDB_LOCAL") == "0":
        return False
    exe = target.GetExecutable().fullpath
    try:
        return bool(exe) and os.path.samefile(os.readlink("/proc/%d/exe" % process.GetProcessID()), exe)
    except OSError:
        return False


def _module_mappings(target):
    """(start, end, offset, path) from each module's segments (LLDB's
    top-level ELF sections are the PT_LOAD segments) at their load
    addresses, page-rounded as the kernel maps them: for cores and remote
    processes, where SBMemoryRegionInfo has names but no file offsets."""
    out = []
    page = 4096
    for m in target.module_iter():
        path = m.GetFileSpec().fullpath
        if not path or not path.startswith("/") or not os.path.exists(path):
            continue  # [vdso] and the like: the vDSO is set apart
        for i in range(m.GetNumSections()):
            s = m.GetSectionAtIndex(i)
            addr = s.GetLoadAddress(target)
            size = s.GetFileByteSize()
            if addr == lldb.LLDB_INVALID_ADDRESS or size == 0:
                continue
            off = s.GetFileOffset()
            skew = addr % page
            if off % page != skew:
                continue  # not a segment the loader could map
            out.append((addr - skew, (addr + size + page - 1) & ~(page - 1), off - skew, path))
    return out


def _mappings(target, process):
    if _is_local_live(target, process):
        maps = fpi.read_proc_maps(process.GetProcessID())
        if maps is not None:
            return maps
    return _module_mappings(target)


def _vdso(target, process):
    """AT_SYSINFO_EHDR: the [vdso] module's header, else the region LLDB
    names [vdso] (LLDB reads the auxv but does not export it)."""
    for m in target.module_iter():
        if m.GetFileSpec().GetFilename() == "[vdso]":
            a = m.GetObjectFileHeaderAddress().GetLoadAddress(target)
            if a != lldb.LLDB_INVALID_ADDRESS:
                return a
    regions = process.GetMemoryRegions()
    info = lldb.SBMemoryRegionInfo()
    for i in range(regions.GetSize()):
        if regions.GetMemoryRegionAtIndex(i, info) and info.GetName() == "[vdso]":
            return info.GetRegionBase()
    return 0


class _ProcMem(object):
    """Reads of a local live process's data from /proc/PID/mem while LLDB
    holds it stopped. lldb-server copies every byte of a memory packet into
    a std::string one at a time: about 40 MB/s and 60 us a request here,
    where fp check on 20,000 goroutines reads 26 MB in 20,000 pieces (1.6 s
    of LLDB's time against the CLI's 0.4 s for everything). /proc/PID/mem
    is what lldb-server reads itself (and GDB for its inferiors). Only
    mappings without execute permission: LLDB's reads show the code under
    its breakpoints, the file shows its int3s. None where this process may
    not read it (ptrace rules: a tracer or ancestor, or root), and then
    every read goes through LLDB."""

    def __init__(self, pid):
        self.fd = None
        self.starts, self.ends = [], []
        try:
            with open("/proc/%d/maps" % pid) as f:
                for line in f:
                    parts = line.split(None, 5)
                    a, b = (int(x, 16) for x in parts[0].split("-"))
                    if parts[1][0] != "r" or parts[1][2] == "x":
                        continue
                    if self.ends and self.ends[-1] == a:
                        self.ends[-1] = b  # a run may cross into the next mapping
                    else:
                        self.starts.append(a)
                        self.ends.append(b)
            self.fd = os.open("/proc/%d/mem" % pid, os.O_RDONLY | os.O_CLOEXEC)
            if self.starts and len(os.pread(self.fd, 8, self.starts[0])) != 8:
                self.close()
        except (OSError, ValueError, IndexError):
            self.close()

    def read(self, addr, n):
        k = bisect.bisect_right(self.starts, addr) - 1
        if k < 0 or addr + n > self.ends[k]:
            return None
        try:
            data = os.pread(self.fd, n, addr)
        except OSError:
            return None
        return data if len(data) == n else None

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _raw_reader(target, process, procmem):
    core = _is_core(process)

    def raw(addr, n):
        if procmem:
            data = procmem.read(addr, n)
            if data is not None:
                return data
        err = lldb.SBError()
        data = process.ReadMemory(addr, n, err)
        if err.Success() and data is not None:
            return data
        if not core:
            return None
        # a core leaves out what the files hold (gcore drops read-only file
        # mappings: text, .rodata with the runtime's wait reason strings);
        # LLDB's process reads on a core see only the core's segments, the
        # target's read falls back to the modules' sections
        a = target.ResolveLoadAddress(addr)
        if not a.GetSection().IsValid():
            return None
        err = lldb.SBError()
        data = target.ReadMemory(a, n, err)
        return data if err.Success() and data is not None and len(data) == n else None
    return raw


class _Session(object):
    """One libfpinspect session over what LLDB has open now."""

    def __init__(self, target, process):
        self.fpi = self.procmem = None
        exe = target.GetExecutable().fullpath
        if not exe:
            raise _Failure("fpinspect: no executable loaded; give LLDB the Go program (lldb -c CORE PROGRAM, "
                           "target create PROGRAM)")
        threads = _threads(process)
        if _is_local_live(target, process):
            self.procmem = _ProcMem(process.GetProcessID())
            if self.procmem.fd is None:
                self.procmem = None
        self.reader = fpi.PageReader(_raw_reader(target, process, self.procmem), _CHUNK,
                                     merge_gap=int(os.environ.get("FPI_LLDB_GAP", _MERGE_GAP)))
        try:
            self.fpi = fpi.Session(_lib(), exe, process.GetProcessID(), self.reader.read)
            self.fpi.set_readv(self.reader.readv)
            for tid, regs in threads:
                self.fpi.add_thread(tid, regs)
            for start, end, off, path in _mappings(target, process):
                self.fpi.add_mapping(start, end, off, path)
            vdso = _vdso(target, process)
            if vdso:
                self.fpi.set_vdso(vdso)
            self.fpi.load()
        except fpi.Error as e:
            self.close()
            raise _Failure("fpinspect: %s" % e.message)
        except BaseException:
            self.close()
            raise

    def close(self):
        if self.fpi:
            self.fpi.close()
            self.fpi = None
        if self.procmem:
            self.procmem.close()
            self.procmem = None


# A session stands while nothing about the process can have changed: the
# same target, process and stop (LLDB's stop id counts every resume and
# stop; a `memory write` does not count, run `fp` after a resume then).
_cache = [None, None]  # key, session


def _key(target, process):
    return (target.GetExecutable().fullpath, process.GetUniqueID(), process.GetProcessID(),
            process.GetStopID(), process.GetNumThreads())


def _session(exe_ctx):
    target = exe_ctx.GetTarget()
    process = exe_ctx.GetProcess()
    if not target.IsValid():
        raise _Failure("fpinspect: no target: give LLDB the Go program and a process or core "
                       "(lldb -p PID, lldb -c CORE PROGRAM)")
    if not process.IsValid() or not process.is_alive:
        raise _Failure("fpinspect: no process or core file: attach (lldb -p PID), load a core "
                       "(lldb -c CORE PROGRAM) or start the program first")
    if process.GetState() != lldb.eStateStopped:
        raise _Failure("fpinspect: the process is running; interrupt it first "
                       "(fp commands read a stopped program and never stop or resume it)")
    key = _key(target, process)
    if _cache[0] == key and _cache[1] is not None and _cache[1].fpi:
        return _cache[1]
    if _cache[1] is not None:
        _cache[1].close()
    _cache[0] = _cache[1] = None
    s = _Session(target, process)
    _cache[0], _cache[1] = key, s
    return s


# ---------------------------------------------------------------- commands

_COMMON_HELP = """
--json prints one JSON document (on one line) instead of text; --output FILE
writes the output to FILE instead of LLDB's console. The output is the same
as `fpinspect attach PID CMD` or `fpinspect core CORE CMD` would print.
Reads registers and memory only: never resumes, stops or writes the program."""


def _command_doc(lib, name):
    return "%s\nUsage: %s\n\n%s\n%s" % (fpi.command_summary(lib, name), fpi.command_usage(lib, name),
                                        fpi.command_help(lib, name), _COMMON_HELP)


def _overview():
    try:
        lib = _lib()
    except _Failure as e:
        return str(e)
    # LLDB wraps help at 80 columns: lines kept shorter
    lines = ["Inspect the Go program LLDB has open with fpinspect.",
             "",
             "Works on a live process (lldb -p PID), a core file (lldb -c CORE",
             "PROGRAM) or a gdb-remote connection. The same C core as the fpinspect",
             "CLI does the work, from registers and memory LLDB reads: it never",
             "resumes, stops or writes the program, so `fp bt gGOID` works on cores.",
             "The library is libfpinspect.so ($FPINSPECT_LIB overrides where it is",
             "found).",
             "",
             "Commands (fp help COMMAND for one):"]
    for n in fpi.command_names(lib):
        usage = (lib.fpi_command_usage(n.encode()) or b"").decode()
        lines.append("  fp %s" % usage)
        lines.append("      %s" % fpi.command_summary(lib, n))
    return "\n".join(lines) + "\n" + _COMMON_HELP


class _FpSubcommand(object):
    """fp NAME [ARGS] [--json] [--output FILE]: one of the library's
    commands. LLDB makes an instance per registration and tells it
    nothing of its name: a subclass per command carries it (fp_name)."""

    fp_name = None

    def __init__(self, debugger, internal_dict):
        pass

    def get_short_help(self):
        try:
            return fpi.command_summary(_lib(), self.fp_name)
        except _Failure as e:
            return str(e)

    def get_long_help(self):
        try:
            return _command_doc(_lib(), self.fp_name)
        except _Failure as e:
            return str(e)

    def __call__(self, debugger, command, exe_ctx, result):
        try:
            self._run(command, exe_ctx, result)
        except _Failure as e:
            result.SetError(str(e))
        except fpi.Error as e:
            result.SetError(e.message)
        except Exception as e:  # never a traceback: say what broke
            result.SetError("fpinspect: internal error: %s: %s" % (type(e).__name__, e))

    def _words(self, command):
        try:
            return shlex.split(command)
        except ValueError as e:
            raise _Failure("fp %s: %s" % (self.fp_name, e))

    def _run(self, command, exe_ctx, result):
        lib = _lib()
        argv, json, output = fpi.parse_command(lib, [self.fp_name] + self._words(command))
        if "--help" in argv[1:]:
            result.AppendMessage(_command_doc(lib, self.fp_name))
            return
        s = _session(exe_ctx)
        try:
            st, text = s.fpi.run(argv, json)
        except fpi.Error as e:
            if s.reader.interrupted:
                _cache[0] = _cache[1] = None
                s.close()
                raise _Failure("fpinspect: interrupted")
            raise _Failure("fpinspect: %s" % e.message)
        if output is not None:
            fpi.write_output(text, output, "fp " + argv[0])
        elif text:
            result.AppendMessage(text[:-1] if text.endswith("\n") else text)
        # status 1 (a check found problems) is still a success for LLDB:
        # the output is the answer


class _FpHelp(_FpSubcommand):
    """fp help [COMMAND]: the overview, or one command's help."""

    fp_name = "help"

    def get_short_help(self):
        return "The fp commands, or one command's usage and help: fp help [COMMAND]"

    def get_long_help(self):
        return _overview()

    def _run(self, command, exe_ctx, result):
        lib = _lib()
        words = self._words(command)
        if not words:
            result.AppendMessage(_overview())
        elif words[0] in fpi.command_names(lib):
            result.AppendMessage(_command_doc(lib, words[0]))
        else:
            raise _Failure("fp help: unknown command '%s' (commands: %s)" %
                           (words[0], " ".join(fpi.command_names(lib))))


def _subcommand_class(name):
    """The class LLDB is told to instantiate for `fp NAME`, by dotted path:
    it has to be a name in this module."""
    cls_name = "_Fp_" + name.replace("-", "_")
    globals()[cls_name] = type(cls_name, (_FpSubcommand,), {"fp_name": name})
    return cls_name


def __lldb_init_module(debugger, internal_dict):
    # fp is a container of one command per library command, so that LLDB
    # completes them (fp b<TAB>: fp bt) and takes unique prefixes (fp su);
    # LLDB 16 completes no arguments of scripted commands, so options are
    # not completed. Imported again, -o replaces the lot.
    try:
        names = fpi.command_names(_lib())
    except _Failure as e:
        # the usual ones, so that running one says why it cannot run
        print("warning: %s" % e, file=sys.stderr)
        names = ["summary", "threads", "goroutines", "bt", "check", "dump", "profile"]
    debugger.HandleCommand("command container add -o -h 'Inspect the Go program with fpinspect: "
                           "fp summary|threads|goroutines|bt|check ... (fp help)' "
                           "-H 'fp COMMAND [ARGS] [--json] [--output FILE]; fp help for the overview' fp")
    for n in names:
        debugger.HandleCommand("command script add -o -c %s.%s fp %s" % (__name__, _subcommand_class(n), n))
    debugger.HandleCommand("command script add -o -c %s._FpHelp fp help" % __name__)
