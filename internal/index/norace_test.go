//go:build !race

package index

// raceEnabled is true when the race detector slows tests down.
const raceEnabled = false
