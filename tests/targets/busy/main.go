// Command busy is an fpinspect test target that keeps running while it is
// inspected: the states a check of a healthy, busy program meets (issue 10).
//
// Workers (-work, comma-separated; default all):
//
//	vdso     time.Now in a tight loop: threads caught inside the vDSO, entered
//	         through runtime.nanotime1/walltime on the g0 stack
//	deep     a recursion 2,400 frames deep (about 1 MB of stack) that keeps
//	         running at its bottom and returns and descends again
//	gc       allocation with pointer stores (write barriers), copy (memmove),
//	         strings.Index (indexbytebody), maps (aeshash), runtime.GC
//	churn    goroutines started and ending all the time (fresh goroutines,
//	         morestack in prologues as their stacks grow)
//	signals  SIGUSR1 sent to itself constantly, caught by signal.Notify, and a
//	         CPU profile running (SIGPROF on every thread)
//
// Each worker checks its own results; a wrong one prints "BAD <what>" on
// stdout. Output protocol: M pid, M workers, READY. Then stdin lines:
// "ping" -> "pong N"; "status" -> "status <worker>=<iterations> ... bad=<n>".
// EOF on stdin exits 0.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	counts sync.Map // worker name -> *int64
	bad    int64
)

func counter(name string) *int64 {
	v, _ := counts.LoadOrStore(name, new(int64))
	return v.(*int64)
}

func fail(format string, args ...interface{}) {
	if atomic.AddInt64(&bad, 1) <= 10 {
		fmt.Printf("BAD "+format+"\n", args...)
	}
}

func vdso() {
	c := counter("vdso")
	last := time.Now()
	for {
		for i := 0; i < 1000; i++ {
			now := time.Now()
			if now.Before(last) {
				fail("vdso: time went back from %v to %v", last, now)
			}
			last = now
		}
		atomic.AddInt64(c, 1)
	}
}

const deepFrames = 2400

//go:noinline
func descend(n int, acc uint64) uint64 {
	var pad [48]uint64 // about 400 bytes a frame: 2,400 frames ~ 1 MB
	pad[n%48] = acc
	if n == 0 {
		return spin(acc)
	}
	return descend(n-1, acc+uint64(n)) + pad[n%48] - acc
}

//go:noinline
func spin(acc uint64) uint64 {
	x := acc
	for i := 0; i < 200000; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x - x + acc
}

func deep() {
	c := counter("deep")
	want := uint64(deepFrames) * (deepFrames + 1) / 2
	for {
		if got := descend(deepFrames, 0); got != want {
			fail("deep: got %d want %d", got, want)
		}
		atomic.AddInt64(c, 1)
	}
}

type node struct {
	next *node
	val  []byte
	key  string
}

func gcwork() {
	c := counter("gc")
	var keep [256]*node
	m := map[string]int{}
	for it := 0; ; it++ {
		for i := range keep {
			n := &node{val: make([]byte, 64+i), key: fmt.Sprintf("k%d-%d", it%97, i)}
			copy(n.val, "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123")
			n.next = keep[(i+1)%len(keep)] // a pointer store into the heap: write barrier
			keep[i] = n
			m[n.key] = i
		}
		s := strings.Repeat("x", 4000) + "needle"
		if strings.Index(s, "needle") != 4000 || strings.IndexByte(s, 'n') != 4000 {
			fail("gc: strings.Index")
		}
		if len(m) > 100000 {
			m = map[string]int{}
		}
		if it%50 == 0 {
			runtime.GC()
		}
		atomic.AddInt64(c, 1)
	}
}

//go:noinline
func grow(n int) int {
	var pad [64]byte
	pad[n%64] = byte(n)
	if n == 0 {
		return int(pad[0])
	}
	return grow(n-1) + 1 + int(pad[n%64]) - int(byte(n))
}

func churn() {
	c := counter("churn")
	for {
		var wg sync.WaitGroup
		var sum int64
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				atomic.AddInt64(&sum, int64(grow(i%50)))
			}(i)
		}
		wg.Wait()
		want := int64(0)
		for i := 0; i < 200; i++ {
			want += int64(i % 50)
		}
		if sum != want {
			fail("churn: sum %d want %d", sum, want)
		}
		atomic.AddInt64(c, 1)
	}
}

func signals() {
	c := counter("signals")
	ch := make(chan os.Signal, 64)
	signal.Notify(ch, syscall.SIGUSR1)
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		fail("signals: StartCPUProfile: %v", err)
	}
	go func() {
		for range ch {
			atomic.AddInt64(c, 1)
		}
	}()
	pid := os.Getpid()
	for {
		syscall.Kill(pid, syscall.SIGUSR1)
		time.Sleep(200 * time.Microsecond)
	}
}

func main() {
	work := flag.String("work", "vdso,deep,gc,churn,signals", "workers to run")
	flag.Parse()
	workers := map[string]func(){"vdso": vdso, "deep": deep, "gc": gcwork, "churn": churn, "signals": signals}
	fmt.Println("M pid", os.Getpid())
	fmt.Println("M workers", *work)
	for _, w := range strings.Split(*work, ",") {
		f, ok := workers[w]
		if !ok {
			fmt.Fprintf(os.Stderr, "busy: unknown worker %q\n", w)
			os.Exit(2)
		}
		counter(w)
		go f()
	}
	time.Sleep(200 * time.Millisecond)
	fmt.Println("READY")
	sc := bufio.NewScanner(os.Stdin)
	pings := 0
	for sc.Scan() {
		switch strings.TrimSpace(sc.Text()) {
		case "ping":
			pings++
			fmt.Println("pong", pings)
		case "status":
			var parts []string
			counts.Range(func(k, v interface{}) bool {
				parts = append(parts, fmt.Sprintf("%s=%d", k, atomic.LoadInt64(v.(*int64))))
				return true
			})
			sort.Strings(parts)
			fmt.Printf("status %s bad=%d\n", strings.Join(parts, " "), atomic.LoadInt64(&bad))
		}
	}
}
