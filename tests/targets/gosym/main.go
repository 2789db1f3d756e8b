// gosym: the oracle for fpinspect's pclntab reader from the standard
// library's reader (debug/gosym), which knows every pclntab format but not
// inline trees. For a Go ELF executable with a symbol table it prints
//
//	F <entry> <end> <name>         every function of the table
//	L <pc> <file> <line>           file:line at pcs every STRIDE bytes
//	                               of every function, and its entry
//
// (hex addresses, tab-separated) for tests/unit_pclntab --oracle.
package main

import (
	"bufio"
	"debug/elf"
	"debug/gosym"
	"fmt"
	"os"
	"strconv"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gosym EXE STRIDE")
		os.Exit(2)
	}
	stride, err := strconv.ParseUint(os.Args[2], 10, 64)
	if err != nil || stride == 0 {
		fmt.Fprintln(os.Stderr, "gosym: bad stride")
		os.Exit(2)
	}
	f, err := elf.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "gosym:", err)
		os.Exit(2)
	}
	sect := f.Section(".gopclntab")
	if sect == nil {
		fmt.Fprintln(os.Stderr, "gosym: no .gopclntab")
		os.Exit(2)
	}
	data, err := sect.Data()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gosym:", err)
		os.Exit(2)
	}
	// What cmd/internal/objfile does: runtime.text is the base of the
	// entry offsets (1.26+ headers leave it 0).
	var text uint64
	syms, err := f.Symbols()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gosym: no symbol table:", err)
		os.Exit(2)
	}
	for _, s := range syms {
		if s.Name == "runtime.text" {
			text = s.Value
		}
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gosym:", err)
		os.Exit(2)
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	for _, fn := range tab.Funcs {
		fmt.Fprintf(w, "F\t%x\t%x\t%s\n", fn.Entry, fn.End, fn.Name)
	}
	for _, fn := range tab.Funcs {
		for pc := fn.Entry; pc < fn.End; pc += stride {
			file, line, _ := tab.PCToLine(pc)
			fmt.Fprintf(w, "L\t%x\t%s\t%d\n", pc, file, line)
		}
	}
}
