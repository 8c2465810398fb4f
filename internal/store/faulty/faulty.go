// Package faulty wraps a store.Store and injects faults described by rules:
// failed calls before or after the inner store acted, latency, and flipped
// bits in read data. It counts calls and fired faults so that tests can
// assert every fault they configured really happened.
package faulty

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/seedship/seedship/internal/store"
)

// Store is the fault-injecting wrapper, safe for concurrent use.
type Store struct {
	inner store.Store

	mu       sync.Mutex
	rng      *rand.Rand
	rules    []*rule
	calls    [numOps]int
	injected [numOps]int
}

var _ store.Store = (*Store)(nil)

// Option configures New.
type Option func(*Store)

// WithSeed seeds the random numbers used by Prob and random bit flips
// (the default seed is 1).
func WithSeed(seed uint64) Option {
	return func(s *Store) { s.rng = rand.New(rand.NewPCG(seed, seed)) }
}

// WithRules adds rules, as AddRule does.
func WithRules(rules ...Rule) Option {
	return func(s *Store) {
		for _, r := range rules {
			s.rules = append(s.rules, &rule{Rule: r})
		}
	}
}

// New wraps inner.
func New(inner store.Store, opts ...Option) *Store {
	s := &Store{inner: inner}
	WithSeed(1)(s)
	for _, o := range opts {
		o(s)
	}
	return s
}

// AddRule adds a rule; its call count starts at zero.
func (s *Store) AddRule(r Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, &rule{Rule: r})
}

// ClearRules removes all rules; the counters are kept.
func (s *Store) ClearRules() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = nil
}

// Count returns the number of calls of op seen so far.
func (s *Store) Count(op Op) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Injected returns the number of faults that took effect on op so far: an
// AckLost whose inner call failed, or a FlipBit that found no byte to flip,
// is not counted.
func (s *Store) Injected(op Op) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.injected[op]
}

func (s *Store) count(op Op) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injected[op]++
}

// faults is what the rules fired for one call.
type faults struct {
	op      Op
	name    string
	latency time.Duration
	delays  int
	fail    *Rule
	ackLost *Rule
	flips   []Rule
}

// fire counts a call and collects the rules that fire for it.
func (s *Store) fire(op Op, name string) *faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	f := &faults{op: op, name: name}
	for _, r := range s.rules {
		if !r.match(op, name) || r.Prob > 0 && s.rng.Float64() >= r.Prob {
			continue
		}
		f.latency += r.Latency
		switch {
		case r.Effect == Fail && f.fail == nil:
			f.fail = &r.Rule
		case r.Effect == AckLost && f.ackLost == nil:
			f.ackLost = &r.Rule
		case r.Effect == FlipBit:
			f.flips = append(f.flips, r.Rule)
		case r.Effect == Delay:
			f.delays++
		}
	}
	return f
}

// before applies latency and a Fail fault; it runs before the inner call.
func (s *Store) before(ctx context.Context, op Op, name string) (*faults, error) {
	f := s.fire(op, name)
	if f.latency > 0 {
		t := time.NewTimer(f.latency)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return f, fmt.Errorf("%s %s: %w", op, name, ctx.Err())
		case <-t.C:
		}
	}
	s.mu.Lock()
	s.injected[op] += f.delays
	s.mu.Unlock()
	if f.fail != nil {
		s.count(op)
		return f, fmt.Errorf("faulty: %s %s: %w", op, name, f.fail.err())
	}
	return f, nil
}

// after applies an AckLost fault to the inner call's result.
func (s *Store) after(f *faults, err error) error {
	if err != nil || f.ackLost == nil {
		return err
	}
	s.count(f.op)
	return fmt.Errorf("faulty: %s %s (ack lost): %w", f.op, f.name, f.ackLost.err())
}

// Put implements store.Putter.
func (s *Store) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	f, err := s.before(ctx, OpPut, name)
	if err != nil {
		return err
	}
	return s.after(f, s.inner.Put(ctx, name, r, size))
}

// Stat implements store.Stater.
func (s *Store) Stat(ctx context.Context, name string) (store.Info, error) {
	f, err := s.before(ctx, OpStat, name)
	if err != nil {
		return store.Info{}, err
	}
	fi, err := s.inner.Stat(ctx, name)
	if err = s.after(f, err); err != nil {
		return store.Info{}, err
	}
	return fi, nil
}

// List implements store.Lister.
func (s *Store) List(ctx context.Context, prefix string, fn func(store.Info) error) error {
	f, err := s.before(ctx, OpList, prefix)
	if err != nil {
		return err
	}
	return s.after(f, s.inner.List(ctx, prefix, fn))
}

// Delete implements store.Deleter.
func (s *Store) Delete(ctx context.Context, name string) error {
	f, err := s.before(ctx, OpDelete, name)
	if err != nil {
		return err
	}
	return s.after(f, s.inner.Delete(ctx, name))
}

// Get implements store.Getter. With a FlipBit fault the whole range is read
// into memory, changed and served from there.
func (s *Store) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	f, err := s.before(ctx, OpGet, name)
	if err != nil {
		return nil, err
	}
	rc, err := s.inner.Get(ctx, name, offset, length)
	if err == nil && f.ackLost != nil {
		rc.Close()
	}
	if err = s.after(f, err); err != nil {
		return nil, err
	}
	if len(f.flips) == 0 {
		return rc, nil
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	for _, r := range f.flips {
		s.flip(data, r.FlipAt)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// flip flips one bit of data (see Rule.FlipAt) and counts the fault.
func (s *Store) flip(data []byte, at int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bit := byte(1)
	if at < 0 && len(data) > 0 {
		at = s.rng.Int64N(int64(len(data)))
		bit = 1 << s.rng.IntN(8)
	}
	if at < 0 || at >= int64(len(data)) {
		return
	}
	data[at] ^= bit
	s.injected[OpGet]++
}
