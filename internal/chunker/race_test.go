//go:build race

package chunker

// raceEnabled shrinks the large-input tests: the race detector slows the
// hashing loop some fifty times, and that loop touches no shared memory.
const raceEnabled = true
