// Command layout is the smallest Go program: tests/run-layout.sh builds it
// with each toolchain, for amd64 and arm64, to make the runtime's layout
// from its DWARF (only the runtime's packages compile: quick, even cross).
package main

func main() { println("layout") }
