// Command layout is the smallest Go program whose DWARF has every type a
// layout holds: tests/run-layout.sh builds it with each toolchain, for amd64
// and arm64, to make the runtime's layout from it. runtime/pprof's label
// set is there only because pprof.Do is called.
package main

import (
	"context"
	"runtime/pprof"
)

func main() {
	pprof.Do(context.Background(), pprof.Labels("k", "v"), func(context.Context) {})
	println("layout")
}
