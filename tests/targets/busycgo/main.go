// Command busycgo is an fpinspect test target that keeps calling between Go
// and C while it is inspected (issue 10):
//
//	nested   a goroutine calls C, which calls back into Go, which calls C
//	         again (Go -> C -> Go -> C on a Go-created thread)
//	cthreads two threads made by pthread_create call into Go in a loop (an
//	         extra M each time), and the Go side calls C (C -> Go -> C)
//	prof     a CPU profile runs (SIGPROF often lands in C) with a cgo
//	         traceback function registered (runtime.SetCgoTraceback)
//	vdso     time.Now from inside the callbacks
//
// Each worker checks its results and prints "BAD ..." when one is wrong.
// Output protocol: M pid, READY; stdin "ping" -> "pong N", "status" ->
// "status nested=N cthreads=N bad=N"; EOF exits.
package main

// #cgo CFLAGS: -O2 -g -fno-omit-frame-pointer
// #cgo LDFLAGS: -lpthread
// #include "work.h"
import "C"

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
)

var nested, cthreads, bad int64

func fail(format string, args ...interface{}) {
	if atomic.AddInt64(&bad, 1) <= 10 {
		fmt.Printf("BAD "+format+"\n", args...)
	}
}

//export goInner
func goInner(n C.long) C.long {
	t := time.Now()
	r := C.c_leaf(n)
	if time.Since(t) < 0 {
		fail("vdso: time went back")
	}
	return r
}

//export goFromCThread
func goFromCThread(n C.long) {
	if r := C.c_leaf(n); r != n+1 {
		fail("cthreads: c_leaf(%d) = %d", n, r)
	}
	_ = time.Now()
	atomic.AddInt64(&cthreads, 1)
}

func nestedLoop() {
	for i := 0; ; i++ {
		if r := C.c_work(C.long(i)); r != C.long(i)+2 {
			fail("nested: c_work(%d) = %d", i, r)
		}
		atomic.AddInt64(&nested, 1)
	}
}

func main() {
	runtime.SetCgoTraceback(0, unsafe.Pointer(C.c_traceback), nil, nil)
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		fail("StartCPUProfile: %v", err)
	}
	fmt.Println("M pid", os.Getpid())
	go nestedLoop()
	go nestedLoop()
	if err := C.c_start_threads(2); err != 0 {
		fmt.Fprintln(os.Stderr, "busycgo: pthread_create failed")
		os.Exit(2)
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
			fmt.Printf("status cthreads=%d nested=%d bad=%d\n", atomic.LoadInt64(&cthreads),
				atomic.LoadInt64(&nested), atomic.LoadInt64(&bad))
		}
	}
}
