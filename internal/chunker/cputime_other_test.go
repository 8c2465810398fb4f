//go:build !linux

package chunker

import "time"

func threadCPU() (time.Duration, bool) { return 0, false }
