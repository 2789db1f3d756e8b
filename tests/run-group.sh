#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# dump --group, --filter, --status on the parked states program: the groups
# partition exactly the goroutines dump shows, every member of a group has
# the same stack text as its stand-in, largest group first; the filters
# keep exactly the goroutines whose header and frames say so; a bad
# regular expression is a usage error.
. "$(dirname "$0")/lib.sh"
need_go; need_ptrace
BIN=$(build_target states "$(command -v go)")
# no spinning goroutine: nothing may change between the three attaches
start_target "$BIN" -running 0
"$FPI" attach "$TPID" dump >"$TDIR/all" 2>"$TDIR/e1"
check_eq "dump: exit status" "$?" 0
"$FPI" attach "$TPID" dump --group >"$TDIR/grp" 2>"$TDIR/e2"
check_eq "dump --group: exit status" "$?" 0
"$FPI" attach "$TPID" dump --filter 'main\.blockAs$' --status "chan receive" >"$TDIR/flt" 2>"$TDIR/e3"
check_eq "dump --filter --status: exit status" "$?" 0
cat >"$TDIR/cmp.py" <<'PY'
import re, sys
def blocks(path):
    out, cur = [], None
    for ln in open(path).read().split("\n"):
        if cur is None:
            if ln:
                cur = [ln]
        elif ln == "":
            out.append(cur); cur = None
        else:
            cur.append(ln)
    if cur: out.append(cur)
    return out
def goids(s):
    r = []
    for part in s.split(", "):
        a, _, b = part.partition("-")
        r += list(range(int(a), int(b or a) + 1))
    return r
plain = {}
for b in blocks(sys.argv[1]):
    m = re.match(r"goroutine (\d+) \[([^],]*)", b[0])
    plain[int(m.group(1))] = (m.group(2), "\n".join(b[1:]))
seen, sizes, bad = [], [], 0
for b in blocks(sys.argv[2]):
    m = re.match(r"(\d+) goroutines? \[([^],]*)[^]]*\]: (.*)$", b[0])
    ids = goids(m.group(3))
    if len(ids) != int(m.group(1)): bad += 1
    sizes.append(len(ids))
    body = "\n".join(b[1:])
    for g in ids:
        if g not in plain or plain[g][1] != body or plain[g][0] != m.group(2): bad += 1
    seen += ids
print("groups", len(sizes))
print("partition", sorted(seen) == sorted(plain))
print("members differing", bad)
print("largest first", sizes == sorted(sizes, reverse=True))
want = sorted(g for g, (st, body) in plain.items() if st == "chan receive" and re.search(r"^main\.blockAs\(", body, re.M))
got = sorted(int(re.match(r"goroutine (\d+)", b[0]).group(1)) for b in blocks(sys.argv[3]))
print("filtered", got == want, len(got))
PY
python3 "$TDIR/cmp.py" "$TDIR/all" "$TDIR/grp" "$TDIR/flt" >"$TDIR/r" 2>&1
cat "$TDIR/r"
check "groups: more than one, fewer than the goroutines" sh -c "n=\$(sed -n 's/^groups //p' '$TDIR/r'); [ \"\$n\" -gt 1 ] && [ \"\$n\" -lt $(grep -c '^goroutine ' "$TDIR/all") ]"
check_eq "groups partition the goroutines dump shows" "$(sed -n 's/^partition //p' "$TDIR/r")" True
check_eq "every member has its group's stack and status" "$(sed -n 's/^members differing //p' "$TDIR/r")" 0
check_eq "largest group first" "$(sed -n 's/^largest first //p' "$TDIR/r")" True
check "filter and status keep exactly the chan receive goroutines in main.blockAs (and some)" \
	sh -c "grep -q '^filtered True [1-9]' '$TDIR/r'"
"$FPI" attach "$TPID" dump --filter '(' >"$TDIR/o" 2>"$TDIR/e"
check_eq "bad regex: exit status 2" "$?" 2
check "bad regex: the message names it" grep -q "filter '('" "$TDIR/e"
ping_target
finish
