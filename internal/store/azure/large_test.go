package azure

import (
	"testing"

	"github.com/seedship/seedship/internal/store/storetest"
)

// TestLargeObjectFlatMemory streams a generated object up and back and
// checks that memory stays bounded by the part buffers, whatever the
// object's size.
func TestLargeObjectFlatMemory(t *testing.T) {
	s := newTestStore(t, testConfig(t))
	storetest.LargeObject(t, s, storetest.LargeSize(), int64(s.cfg.Concurrency)*s.cfg.PartSize)
}
