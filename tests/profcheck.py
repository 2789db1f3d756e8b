#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# run-profile.sh's checks of one stop's profiles: the .folded counts, the
# pprof profile as `go tool pprof -raw` reads it and the flame graph's rects
# must all tell the same stacks, and those must be the stacks of the
# runtime's own goroutine profile of the same parked process (GORAW, its
# -raw; but the goroutine that wrote it, which runs main.serve).
#   profcheck.py DUMP GORAW FOLDED RAW SVG
import collections, re, sys
import xml.etree.ElementTree as ET

dump, goraw, folded, raw, svg = sys.argv[1:6]
fail = 0
def check(ok, what):
    global fail
    if not ok:
        fail += 1
        print("FAIL:", what)

# the goroutines the profile counts: those the dump shows
goids = set(int(m.group(1)) for m in re.finditer(r'^goroutine (\d+) ', open(dump).read(), re.M))

# folded: "f1;f2;...;fn COUNT", root first
fold = collections.Counter()
for line in open(folded):
    stack, _, n = line.rstrip('\n').rpartition(' ')
    fold[stack] += int(n)
check(sum(fold.values()) == len(goids), "folded total %d != %d goroutines in dump" % (sum(fold.values()), len(goids)))

# pprof -raw: samples of location ids, then locations with their lines
# (innermost first; continuation lines are the inlining callers)
def read_raw(path):
    samples, locs, cur = [], {}, None
    sect = None
    for line in open(path):
        if line.startswith('Samples:'): sect = 's'; continue
        if line.startswith('Locations'): sect = 'l'; continue
        if line.startswith('Mappings'): sect = 'm'; continue
        if sect == 's':
            m = re.match(r'\s+(\d+): ([\d ]*)$', line)
            if m:
                samples.append((int(m.group(1)), [int(x) for x in m.group(2).split()]))
        elif sect == 'l':
            m = re.match(r'\s+(\d+): 0x[0-9a-f]+ M=\d+ (\S+) (\S+):(\d+):\d+ s=\d+', line)
            if m:
                cur = int(m.group(1))
                locs[cur] = [(m.group(2), m.group(3), int(m.group(4)))]
                continue
            m = re.match(r'\s+(\S+) (\S+):(\d+):\d+ s=\d+', line)
            if m and cur is not None:
                locs[cur].append((m.group(1), m.group(2), int(m.group(3))))
    stacks = collections.Counter()
    for n, ids in samples:
        stacks[tuple(f for i in ids for f in locs[i])] += n
    return samples, stacks
samples, pp = read_raw(raw)
ppfold = collections.Counter()
for frames, n in pp.items():
    ppfold[';'.join(f[0] for f in reversed(frames))] += n
check(sum(pp.values()) == len(goids), "pprof total %d != %d goroutines" % (sum(pp.values()), len(goids)))
check(ppfold == fold, "pprof stacks differ from folded: %s" % (set(ppfold.items()) ^ set(fold.items())))

# the runtime's own profile: every stack (function, file, line) and its
# count, but main.serve's goroutine: it wrote that profile, and was reading
# its stdin when fpinspect looked
def others(st):
    return collections.Counter({k: v for k, v in st.items() if not any(f[0] == 'main.serve' for f in k)})
_, gopp = read_raw(goraw)
mine, theirs = others(pp), others(gopp)
check(sum(theirs.values()) > 0, "the runtime's profile has stacks")
check(mine == theirs, "stacks differ from the runtime's goroutine profile: %s" %
      [("fpinspect" if k in mine else "runtime", k) for k in list(set(mine.items()) ^ set(theirs.items()))[:4]])

# svg: every rect's width is its count's share; each node's path from the
# root ("all") carries the goroutines of every folded stack through it
ns = {'s': 'http://www.w3.org/2000/svg'}
root = ET.parse(svg).getroot()
W = float(root.get('width')) - 20
gs = root.findall('.//s:g[@class="f"]', ns)
total = sum(fold.values())
nodes = []
for e in gs:
    r = e.find('s:rect', ns)
    x, w, d = int(e.get('data-x')), int(e.get('data-w')), int(e.get('data-d'))
    check(abs(float(r.get('width')) - w * W / total) < 0.01, "rect width of %s" % e.get('data-n'))
    check(e.find('s:title', ns).text.startswith('%s (%d goroutine' % (e.get('data-n'), w)), "title of %s" % e.get('data-n'))
    nodes.append((d, x, w, e.get('data-n')))
nodes.sort()
path = {}
svgprefix = {}
for d, x, w, n in nodes:
    if d == 0:
        p = ''
    else:
        parent = [k for k in path if k[0] == d - 1 and k[1] <= x and x + w <= k[1] + k[2]]
        check(len(parent) >= 1, "no parent for %s" % n)
        pk = min(parent, key=lambda k: k[2])
        p = (path[pk] + ';' if path[pk] else '') + n
    path[(d, x, w)] = p
    if d:
        svgprefix[p] = svgprefix.get(p, 0) + w
want = collections.Counter()
for stack, n in fold.items():
    parts = stack.split(';')
    for i in range(1, len(parts) + 1):
        want[';'.join(parts[:i])] += n
check(dict(want) == svgprefix, "svg nodes differ from folded stacks: %s" % list(set(want.items()) ^ set(svgprefix.items()))[:4])
print("profcheck: %d goroutines, %d folded stacks, %d pprof samples, %d svg frames, %d stacks as the runtime's%s" %
      (len(goids), len(fold), len(samples), len(gs), len(theirs), "" if not fail else ", %d failures" % fail))
sys.exit(1 if fail else 0)
