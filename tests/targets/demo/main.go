// Command demo is the program "fpinspect demo" starts and inspects: a tiny
// server-like Go program whose goroutines wait in the usual ways.
//
// It prints "G <goid> <kind>" for each goroutine it starts, "M <name> <value>"
// facts, then "READY". Afterwards it answers each "ping" line on stdin with
// "pong <n>" and exits when stdin closes. No flags.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

var (
	jobs    = make(chan int)      // workers wait here for jobs that never come
	started = make(chan string)   // each goroutine says "<goid> <kind>" here
	stateMu sync.Mutex            // held by main forever, so the locker waits
	never   = make(chan struct{}) // nothing is ever sent on it
)

// hello tells main which goroutine we are, just before we start waiting.
func hello(kind string) {
	var buf [64]byte
	header := string(buf[:runtime.Stack(buf[:], false)]) // "goroutine 7 [running]:..."
	id, _ := strconv.Atoi(strings.Fields(header)[1])
	started <- fmt.Sprintf("%d %s", id, kind)
}

func worker() {
	hello("chanrecv")
	for range jobs { // blocks in a channel receive
	}
}

func ticker() {
	t := time.NewTicker(time.Hour)
	hello("select")
	for {
		select { // blocks in select: neither case is ready for an hour
		case <-t.C:
		case <-never:
		}
	}
}

// fib recurses for real, leaving a deep stack behind when it waits.
//
//go:noinline
func fib(n int) int {
	if n < 2 {
		hello("recurse")
		<-never // wait at the bottom of the recursion
	}
	return fib(n-1) + fib(n-2)
}

func main() {
	fmt.Println("M pid", os.Getpid())
	stateMu.Lock() // and never unlock it

	const workers = 3
	for i := 0; i < workers; i++ {
		go worker()
	}
	go ticker()
	go func() { // a sleeper
		hello("sleep")
		for {
			time.Sleep(24 * time.Hour)
		}
	}()
	go func() { hello("mutex"); stateMu.Lock() }()
	go fib(10)

	for i := 0; i < workers+4; i++ {
		fmt.Println("G", <-started)
	}
	time.Sleep(200 * time.Millisecond) // let the last ones get to their wait
	fmt.Println("M numgoroutine", runtime.NumGoroutine())
	fmt.Println("READY")

	// Serve until stdin closes: "ping" -> "pong <n>".
	in := bufio.NewScanner(os.Stdin)
	for pongs := 1; in.Scan(); {
		if strings.TrimSpace(in.Text()) == "ping" {
			fmt.Println("pong", pongs)
			pongs++
		}
	}
}
