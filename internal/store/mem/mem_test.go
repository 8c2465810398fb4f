package mem_test

import (
	"testing"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/mem"
	"github.com/seedship/seedship/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return mem.New() })
}

func BenchmarkPutGet1MiB(b *testing.B) {
	storetest.BenchmarkPutGet(b, mem.New(), 1<<20)
}
