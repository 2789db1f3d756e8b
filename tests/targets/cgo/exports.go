package main

// Go functions called from C threads (cthreads.c). A file with //export may
// only declare things in its preamble.

// #include "cthreads.h"
import "C"

// forever is never sent on or closed.
var forever = make(chan int)

// nested2Goid is the goid goNested2 ran on (the same goroutine as
// goNested1's: nested callbacks on one thread share the extra M's g).
var nested2Goid int64 = -1

// goCallback1 runs on a C-created thread (an extra M) and blocks forever.
//
//export goCallback1
//go:noinline
func goCallback1(tid C.long) {
	reports <- report{goid(), "callback", int64(tid)}
	<-forever
}

// goNested1 runs on a C-created thread, calls C, which calls goNested2,
// which returns; then goNested1 blocks forever. Its M has Go frames above
// a C frame above Go frames: the isExtraInC state of golang/go#72870.
//
//export goNested1
//go:noinline
func goNested1(tid C.long) {
	C.c_call_nested2(tid)
	reports <- report{goid(), "nested", int64(tid)}
	<-forever
}

//export goNested2
//go:noinline
func goNested2(tid C.long) {
	nested2Goid = goid()
}
