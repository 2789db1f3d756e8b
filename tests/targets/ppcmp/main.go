// Command ppcmp is an fpinspect test helper: it parses two goroutine dumps
// with panicparse (github.com/maruel/panicparse/v2/stack), the way the
// tools people use read them, and compares what it found: the goroutines
// (state, locked, sleep minutes, created by, every call's function,
// file and line), and the buckets (panicparse's grouping of goroutines
// with similar stacks, arguments ignored).
//
// Usage: ppcmp RUNTIME_DUMP FPINSPECT_DUMP [SKIP_GOID]
//
// SKIP_GOID is left out of both (runtime.Stack's caller). Prints one line
// per difference ("DIFF ...") and "ppcmp: <n> goroutines, <n> calls,
// <n> buckets, <n> differences"; exit status 1 on a difference.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/maruel/panicparse/v2/stack"
)

func parse(path string) *stack.Snapshot {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ppcmp:", err)
		os.Exit(2)
	}
	defer f.Close()
	opts := stack.DefaultOpts()
	opts.GuessPaths = false
	opts.AnalyzeSources = false
	s, _, err := stack.ScanSnapshot(f, io.Discard, opts)
	if err != nil && err != io.EOF {
		fmt.Fprintln(os.Stderr, "ppcmp: parsing", path+":", err)
		os.Exit(2)
	}
	if s == nil {
		fmt.Fprintln(os.Stderr, "ppcmp: no goroutines in", path)
		os.Exit(2)
	}
	return s
}

func calls(st *stack.Stack) string {
	var b strings.Builder
	for _, c := range st.Calls {
		fmt.Fprintf(&b, "%s %s:%d; ", c.Func.Complete, c.RemoteSrcPath, c.Line)
	}
	if st.Elided {
		b.WriteString("(elided)")
	}
	return b.String()
}

func sig(g *stack.Signature) string {
	return fmt.Sprintf("[%s locked=%v sleep=%d-%d] %s| created by %s", g.State, g.Locked, g.SleepMin, g.SleepMax,
		calls(&g.Stack), calls(&g.CreatedBy))
}

func buckets(s *stack.Snapshot, skip int) []string {
	var out []string
	for _, b := range s.Aggregate(stack.AnyValue).Buckets {
		var ids []string
		for _, id := range b.IDs {
			if id != skip && id != 0 { // 0: the g0 SIGQUIT interrupted
				ids = append(ids, strconv.Itoa(id))
			}
		}
		if len(ids) > 0 {
			sort.Strings(ids)
			out = append(out, strings.Join(ids, ","))
		}
	}
	sort.Strings(out)
	return out
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: ppcmp RUNTIME_DUMP FPINSPECT_DUMP [SKIP_GOID]")
		os.Exit(2)
	}
	skip := -1
	if len(os.Args) > 3 {
		skip, _ = strconv.Atoi(os.Args[3])
	}
	rt, fp := parse(os.Args[1]), parse(os.Args[2])
	byID := map[int]*stack.Goroutine{}
	for _, g := range fp.Goroutines {
		byID[g.ID] = g
	}
	diffs, ncalls, n := 0, 0, 0
	seen := map[int]bool{}
	for _, g := range rt.Goroutines {
		if g.ID == skip || g.ID == 0 || seen[g.ID] {
			continue
		}
		seen[g.ID] = true
		n++
		h := byID[g.ID]
		if h == nil {
			diffs++
			fmt.Printf("DIFF goroutine %d: not in fpinspect's dump\n", g.ID)
			continue
		}
		ncalls += len(g.Stack.Calls)
		if a, b := sig(&g.Signature), sig(&h.Signature); a != b {
			diffs++
			fmt.Printf("DIFF goroutine %d:\n  runtime:   %s\n  fpinspect: %s\n", g.ID, a, b)
		}
	}
	for _, g := range fp.Goroutines {
		if !seen[g.ID] && g.ID != skip {
			diffs++
			fmt.Printf("DIFF goroutine %d: only in fpinspect's dump\n", g.ID)
		}
	}
	ba, bb := buckets(rt, skip), buckets(fp, skip)
	if strings.Join(ba, " ") != strings.Join(bb, " ") {
		diffs++
		fmt.Printf("DIFF buckets:\n  runtime:   %v\n  fpinspect: %v\n", ba, bb)
	}
	fmt.Printf("ppcmp: %d goroutines, %d calls, %d buckets, %d differences\n", n, ncalls, len(ba), diffs)
	if diffs > 0 {
		os.Exit(1)
	}
}
