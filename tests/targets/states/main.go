// Command states is an fpinspect test target: it parks many goroutines in
// every common blocking state and then waits to be inspected.
//
// Flags:
//
//	-n N         number of blocked goroutines (default 300), spread evenly
//	             (goroutine i gets kind i%7) over the kinds
//	             chanrecv  (receive on a channel nobody sends on)
//	             chansend  (send on an unbuffered channel nobody receives on)
//	             select    (select on two channels that never become ready)
//	             sleep     (time.Sleep(time.Hour))
//	             mutex     (sync.Mutex.Lock on a mutex main holds forever)
//	             cond      (sync.Cond.Wait, never signalled)
//	             wg        (sync.WaitGroup.Wait on a group that never reaches 0)
//	-running K   goroutines spinning in a loop that never blocks (default 1),
//	             kind running; they may be seen running or runnable
//	-syscall K   goroutines blocked in a raw read(2) on a pipe nobody writes
//	             to, via syscall.Syscall, so they sit in _Gsyscall rather
//	             than in the netpoller (default 1), kind syscall
//	-depth D     when > 0 every goroutine above first recurses through the
//	             non-inlined function main.recurse so that exactly D frames of
//	             main.recurse are on its stack below the blocking call
//	             (default 0)
//	-gc          keep the garbage collector on after setup. By default it is
//	             off from start to exit: setup of a million goroutines is
//	             faster, and no GC cycle (the runtime forces one every two
//	             minutes) changes goroutine states while being inspected.
//	-exitafter D exit with status 3 after D (a duration) from the start,
//	             wherever setup is then: a process that goes away while it
//	             is being inspected
//	-faultafter D  D after setup, a goroutine dereferences nil in
//	             main.faultLeaf below 4 frames of main.faultLevel (it prints
//	             "G <goid> fault" first): a crash (a core with
//	             GOTRACEBACK=crash)
//	-notify      catch SIGUSR1 (after the count of goroutines, so it is not
//	             in numgoroutine): each one prints "SIG usr1 <count>"
//	-locked K    goroutines that call runtime.LockOSThread and then block
//	             receiving on a channel (default 0), kind locked
//	-labels      every blocked goroutine sets pprof labels on itself
//	             (pprof.SetGoroutineLabels) before it blocks: kind=<its
//	             kind>, index=<i> (default off)
//	-ballast W   allocate W words of pseudorandom data (fixed seed; one word
//	             in four the address of another word of it, so it holds both
//	             wild values and pointers into readable memory) and print
//	             "M ballast <address> <W>": memory a test can point the
//	             runtime's roots at, or write fake structures into
//
// Output protocol (stdout, one fact per line):
//
//	M pid <pid>, M gomaxprocs <n>, M maingoid <goid>, M n <N>, M depth <D>,
//	M running <K>, M syscall <K>
//	G <goid> <kind>     one per goroutine: all running and syscall ones, and
//	                    the first 1000 blocked ones (by index, so every kind
//	                    is represented); M glines_truncated <count> tells how
//	                    many blocked goroutines got no G line
//	M numgoroutine <n>  runtime.NumGoroutine() with everything in place
//	                    (= 1 + N + running + syscall + locked)
//	READY
//
// Then every stdin line "ping" is answered "pong <count>", every line
// "stacks" with runtime.Stack(all) between "STACKS BEGIN" and "STACKS END"
// lines, every line "gc" with "gc done" after a runtime.GC() (whose stack
// scan records g.waitsince of every blocked goroutine: without a GC cycle
// the runtime knows no wait times); EOF on stdin exits 0.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

const maxGLines = 1000

var kinds = []string{"chanrecv", "chansend", "select", "sleep", "mutex", "cond", "wg"}

// What the blocked goroutines block on. Nothing ever makes them ready.
var (
	recvCh   = make(chan int)
	sendCh   = make(chan int)
	selA     = make(chan int)
	selB     = make(chan int)
	heldMu   sync.Mutex     // locked by main forever
	neverWG  sync.WaitGroup // Add(1), never Done
	pipeR    int            // read end: syscall goroutines block reading it
	pipeW    int            // write end: kept open, never written
	lockedCh = make(chan int) // -locked goroutines receive on it
	spinSink [64]uint64     // spinners write here so the loop is not dead code
)

type report struct {
	goid int64
	kind string
}

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

// recurse puts exactly d frames of main.recurse on the stack, then calls
// block from the deepest one. block never returns.
//
//go:noinline
func recurse(d int, block func()) {
	if d <= 1 {
		block()
		return
	}
	recurse(d-1, block)
}

// withDepth runs block below depth frames of main.recurse (or directly).
func withDepth(depth int, block func()) {
	if depth > 0 {
		recurse(depth, block)
	} else {
		block()
	}
}

// blockAs blocks the calling goroutine forever in the given kind of wait.
// announce is called immediately before the blocking operation.
func blockAs(kind int, announce func()) {
	switch kinds[kind] {
	case "chanrecv":
		announce()
		<-recvCh
	case "chansend":
		announce()
		sendCh <- 1
	case "select":
		announce()
		select {
		case <-selA:
		case selB <- 1:
		}
	case "sleep":
		announce()
		for {
			time.Sleep(time.Hour)
		}
	case "mutex":
		announce()
		heldMu.Lock()
	case "cond":
		// One Cond per goroutine: a shared one would serialize a million
		// goroutines on its mutex before they reach Wait.
		var mu sync.Mutex
		c := sync.NewCond(&mu)
		mu.Lock()
		announce()
		for {
			c.Wait()
		}
	case "wg":
		announce()
		neverWG.Wait()
	}
	select {} // not reached
}

type faultT struct{ x int }

var faultSink int

// faultLeaf faults on a nil p in its first instruction: a frameless leaf.
//
//go:noinline
func faultLeaf(p *faultT) int {
	return p.x
}

//go:noinline
func faultLevel(n int, p *faultT) int {
	if n == 0 {
		return faultLeaf(p)
	}
	return faultLevel(n-1, p) + 1
}

//go:noinline
func spin(slot int) {
	p := &spinSink[slot%len(spinSink)]
	for {
		*p++
	}
}

//go:noinline
// syscaller is started by a go statement with arguments: the compiler
// wraps it in a function (main.main.gowrap1 since Go 1.22, main.main.funcN
// before) with funcID wrapper, which the runtime's tracebacks leave out.
func syscaller(reports chan<- report, ready *sync.WaitGroup, depth int) {
	reports <- report{goid(), "syscall"}
	withDepth(depth, func() { ready.Done(); syscallRead() })
}

func syscallRead() {
	buf := make([]byte, 1)
	for {
		// A raw blocking read(2): the goroutine sits in _Gsyscall.
		_, _, errno := syscall.Syscall(syscall.SYS_READ, uintptr(pipeR),
			uintptr(unsafe.Pointer(&buf[0])), 1)
		if errno != 0 && errno != syscall.EINTR {
			select {}
		}
	}
}

func main() {
	n := flag.Int("n", 300, "number of blocked goroutines")
	nrun := flag.Int("running", 1, "number of spinning goroutines")
	nsys := flag.Int("syscall", 1, "number of goroutines blocked in read(2)")
	depth := flag.Int("depth", 0, "frames of main.recurse below each blocking call")
	gc := flag.Bool("gc", false, "keep the garbage collector on after setup")
	notify := flag.Bool("notify", false, "report SIGUSR1 on stdout")
	exitAfter := flag.Duration("exitafter", 0, "exit with status 3 after this long")
	faultAfter := flag.Duration("faultafter", 0, "dereference nil in a goroutine after this long")
	nballast := flag.Int("ballast", 0, "words of pseudorandom data to allocate")
	nlocked := flag.Int("locked", 0, "goroutines locked to their threads, blocked")
	labels := flag.Bool("labels", false, "blocked goroutines set pprof labels")
	flag.Parse()
	if *exitAfter > 0 {
		go func() {
			time.Sleep(*exitAfter)
			os.Exit(3)
		}()
	}

	debug.SetGCPercent(-1)

	fmt.Println("M pid", os.Getpid())
	fmt.Println("M gomaxprocs", runtime.GOMAXPROCS(0))
	fmt.Println("M maingoid", goid())
	fmt.Println("M n", *n)
	fmt.Println("M depth", *depth)
	fmt.Println("M running", *nrun)
	fmt.Println("M syscall", *nsys)
	if *nlocked > 0 {
		fmt.Println("M locked", *nlocked)
	}

	heldMu.Lock()
	neverWG.Add(1)
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		fmt.Fprintln(os.Stderr, "pipe:", err)
		os.Exit(1)
	}
	pipeR, pipeW = p[0], p[1]

	reports := make(chan report, maxGLines+*nrun+*nsys+*nlocked)
	nreports := 0
	var ready sync.WaitGroup

	// Blocked goroutines first, spinners last: a spinner started early
	// would take a P away from goroutine creation.
	ready.Add(*n)
	for i := 0; i < *n; i++ {
		k := i % len(kinds)
		i := i
		if i < maxGLines {
			nreports++
			go func() {
				reports <- report{goid(), kinds[k]}
				if *labels {
					setLabels(kinds[k], i)
				}
				withDepth(*depth, func() { blockAs(k, ready.Done) })
			}()
		} else {
			go func() {
				if *labels {
					setLabels(kinds[k], i)
				}
				withDepth(*depth, func() { blockAs(k, ready.Done) })
			}()
		}
	}
	ready.Wait()

	ready.Add(*nlocked)
	for i := 0; i < *nlocked; i++ {
		nreports++
		go func() {
			runtime.LockOSThread()
			reports <- report{goid(), "locked"}
			withDepth(*depth, func() { ready.Done(); <-lockedCh })
		}()
	}
	ready.Wait()

	ready.Add(*nsys + *nrun)
	for i := 0; i < *nsys; i++ {
		nreports++
		go syscaller(reports, &ready, *depth)
	}
	for i := 0; i < *nrun; i++ {
		nreports++
		go func(i int) {
			reports <- report{goid(), "running"}
			withDepth(*depth, func() { ready.Done(); spin(i) })
		}(i)
	}

	for i := 0; i < nreports; i++ {
		r := <-reports
		fmt.Println("G", r.goid, r.kind)
	}
	if *n > maxGLines {
		fmt.Println("M glines_truncated", *n-maxGLines)
	}

	// Everyone has announced; give the last ones time to actually block.
	ready.Wait()
	want := 1 + *n + *nsys + *nrun + *nlocked
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() != want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200*time.Millisecond + time.Duration(*n/1000)*time.Millisecond)
	fmt.Println("M numgoroutine", runtime.NumGoroutine())
	if *faultAfter > 0 {
		go func() {
			fmt.Println("G", goid(), "fault")
			time.Sleep(*faultAfter)
			faultSink = faultLevel(3, nil)
		}()
	}
	if *notify {
		sigs := make(chan os.Signal, 8)
		signal.Notify(sigs, syscall.SIGUSR1)
		go func() {
			for count := 1; ; count++ {
				<-sigs
				fmt.Println("SIG usr1", count)
			}
		}()
	}
	if *nballast > 0 {
		makeBallast(*nballast)
	}
	if *gc {
		debug.SetGCPercent(100)
	}
	fmt.Println("READY")

	serve()
}

// setLabels gives the calling goroutine the pprof labels kind and index.
func setLabels(kind string, i int) {
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(),
		pprof.Labels("kind", kind, "index", strconv.Itoa(i))))
}

// ballast is never read by the program: only tests look at it (and write
// into it) from outside.
var ballast []uint64

func makeBallast(w int) {
	ballast = make([]uint64, w)
	base := uint64(uintptr(unsafe.Pointer(&ballast[0])))
	x := uint64(0x9e3779b97f4a7c15)
	for i := range ballast {
		// xorshift64: the same words on every run
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		if i%4 == 3 {
			ballast[i] = base + 8*(x%uint64(w))
		} else {
			ballast[i] = x
		}
	}
	fmt.Printf("M ballast %#x %d\n", base, w)
}

// serve answers "ping" with "pong <count>" until stdin reaches EOF.
func serve() {
	sc := bufio.NewScanner(os.Stdin)
	count := 0
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "ping" {
			count++
			fmt.Println("pong", count)
		}
		if strings.TrimSpace(sc.Text()) == "gc" {
			runtime.GC()
			fmt.Println("gc done")
		}
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "pprof" {
			// the runtime's own goroutine profile (runtime/pprof's
			// encoding), for the tests to hold fpinspect's against
			out, err := os.Create(f[1])
			if err == nil {
				err = pprof.Lookup("goroutine").WriteTo(out, 0)
				out.Close()
			}
			fmt.Println("pprof done", err)
		}
		if strings.TrimSpace(sc.Text()) == "stacks" {
			// The runtime's own dump at the GOTRACEBACK level of the
			// environment (SIGQUIT always prints at level system)
			n := runtime.Stack(stackBuf, true)
			os.Stdout.Write([]byte("STACKS BEGIN\n"))
			os.Stdout.Write(stackBuf[:n])
			os.Stdout.Write([]byte("\nSTACKS END\n"))
		}
	}
	os.Exit(0)
}

// stackBuf holds runtime.Stack's output: allocated at the start, so that
// asking for it later does not start a GC cycle (and its workers).
var stackBuf = make([]byte, 4<<20)
