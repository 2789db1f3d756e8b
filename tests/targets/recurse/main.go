// Command recurse is an fpinspect test target with goroutines blocked at
// every stack depth, to check that frame-pointer and DWARF CFI unwinding
// agree frame by frame.
//
// Flags:
//
//	-depth D   (default 20) start D goroutines; goroutine i (1..D) calls the
//	           non-inlined main.recurse so that exactly i frames of
//	           main.recurse are on its stack, and blocks in a channel
//	           receive from the deepest one.
//
// Output protocol (stdout): M pid, M gomaxprocs, M maingoid, M depth <D>;
// per goroutine "G <goid> recurse" and "M depth_<goid> <i>";
// M numgoroutine <n> (= D + 1); READY. After READY every stdin line "ping"
// is answered "pong <count>"; EOF on stdin exits 0.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

type report struct {
	goid  int64
	depth int
}

var (
	reports = make(chan report)
	never   = make(chan int) // nothing is ever sent on it
	sink    uintptr
)

// goid returns the current goroutine's id, parsed from the
// "goroutine N [" header that runtime.Stack writes.
func goid() int64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	s := strings.TrimPrefix(string(buf[:n]), "goroutine ")
	if i := strings.IndexByte(s, ' '); i > 0 {
		s = s[:i]
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return id
}

// recurse calls itself until d frames of it are on the stack, then reports
// and blocks forever from the deepest one. pad gives the frame some locals
// that stay live across the call, so the frame is more than a return
// address and a saved frame pointer.
//
//go:noinline
func recurse(d, total int) {
	var pad [3]uintptr
	pad[d%3] = uintptr(d)
	if d <= 1 {
		reports <- report{goid(), total}
		<-never
	} else {
		recurse(d-1, total)
	}
	sink += pad[0] + pad[1] + pad[2]
}

func main() {
	depth := flag.Int("depth", 20, "number of goroutines; goroutine i is i frames deep")
	flag.Parse()

	fmt.Println("M pid", os.Getpid())
	fmt.Println("M gomaxprocs", runtime.GOMAXPROCS(0))
	fmt.Println("M maingoid", goid())
	fmt.Println("M depth", *depth)

	for i := 1; i <= *depth; i++ {
		go recurse(i, i)
	}
	for i := 1; i <= *depth; i++ {
		r := <-reports
		fmt.Println("G", r.goid, "recurse")
		fmt.Printf("M depth_%d %d\n", r.goid, r.depth)
	}

	// Each goroutine reported just before blocking; let them get there.
	time.Sleep(200 * time.Millisecond)
	fmt.Println("M numgoroutine", runtime.NumGoroutine())
	fmt.Println("READY")

	sc := bufio.NewScanner(os.Stdin)
	count := 0
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "ping" {
			count++
			fmt.Println("pong", count)
		}
	}
	os.Exit(0)
}
