// Command cgo is an fpinspect test target for goroutines and Ms that have
// C on their stacks.
//
// Flags:
//
//	-mode basic   (default) three deliberate goroutines:
//	              callback: a thread made by pthread_create calls the exported
//	                Go function goCallback1, which blocks forever in a channel
//	                receive (an extra M: isextra=1 from Go 1.20);
//	              cgocall: a goroutine does runtime.LockOSThread and calls
//	                c_block_in_read, which blocks in read(2) in C forever
//	                (its M has ncgo=1, incgo=1; the goroutine is _Gsyscall);
//	              nested: another C thread calls goNested1 -> C c_call_nested2
//	                -> goNested2, which returns; goNested1 then blocks forever
//	                in a channel receive. Go 1.21-1.24 leave isExtraInC=1 on
//	                that M (golang/go#72870); 1.25+ clear it. 1.19 has no
//	                isExtraInC field.
//	-mode badfp   only the callback goroutine, but the C code calls
//	              goCallback1 with RBP = 0xdeadbeef, so the frame-pointer
//	              chain of the goroutine runs through cgocallback into the C
//	              wrapper frame and then into garbage.
//	-mode badfp2  the same with RBP = the address of two fake frame records in
//	              the C program's .data that point at each other: mapped,
//	              aligned and readable, but a cycle (M fakeframes gives the
//	              address).
//
// C code is compiled with frame pointers (-fno-omit-frame-pointer). The main
// goroutine is locked to the main thread (LockOSThread in init), so the
// thread whose id is the pid always runs main (blocked reading stdin), and
// the cgocall goroutine never lands on m0.
//
// Output protocol (stdout): M pid, M mode, M gomaxprocs, M maingoid;
// G <goid> <kind> for kinds callback, cgocall, nested; M ctid_callback <tid>
// and M ctid_nested <tid> (OS thread ids of the C-created threads);
// M lockedtid <tid> (thread of the cgocall goroutine); M nested2_goid <goid>
// (the goid goNested2 saw, = the nested goroutine); in the badfp modes
// M badrbp <hex>; M numgoroutine <n>; then READY. After READY every stdin
// line "ping" is answered "pong <count>", "stacks" with runtime.Stack(all)
// between "STACKS BEGIN" and "STACKS END" lines; EOF on stdin exits 0.
package main

// #cgo CFLAGS: -O2 -g -fno-omit-frame-pointer
// #cgo LDFLAGS: -lpthread
// #include "cthreads.h"
import "C"

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type report struct {
	goid int64
	kind string
	tid  int64
}

// reports carries one report from each deliberate goroutine, sent just
// before it blocks.
var reports = make(chan report, 16)

var pipeR, pipeW int // c_block_in_read reads pipeR; pipeW stays open, unwritten

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

func init() {
	runtime.LockOSThread()
}

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "cgo: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	mode := flag.String("mode", "basic", "basic, badfp or badfp2")
	flag.Parse()

	fmt.Println("M pid", os.Getpid())
	fmt.Println("M mode", *mode)
	fmt.Println("M gomaxprocs", runtime.GOMAXPROCS(0))
	fmt.Println("M maingoid", goid())

	want := 0
	switch *mode {
	case "basic":
		var p [2]int
		if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
			die("pipe: %v", err)
		}
		pipeR, pipeW = p[0], p[1]
		go func() {
			runtime.LockOSThread()
			tid := int64(C.c_gettid())
			reports <- report{goid(), "cgocall", tid}
			C.c_block_in_read(C.int(pipeR))
		}()
		if err := C.c_start_callback_thread(0); err != 0 {
			die("pthread_create: %v", syscall.Errno(err))
		}
		if err := C.c_start_nested_thread(); err != 0 {
			die("pthread_create: %v", syscall.Errno(err))
		}
		want = 3
	case "badfp", "badfp2":
		rbpMode := 1
		bad := uint64(C.BADFP_RBP)
		if *mode == "badfp2" {
			rbpMode = 2
			bad = uint64(C.c_fake_frames_addr())
			fmt.Printf("M fakeframes 0x%x\n", bad)
		}
		fmt.Printf("M badrbp 0x%x\n", bad)
		if err := C.c_start_callback_thread(C.int(rbpMode)); err != 0 {
			die("pthread_create: %v", syscall.Errno(err))
		}
		want = 1
	default:
		die("unknown -mode %q", *mode)
	}

	for i := 0; i < want; i++ {
		r := <-reports
		fmt.Println("G", r.goid, r.kind)
		switch r.kind {
		case "callback":
			fmt.Println("M ctid_callback", r.tid)
		case "nested":
			fmt.Println("M ctid_nested", r.tid)
			fmt.Println("M nested2_goid", nested2Goid)
		case "cgocall":
			fmt.Println("M lockedtid", r.tid)
		}
	}

	// Each goroutine reported just before blocking; let them get there.
	time.Sleep(250 * time.Millisecond)
	fmt.Println("M numgoroutine", runtime.NumGoroutine())
	fmt.Println("READY")

	sc := bufio.NewScanner(os.Stdin)
	count := 0
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "ping" {
			count++
			fmt.Println("pong", count)
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
