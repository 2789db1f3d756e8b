# SPDX-License-Identifier: GPL-3.0-or-later
# libfpinspect through ctypes: what every debugger front end (the GDB plugin
# today, an LLDB one later) shares. It knows the library's API and nothing
# of any debugger: a front end hands it a read callback, threads with their
# registers and the file mappings, and gets back command output or data.
#
# Errors come back as fpinspect_ctypes.Error (kind: one of the ERROR_*
# numbers of fpinspect.h, message: what to show a user).

import ctypes
import ctypes.util
import os

__all__ = ["Error", "load_library", "library_path", "Session", "REG_NAMES_X86_64", "PageReader",
           "command_names", "command_usage", "command_help", "parse_command", "write_output",
           "read_proc_maps"]

ERROR_OTHER, ERROR_NOMEM, ERROR_USAGE, ERROR_NO_PROCESS, ERROR_PERMISSION, ERROR_NOT_GO, \
    ERROR_NO_DWARF, ERROR_CORRUPT_FILE, ERROR_TARGET_MEMORY, ERROR_TARGET_GONE, ERROR_NOT_FOUND = range(1, 12)

ARCH_X86_64, ARCH_ARM64 = 1, 2
REG_NAMES_X86_64 = ("rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp",
                    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip", "fs_base")
REG_NAMES_ARM64 = tuple("x%d" % n for n in range(31)) + ("sp", "pc")

_c_vp, _c_int, _c_u64, _c_i64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint64, ctypes.c_int64

READ_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_size_t)


class _ReadRange(ctypes.Structure):
    _fields_ = [("addr", ctypes.c_uint64), ("buf", ctypes.c_void_p), ("len", ctypes.c_size_t), ("ok", ctypes.c_int)]


READV_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_ReadRange), ctypes.c_size_t)


class Error(Exception):
    def __init__(self, kind, message):
        Exception.__init__(self, message)
        self.kind = kind
        self.message = message


class _RegsX86_64(ctypes.Structure):
    _fields_ = [(n, _c_u64) for n in REG_NAMES_X86_64]


class _RegsArm64(ctypes.Structure):
    _fields_ = [("x", _c_u64 * 31), ("sp", _c_u64), ("pc", _c_u64)]


class _RegsUnion(ctypes.Union):
    _fields_ = [("x86_64", _RegsX86_64), ("arm64", _RegsArm64), ("reserved", _c_u64 * 64)]


class _Registers(ctypes.Structure):
    _fields_ = [("arch", _c_int), ("u", _RegsUnion)]


_ERRP = ctypes.POINTER(_c_vp)

NONE = NA = -1
UNWIND_FP, UNWIND_DWARF, UNWIND_GO = 0, 1, 2
OWNER_THREAD, OWNER_GOROUTINE = 0, 1
STACK_NAMES = ("goroutine", "g0", "gsignal", "C", "other")
SEVERITY_NAMES = ("error", "warning", "info")
G_HAS_WAIT_REASON, G_HAS_PARENT_GOID = 0x1, 0x2
G_HAS_WAIT_TIME, G_HAS_USER, G_HAS_LABELS, G_USER_UNKNOWN = 0x4, 0x8, 0x10, 0x20

_c_str, _c_i8, _c_u32, _c_sz = ctypes.c_char_p, ctypes.c_int8, ctypes.c_uint32, ctypes.c_size_t


# The structures of fpinspect.h, member for member.
class _Thread(ctypes.Structure):
    _fields_ = [("tid", _c_int), ("m", _c_i64), ("m_index", _c_sz), ("stack", _c_int), ("tls_g", _c_u64),
                ("regs", _Registers)]


class _M(ctypes.Structure):
    _fields_ = [("id", _c_i64), ("addr", _c_u64), ("tid", _c_int), ("procid", _c_u64), ("curg", _c_i64),
                ("lockedg", _c_i64), ("isextra", _c_i8), ("is_extra_in_c", _c_i8), ("incgo", _c_i8),
                ("has_cgo_on_stack", _c_i8), ("ncgo", _c_i64), ("g0_lo", _c_u64), ("g0_hi", _c_u64),
                ("gsignal_lo", _c_u64), ("gsignal_hi", _c_u64)]


class _Goroutine(ctypes.Structure):
    _fields_ = [("goid", _c_u64), ("addr", _c_u64), ("status", _c_str), ("status_value", _c_u32),
                ("scan", ctypes.c_bool), ("wait_reason", _c_str), ("m", _c_i64),
                ("pc", _c_u64), ("sp", _c_u64), ("bp", _c_u64),
                ("syscall_pc", _c_u64), ("syscall_sp", _c_u64), ("syscall_bp", _c_u64),
                ("stack_lo", _c_u64), ("stack_hi", _c_u64), ("function", _c_str), ("created_pc", _c_u64),
                ("created_by", _c_str), ("start_pc", _c_u64), ("parent_goid", _c_i64), ("has", _c_u32),
                ("wait_ns", _c_i64), ("locked", ctypes.c_bool),
                ("user_function", _c_str), ("user_file", _c_str), ("user_line", _c_int), ("user_pc", _c_u64),
                ("nlabels", _c_sz), ("labels", ctypes.c_void_p)]


class _Label(ctypes.Structure):
    _fields_ = [("key", _c_str), ("value", _c_str)]


class _InlineFrame(ctypes.Structure):
    _fields_ = [("function", _c_str), ("file", _c_str), ("line", _c_int)]


class _Frame(ctypes.Structure):
    _fields_ = [("pc", _c_u64), ("sp", _c_u64), ("fp", _c_u64), ("stack", _c_int), ("exact", ctypes.c_bool),
                ("function", _c_str), ("file", _c_str), ("line", _c_int), ("module", _c_str),
                ("ninlined", _c_sz), ("inlined", ctypes.POINTER(_InlineFrame))]


class _StackTrace(ctypes.Structure):
    _fields_ = [("nframes", _c_sz), ("frames", ctypes.POINTER(_Frame)), ("end", _c_str),
                ("fp_bad_frame", ctypes.c_long), ("fp_bad_why", _c_str)]


class _Finding(ctypes.Structure):
    _fields_ = [("severity", _c_int), ("kind", _c_str), ("goid", _c_i64), ("tid", _c_int),
                ("frame", ctypes.c_long), ("message", _c_vp)]


class _Findings(ctypes.Structure):
    _fields_ = [("n", _c_sz), ("v", ctypes.POINTER(_Finding)), ("threads", _c_sz), ("goroutines", _c_sz),
                ("frames", _c_sz), ("errors", _c_sz), ("warnings", _c_sz), ("infos", _c_sz)]


def _dict(st):
    """A structure as a dict of plain values (bytes decoded)."""
    out = {}
    for name, _t in st._fields_:
        v = getattr(st, name)
        out[name] = v.decode("utf-8", "replace") if isinstance(v, bytes) else v
    return out


def _setup(lib):
    pp = ctypes.POINTER(_c_vp)
    sigs = {
        "fpi_error_kind": ([_c_vp], _c_int),
        "fpi_error_message": ([_c_vp], ctypes.c_char_p),
        "fpi_error_free": ([_c_vp], None),
        "fpi_session_create_custom": ([ctypes.c_char_p, _c_int, READ_CB, _c_vp, pp, _ERRP], _c_int),
        "fpi_session_add_thread": ([_c_vp, _c_int, ctypes.POINTER(_Registers), _ERRP], _c_int),
        "fpi_session_add_mapping": ([_c_vp, _c_u64, _c_u64, _c_u64, ctypes.c_char_p, _ERRP], _c_int),
        "fpi_session_set_vdso": ([_c_vp, _c_u64], None),
        "fpi_session_set_readv": ([_c_vp, READV_CB], None),
        "fpi_session_load": ([_c_vp, _ERRP], _c_int),
        "fpi_session_run_str": ([_c_vp, _c_int, ctypes.POINTER(ctypes.c_char_p), _c_int, pp, _ERRP], _c_int),
        "fpi_session_destroy": ([_c_vp], None),
        "fpi_command_help": ([ctypes.c_char_p], ctypes.c_char_p),
        "fpi_command_usage": ([ctypes.c_char_p], ctypes.c_char_p),
        "fpi_free": ([_c_vp], None),
        "fpi_command_names": ([], ctypes.POINTER(ctypes.c_char_p)),
        "fpi_command_options": ([ctypes.c_char_p], ctypes.POINTER(ctypes.c_char_p)),
    }
    for name, (args, res) in sigs.items():
        f = getattr(lib, name)
        f.argtypes = args
        f.restype = res
    _setup_data(lib)


def _setup_data(lib):
    sp = ctypes.POINTER
    sigs = {
        "fpi_session_thread_count": ([_c_vp], _c_sz),
        "fpi_session_thread": ([_c_vp, _c_sz, sp(_Thread), _ERRP], _c_int),
        "fpi_session_m_count": ([_c_vp], _c_sz),
        "fpi_session_m": ([_c_vp, _c_sz, sp(_M), _ERRP], _c_int),
        "fpi_session_goroutine_count": ([_c_vp], _c_sz),
        "fpi_session_goroutine": ([_c_vp, _c_sz, sp(_Goroutine), _ERRP], _c_int),
        "fpi_session_stack": ([_c_vp, _c_int, _c_u64, _c_int, sp(sp(_StackTrace)), _ERRP], _c_int),
        "fpi_stack_trace_free": ([sp(_StackTrace)], None),
        "fpi_session_check": ([_c_vp, ctypes.c_uint, sp(sp(_Findings)), _ERRP], _c_int),
        "fpi_findings_free": ([sp(_Findings)], None),
    }
    for name, (args, res) in sigs.items():
        f = getattr(lib, name)
        f.argtypes = args
        f.restype = res


def _candidates(plugin_dir):
    """Where libfpinspect.so is looked for, in order, as (how, path)."""
    out = []
    env = os.environ.get("FPINSPECT_LIB")
    if env:
        out.append(("$FPINSPECT_LIB", env))
    d = plugin_dir
    if os.path.basename(d) == "gdbplugin":
        # build tree: <top>/gdbplugin/, <top>/.libs/libfpinspect.so
        out.append(("build tree", os.path.join(d, "..", ".libs", "libfpinspect.so")))
    else:
        # installed: <prefix>/share/fpinspect/, <prefix>/lib/libfpinspect.so
        for sub in ("lib", "lib64", os.path.join("lib", "x86_64-linux-gnu")):
            for name in ("libfpinspect.so", "libfpinspect.so.0"):
                out.append(("install prefix", os.path.join(d, "..", "..", sub, name)))
    found = ctypes.util.find_library("fpinspect")
    if found:
        out.append(("ldconfig", found))
    out.append(("dynamic linker search path", "libfpinspect.so"))
    return out


_lib = None
_lib_path = None


def library_path():
    return _lib_path


def load_library(plugin_dir=None):
    """The loaded library, or Error saying everywhere we looked."""
    global _lib, _lib_path
    if _lib is not None:
        return _lib
    tried = []
    for how, path in _candidates(plugin_dir or os.path.dirname(os.path.abspath(__file__))):
        is_path = os.sep in path
        if is_path and not os.path.exists(path):
            tried.append("%s (%s: not there)" % (os.path.normpath(path), how))
            if how == "$FPINSPECT_LIB":
                break  # an explicit choice: do not silently take another
            continue
        try:
            lib = ctypes.CDLL(path)
            _setup(lib)
        except (OSError, AttributeError) as e:
            tried.append("%s (%s: %s)" % (os.path.normpath(path) if is_path else path, how, e))
            if how == "$FPINSPECT_LIB":
                break
            continue
        _lib = lib
        _lib_path = os.path.realpath(path) if is_path else path
        return lib
    raise Error(ERROR_OTHER, "cannot load libfpinspect.so; looked in: " + "; ".join(tried) +
                ". Set FPINSPECT_LIB to the library's path.")


def _take_error(lib, err, what):
    """An Error from a struct fpi_error * (freed), or a generic one."""
    if not err:
        return Error(ERROR_OTHER, what)
    e = Error(lib.fpi_error_kind(err), lib.fpi_error_message(err).decode("utf-8", "replace"))
    lib.fpi_error_free(err)
    return e


def _take_str(lib, p):
    """A malloc'ed C string from the library, as str, freed."""
    if not p:
        return None
    s = ctypes.string_at(p).decode("utf-8", "replace")
    lib.fpi_free(p)
    return s


class Session(object):
    """A session over a caller's target: read(arg, addr, buf, n) -> 1 or 0
    (arg None, buf a ctypes address; it must never raise: called once per
    read, so no wrapper of ours sits in between), then add_thread,
    add_mapping, set_vdso, load; then run or the data calls. close() when
    done."""

    def __init__(self, lib, exe, pid, read):
        self.lib = lib
        self.ptr = None
        self._cb = READ_CB(read)
        s, err = _c_vp(), _c_vp()
        if lib.fpi_session_create_custom(exe.encode(), pid, self._cb, None, ctypes.byref(s), ctypes.byref(err)):
            raise _take_error(lib, err, "cannot create a session")
        self.ptr = s

    def _call(self, fn, what, *args):
        err = _c_vp()
        if fn(self.ptr, *(args + (ctypes.byref(err),))):
            raise _take_error(self.lib, err, what)

    def add_thread(self, tid, regs, arch=ARCH_X86_64):
        """regs: a mapping of REG_NAMES_X86_64 to values (fs_base may be
        missing: 0, then threads are matched to Ms by procid), or for
        ARCH_ARM64 of REG_NAMES_ARM64."""
        r = _Registers()
        r.arch = arch
        if arch == ARCH_ARM64:
            for k in range(31):
                r.u.arm64.x[k] = regs.get("x%d" % k, 0)
            r.u.arm64.sp, r.u.arm64.pc = regs.get("sp", 0), regs.get("pc", 0)
        else:
            for n in REG_NAMES_X86_64:
                setattr(r.u.x86_64, n, regs.get(n, 0))
        self._call(self.lib.fpi_session_add_thread, "cannot add thread %d" % tid, tid, ctypes.byref(r))

    def add_mapping(self, start, end, offset, path):
        self._call(self.lib.fpi_session_add_mapping, "cannot add a mapping", start, end, offset, path.encode())

    def set_readv(self, readv):
        """readv(arg, ranges, n) -> 0: the batch reader (PageReader.readv);
        it must never raise either."""
        self._readv_cb = READV_CB(readv)
        self.lib.fpi_session_set_readv(self.ptr, self._readv_cb)

    def set_vdso(self, addr):
        self.lib.fpi_session_set_vdso(self.ptr, addr)

    def load(self):
        self._call(self.lib.fpi_session_load, "cannot load the Go runtime state")

    def run(self, argv, json):
        """(status, output) of one command; status 2 raises Error."""
        lib = self.lib
        cargv = (ctypes.c_char_p * (len(argv) + 1))(*[a.encode() for a in argv] + [None])
        out, err = _c_vp(), _c_vp()
        st = lib.fpi_session_run_str(self.ptr, len(argv), cargv, 1 if json else 0, ctypes.byref(out),
                                     ctypes.byref(err))
        text = _take_str(lib, out) or ""
        if st == 2:
            raise _take_error(lib, err, "failed")
        return st, text

    # ---- data: lists of dicts with the fields of fpinspect.h's structures

    def _rows(self, count, get, struct, what):
        out = []
        for i in range(count(self.ptr)):
            r = struct()
            self._call(get, what, i, ctypes.byref(r))
            out.append(_dict(r))
        return out

    def threads(self):
        rows = self._rows(self.lib.fpi_session_thread_count, self.lib.fpi_session_thread, _Thread, "thread")
        for r in rows:
            del r["regs"]  # the caller gave them
        return rows

    def ms(self):
        return self._rows(self.lib.fpi_session_m_count, self.lib.fpi_session_m, _M, "M")

    def goroutines(self):
        """The goroutines that are not dead, by goid. "labels" is a dict
        (None: they could not be read); fields the has bits say are not
        there are None."""
        rows = []
        for i in range(self.lib.fpi_session_goroutine_count(self.ptr)):
            r = _Goroutine()
            self._call(self.lib.fpi_session_goroutine, "goroutine", i, ctypes.byref(r))
            d = _dict(r)
            lv = ctypes.cast(r.labels, ctypes.POINTER(_Label))
            d["labels"] = ({lv[k].key.decode("utf-8", "replace"): lv[k].value.decode("utf-8", "replace")
                            for k in range(r.nlabels)} if r.has & G_HAS_LABELS else None)
            del d["nlabels"]
            if not r.has & G_HAS_WAIT_TIME:
                d["wait_ns"] = None
            if not r.has & G_HAS_USER:
                d["user_function"] = d["user_file"] = d["user_line"] = d["user_pc"] = None
            rows.append(d)
        return rows

    def stack(self, owner, ident, unwinder=UNWIND_FP):
        """(frames, end): the frames (dicts, "inlined" a list of dicts) of a
        thread's (OWNER_THREAD, TID) or a goroutine's (OWNER_GOROUTINE,
        goid) stack; end is why the walk ended (None: at a top frame)."""
        t = ctypes.POINTER(_StackTrace)()
        self._call(self.lib.fpi_session_stack, "cannot walk the stack", owner, ident, unwinder, ctypes.byref(t))
        try:
            frames = []
            for i in range(t.contents.nframes):
                f = t.contents.frames[i]
                d = _dict(f)
                d["inlined"] = [_dict(f.inlined[k]) for k in range(f.ninlined)]
                frames.append(d)
            end = t.contents.end
            return frames, end.decode("utf-8", "replace") if end else None
        finally:
            self.lib.fpi_stack_trace_free(t)

    def check(self):
        """(status, findings, counts): the findings of check as dicts."""
        f = ctypes.POINTER(_Findings)()
        err = _c_vp()
        st = self.lib.fpi_session_check(self.ptr, 0, ctypes.byref(f), ctypes.byref(err))
        if st == 2:
            raise _take_error(self.lib, err, "check failed")
        try:
            out = []
            for i in range(f.contents.n):
                d = _dict(f.contents.v[i])
                m = f.contents.v[i].message
                d["message"] = ctypes.string_at(m).decode("utf-8", "replace") if m else None
                out.append(d)
            c = f.contents
            return st, out, {"threads": c.threads, "goroutines": c.goroutines, "frames": c.frames,
                             "errors": c.errors, "warnings": c.warnings, "info": c.infos}
        finally:
            self.lib.fpi_findings_free(f)

    def close(self):
        if self.ptr:
            self.lib.fpi_session_destroy(self.ptr)
            self.ptr = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass



# ---------------------------------------------------------------- front-end helpers
#
# What every debugger front end needs beside the session: the command list
# (the library's, so a command added to the CLI appears in the debuggers
# without a plugin change), argument handling, --output, a page-caching
# reader, and /proc/PID/maps for a local live process.

# commands of the CLI's prompt that make no sense inside a debugger
_NOT_IN_DEBUGGER = ("help", "quit")


def command_names(lib):
    """The library's commands a debugger offers, in its order."""
    names, p, i = [], lib.fpi_command_names(), 0
    while p[i]:
        n = p[i].decode()
        if n not in _NOT_IN_DEBUGGER:
            names.append(n)
        i += 1
    return names


def command_options(lib, name):
    """[(option, takes_value)] of a command besides --help, and the
    plugins' own --json and --output; [] for an unknown one."""
    p = lib.fpi_command_options(name.encode())
    out, i = [], 0
    while p and p[i]:
        o = p[i].decode()
        out.append((o[:-1], True) if o.endswith("=") else (o, False))
        i += 1
    return out + [("--json", False), ("--output", True)] if p else []


def command_usage(lib, name, prefix="fp"):
    """'fp bt TARGET [--unwinder ...] [--json] [--output FILE]', or None."""
    u = lib.fpi_command_usage(name.encode())
    if not u:
        return None
    return "%s %s [--json] [--output FILE]" % (prefix, u.decode("utf-8", "replace"))


def command_help(lib, name):
    h = lib.fpi_command_help(name.encode())
    return h.decode("utf-8", "replace").strip() if h else None


def command_summary(lib, name):
    """The first sentence of a command's help: a one-line description."""
    h = command_help(lib, name) or ""
    first = h.split("\n")[0]
    k = first.find(". ")
    return (first[:k + 1] if k >= 0 else first).strip()


def parse_command(lib, words, prefix="fp"):
    """(argv for the library, json, output file) from a command's words
    (name first); Error(ERROR_USAGE) for an unknown command or a missing
    --output file. Other options are the library's to judge."""
    if not words:
        raise Error(ERROR_USAGE, "%s: a command is needed (commands: %s)" %
                    (prefix, " ".join(command_names(lib))))
    name = words[0]
    if name not in command_names(lib):
        raise Error(ERROR_USAGE, "%s: unknown command '%s' (commands: %s; see help %s)" %
                    (prefix, name, " ".join(command_names(lib)), prefix))
    argv, json, output = [name], False, None
    # -o is short for --output unless the command has a -o of its own
    # (profile -o FILE)
    own = [o for o, _ in command_options(lib, name)[:-2]]
    output_opts = ("--output",) if "-o" in own else ("--output", "-o")
    i = 1
    while i < len(words):
        w = words[i]
        if w == "--json":
            json = True
        elif w in output_opts:
            if i + 1 >= len(words):
                raise Error(ERROR_USAGE, "%s %s: --output needs a file name" % (prefix, name))
            i += 1
            output = words[i]
        elif w.startswith("--output="):
            output = w[len("--output="):]
        else:
            argv.append(w)
        i += 1
    # a command whose usage takes no operand gets none
    usage = (lib.fpi_command_usage(name.encode()) or b"").decode()
    takes_operand = any(not t.startswith("[") for t in usage.split()[1:])
    if not takes_operand and len(argv) > 1 and not argv[1].startswith("-"):
        raise Error(ERROR_USAGE, "%s %s: unexpected argument '%s' (usage: %s)" %
                    (prefix, name, argv[1], command_usage(lib, name, prefix)))
    return argv, json, output


def write_output(text, output, what="fp"):
    """Write a command's output to the file OUTPUT; Error when it cannot."""
    try:
        with open(os.path.expanduser(output), "w") as f:
            f.write(text)
    except OSError as e:
        raise Error(ERROR_OTHER, "%s: cannot write %s: %s" % (what, output, e.strerror))


def read_proc_maps(pid):
    """File-backed mappings (start, end, offset, path) of a local process
    from /proc/PID/maps (what `fpinspect attach` reads), None if unreadable."""
    try:
        out = []
        with open("/proc/%d/maps" % pid) as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) == 6 and parts[5].startswith("/"):
                    a, b = parts[0].split("-")
                    out.append((int(a, 16), int(b, 16), int(parts[2], 16), parts[5].rstrip("\n")))
        return out
    except (OSError, ValueError):
        return None


_MASK64 = (1 << 64) - 1


class PageReader(object):
    """The read callback over a debugger's memory read, raw(addr, n) ->
    bytes or None (may raise; KeyboardInterrupt sets .interrupted). Reads
    are served from copies of whole chunks (CHUNK bytes, aligned; a page
    when a chunk cannot be read whole): the library makes many 8- and
    16-byte reads, and a trip into the debugger costs far more than a
    memmove. Never raises through ctypes. Drop it when the target changes."""

    PAGE = 4096

    def __init__(self, raw, chunk=4096, errors=(Exception,), merge_gap=0, max_request=1 << 20):
        self.raw = raw
        self.errors = errors
        self.CHUNK = chunk
        self.merge_gap = merge_gap
        self.max_request = max_request
        self.pages = {}   # page address -> address of our copy, or None
        self.bufs = []    # the copies
        self.interrupted = False

    def _raw(self, addr, n):
        try:
            return self.raw(addr, n)
        except KeyboardInterrupt:
            self.interrupted = True
            return None
        except self.errors:
            return None

    def _page(self, base):
        p = self.pages.get(base, -1)
        if p != -1:
            return p
        if self.interrupted:
            return None
        if self.CHUNK > self.PAGE:
            cbase = base - (base % self.CHUNK)
            data = self._raw(cbase, self.CHUNK)
            if data is not None and len(data) == self.CHUNK:
                b = ctypes.create_string_buffer(data, self.CHUNK)
                self.bufs.append(b)
                a = ctypes.addressof(b)
                for k in range(0, self.CHUNK, self.PAGE):
                    self.pages.setdefault(cbase + k, a + k)
                return self.pages[base]
        data = self._raw(base, self.PAGE)
        if data is not None and len(data) == self.PAGE:
            b = ctypes.create_string_buffer(data, self.PAGE)
            self.bufs.append(b)
            p = ctypes.addressof(b)
        else:
            p = None
        self.pages[base] = p
        return p

    def read(self, arg, addr, buf, n):
        try:
            off = addr & (self.PAGE - 1)
            if off + n <= self.PAGE:  # the common case: within one page
                p = self.pages.get(addr - off, -1)
                if p == -1:
                    p = self._page(addr - off)
                if p is not None:
                    ctypes.memmove(buf, p + off, n)
                    return 1
            return self._read_slow(addr, buf, n)
        except BaseException:  # noqa: never let an exception cross ctypes
            return 0

    def readv(self, arg, ranges, n):
        """The batch reader (Session.set_readv): the library's bulk reads,
        sorted and disjoint, read exactly, neighbours less than merge_gap
        apart in one request (the gap is worth reading when a request
        costs more than that many bytes), not through the chunk cache:
        a stack's used part or a g is a few hundred bytes, and chunks
        around each would read many times the bytes asked for."""
        try:
            gap, cap, memmove = self.merge_gap, self.max_request, ctypes.memmove
            i = 0
            while i < n:
                if self.interrupted:
                    return 1
                r = ranges[i]
                lo = r.addr
                hi = lo + r.len
                j = i + 1
                while j < n:
                    q = ranges[j]
                    if q.addr < hi or q.addr - hi > gap or q.addr + q.len - lo > cap:
                        break
                    hi = q.addr + q.len
                    j += 1
                data = self._raw(lo, hi - lo) if hi - lo <= cap or j == i + 1 else None
                if data is not None and len(data) == hi - lo:
                    base = ctypes.cast(data, ctypes.c_void_p).value
                    for k in range(i, j):
                        q = ranges[k]
                        memmove(q.buf, base + (q.addr - lo), q.len)
                        q.ok = 1
                elif j == i + 1:
                    r.ok = self.read(None, r.addr, r.buf, r.len)
                else:
                    # an unreadable page among them: each on its own
                    for k in range(i, j):
                        q = ranges[k]
                        data = self._raw(q.addr, q.len)
                        if data is not None and len(data) == q.len:
                            memmove(q.buf, data, q.len)
                            q.ok = 1
                        else:
                            q.ok = self.read(None, q.addr, q.buf, q.len)
                i = j
            return 0
        except BaseException:  # noqa: never let an exception cross ctypes
            return 1

    def _read_slow(self, addr, buf, n):
        if self.interrupted:
            return 0
        if n == 0:
            return 1
        if addr + n > _MASK64 + 1:
            return 0
        off = addr & (self.PAGE - 1)
        if off + n <= 2 * self.PAGE:  # across two pages
            p1, p2 = self._page(addr - off), self._page(addr - off + self.PAGE)
            if p1 is not None and p2 is not None:
                k = self.PAGE - off
                ctypes.memmove(buf, p1 + off, k)
                ctypes.memmove(buf + k, p2, n - k)
                return 1
        # big reads, or a page the debugger could not read whole (a core
        # file or an executable's section may cover only part of one)
        data = self._raw(addr, n)
        if data is None or len(data) != n:
            return 0
        ctypes.memmove(buf, data, n)
        return 1
