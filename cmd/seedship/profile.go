package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// writeHeapProfile writes a heap profile (of in-use memory at the end) to
// path, from SEEDSHIP_MEMPROFILE, for performance work.
func writeHeapProfile(path string) {
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "seedship: heap profile:", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		fmt.Fprintln(os.Stderr, "seedship: heap profile:", err)
	}
}

// startProfile writes a CPU profile to path (from SEEDSHIP_CPUPROFILE) for
// performance work; it does nothing when path is empty.
func startProfile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "seedship: cpu profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "seedship: cpu profile:", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
