#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The frames the Go runtime's traceback prints for a pc, read from the
binary's .gopclntab as the runtime reads it, held against fpinspect's
symbolizer (tests/symdump) for every call site and every function entry.

usage: pclntab.py EXE SYMDUMP

The pcs: every call instruction's return address minus one (what a parked
goroutine's frames are looked up at), found with objdump, and every
function's entry (where a goroutine that has not run yet stands: its
g.sched.pc). For each, the runtime's walk (1.19 gentraceback, 1.21+
inlineUnwinder, the same in effect): the innermost function at pc from the
inline tree (PCDATA_InlTreeIndex into FUNCDATA_InlTree), its file:line from
pcfile/pcln at pc; then the caller's at the inline tree entry's parentPc,
until the index is -1: the physical function.

Prints one DIFF line per pc that differs, and
"pclntab: <n> pcs compared, <n> differences, <n> pending".
Exit status 1 on a difference not in PENDING.
"""
import bisect
import re
import struct
import subprocess
import sys

# Known differences, by the physical function the runtime names, each
# reported as PENDING rather than DIFF; remove an entry when it is fixed.
PENDING = {
    # Go 1.19 pointer-receiver wrappers with the value method inlined into
    # them: the wrapper's DWARF has no DW_TAG_inlined_subroutine for it, so
    # a DWARF symbolizer sees one frame where the inline tree has two.
    "runtime.(*lockRank).String": "1.19 wrapper: inlined value method not in DWARF",
    "runtime.(*errorAddressString).Error": "1.19 wrapper: inlined value method not in DWARF",
}


def elf(data):
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    raw = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    stroff = raw[shstrndx][4]
    secs = {}
    for name, typ, _flags, addr, off, size in raw:
        n = data[stroff + name:data.index(b"\0", stroff + name)].decode()
        secs[n] = (typ, addr, off, size)
    syms = {}
    _, _, off, size = secs[".symtab"]
    soff = secs[".strtab"][2]
    for i in range(size // 24):
        nm, _info, _other, _shndx, val, _sz = struct.unpack_from("<IBBHQQ", data, off + i * 24)
        syms[data[soff + nm:data.index(b"\0", soff + nm)]] = val
    return secs, syms


class Pclntab:
    def __init__(self, path):
        self.data = data = open(path, "rb").read()
        self.secs, syms = elf(data)
        _, _, off, size = self.secs[".gopclntab"]
        self.p = p = data[off:off + size]
        magic, = struct.unpack_from("<I", p, 0)
        if magic not in (0xfffffff0, 0xfffffff1):
            raise SystemExit("pclntab: magic %#x: not Go 1.18 or later" % magic)
        # 1.20 (0xfffffff1) added _func.startLine and made inlinedCall 16 bytes
        self.new = magic == 0xfffffff1
        self.minlc = p[6]
        (nfunc, _nfiles, text, self.funcname, self.cutab, self.filetab, self.pctab,
         self.pcln) = struct.unpack_from("<8Q", p, 8)
        # Newer linkers leave the header's textStart 0: the runtime uses
        # moduledata.text, which is runtime.text.
        self.text = text or syms[b"runtime.text"]
        self.gofunc = syms.get(b"go:func.*", syms.get(b"go.func.*"))
        self.ftab = [struct.unpack_from("<II", p, self.pcln + 8 * i) for i in range(nfunc + 1)]
        self.entries = [self.text + e for e, _ in self.ftab]

    def cstr(self, off):
        return self.p[off:self.p.index(b"\0", off)].decode()

    def mem(self, addr, n):
        for typ, a, off, size in self.secs.values():
            if a and a <= addr < a + size and typ != 8:  # not SHT_NOBITS
                return self.data[off + addr - a:off + addr - a + n]
        raise KeyError(hex(addr))

    def pcvalue(self, off, entry, target):
        i = self.pctab + off
        val, pc, first = -1, entry, True
        while True:
            uv, i = self.varint(i)
            if uv == 0 and not first:
                return None
            first = False
            val += ~(uv >> 1) if uv & 1 else uv >> 1
            pd, i = self.varint(i)
            pc += pd * self.minlc
            if target < pc:
                return val

    def varint(self, i):
        v = shift = 0
        while True:
            c = self.p[i]
            i += 1
            v |= (c & 0x7f) << shift
            shift += 7
            if not c & 0x80:
                return v, i

    def func(self, pc):
        k = bisect.bisect_right(self.entries, pc) - 1
        if k < 0 or k >= len(self.ftab) - 1:
            return None
        fo = self.pcln + self.ftab[k][1]
        f = struct.unpack_from("<IiiIIIIII", self.p, fo)
        hdr = 44 if self.new else 40
        nfd = self.p[fo + hdr - 1]
        npcdata = f[7]
        pcdata = struct.unpack_from("<%dI" % npcdata, self.p, fo + hdr)
        fdata = struct.unpack_from("<%dI" % nfd, self.p, fo + hdr + 4 * npcdata)
        return {"entry": self.text + f[0], "name": self.cstr(self.funcname + f[1]),
                "pcfile": f[5], "pcln": f[6], "cu": f[8], "pcdata": pcdata, "fdata": fdata}

    def fileline(self, f, pc):
        fno = self.pcvalue(f["pcfile"], f["entry"], pc)
        line = self.pcvalue(f["pcln"], f["entry"], pc)
        if fno is None or line is None:
            return None
        if f["cu"] == 0xffffffff or fno < 0 or line < 0:
            return "?", 0  # funcline1: the linker's own code has no file
        fo, = struct.unpack_from("<I", self.p, self.cutab + 4 * (f["cu"] + fno))
        return self.cstr(self.filetab + fo), line

    def frames(self, pc):
        """[(function, file, line)] innermost first, or None (no function)."""
        f = self.func(pc)
        if f is None:
            return None
        out = []
        tracepc = pc
        inl = None
        if len(f["pcdata"]) > 2 and f["pcdata"][2] and len(f["fdata"]) > 3 and f["fdata"][3] != 0xffffffff:
            inl = self.gofunc + f["fdata"][3]
        while inl is not None:
            ix = self.pcvalue(f["pcdata"][2], f["entry"], tracepc)
            if ix is None or ix < 0:
                break
            if self.new:
                _fid, nameoff, parentpc, _sl = struct.unpack("<B3xiii", self.mem(inl + 16 * ix, 16))
            else:
                _par, _fid, _file, _line, nameoff, parentpc = struct.unpack("<hBxiiii", self.mem(inl + 20 * ix, 20))
            fl = self.fileline(f, tracepc)
            if fl is None:
                return None
            out.append((self.cstr(self.funcname + nameoff),) + fl)
            tracepc = f["entry"] + parentpc
        fl = self.fileline(f, tracepc)
        if fl is None:
            return None
        out.append((f["name"],) + fl)
        return out


def go_name(fn):
    """Go's printFuncName (1.21+) and 1.19's pclntab names print a generic
    function's or array type's brackets as "[...]"; fpinspect keeps them."""
    return re.sub(r"\[.*\]", "[...]", fn)


def main():
    exe, symdump = sys.argv[1:3]
    t = Pclntab(exe)
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", exe], capture_output=True, text=True,
                         check=True).stdout
    pcs = set()
    after_call = False
    for ln in dis.split("\n"):
        m = re.match(r"^ +([0-9a-f]+):\t(\S+)", ln)
        if not m:
            continue
        if after_call:
            pcs.add(int(m.group(1), 16) - 1)
        after_call = m.group(2) == "call"
    pcs |= set(t.entries[:-1])
    want = {}
    for pc in sorted(pcs):
        fr = t.frames(pc)
        if fr is not None:  # padding, or code the runtime has no func for
            want[pc] = fr
    res = subprocess.run([symdump, exe], input="".join("%x\n" % pc for pc in want), capture_output=True,
                         text=True, check=True).stdout
    ndiff = npending = 0
    for ln in res.split("\n"):
        if not ln:
            continue
        parts = ln.split("\t")
        pc = int(parts[0], 16)
        got = [tuple(p.rsplit("|", 2)) for p in parts[1:]]
        got = [(go_name(f), fl, int(l)) for f, fl, l in got]
        w = [(go_name(f), fl, l) for f, fl, l in want[pc]]
        if got == w:
            continue
        what = "%#x (%s): got %s, want %s" % (
            pc, "entry" if pc in t.entries else "call", " <- ".join("%s %s:%d" % g for g in got),
            " <- ".join("%s %s:%d" % x for x in w))
        if w[-1][0] in PENDING:
            npending += 1
            print("PENDING %s (%s)" % (what, PENDING[w[-1][0]]))
        else:
            ndiff += 1
            print("DIFF " + what)
    print("pclntab: %d pcs compared, %d differences, %d pending" % (len(want), ndiff, npending))
    sys.exit(1 if ndiff else 0)


main()
