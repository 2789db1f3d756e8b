#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# run-profile.sh's checks of one stop's profiles: the .folded counts, the
# pprof profile as `go tool pprof -raw` reads it, bt all's frames and the
# flame graph's rects must all tell the same stacks.
#   profcheck.py DUMP BT FOLDED RAW SVG
import collections, re, sys
import xml.etree.ElementTree as ET

dump, bt, folded, raw, svg = sys.argv[1:6]
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
samples, locs, cur = [], {}, None
sect = None
for line in open(raw):
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
pp = collections.Counter()
ppfold = collections.Counter()
for n, ids in samples:
    frames = tuple(f for i in ids for f in locs[i])
    pp[frames] += n
    ppfold[';'.join(f[0] for f in reversed(frames))] += n
check(sum(pp.values()) == len(goids), "pprof total %d != %d goroutines" % (sum(pp.values()), len(goids)))
check(ppfold == fold, "pprof stacks differ from folded: %s" % (set(ppfold.items()) ^ set(fold.items())))

# bt all: "goroutine N [...]:" then "#K stack pc function [(inlined)] file:line"
btst = collections.Counter()
g, frames = None, []
def flush():
    if g in goids:
        btst[tuple(frames)] += 1
for line in open(bt):
    m = re.match(r'goroutine (\d+) ', line)
    if m:
        flush()
        g, frames = int(m.group(1)), []
        continue
    m = re.match(r'#\d+\s+goroutine\s+0x[0-9a-f]+ (\S+)(?: \(inlined\))? (\S+):(\d+)$', line.rstrip())
    if m and g is not None:
        frames.append((m.group(1), m.group(2), int(m.group(3))))
flush()
check(btst == pp, "bt's stacks differ from pprof's: %s" % list(set(btst.items()) ^ set(pp.items()))[:4])

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
print("profcheck: %d goroutines, %d folded stacks, %d pprof samples, %d svg frames%s" %
      (len(goids), len(fold), len(samples), len(gs), "" if not fail else ", %d failures" % fail))
sys.exit(1 if fail else 0)
