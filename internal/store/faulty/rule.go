package faulty

import (
	"errors"
	"time"
)

// ErrInjected is the error a fault returns when its rule names none. It is
// transient: it wraps none of the store's permanent errors.
var ErrInjected = errors.New("injected fault")

// Op names a store operation.
type Op int

// The operations a rule can target.
const (
	OpPut Op = iota
	OpGet
	OpStat
	OpList
	OpDelete
	numOps
)

// String returns the operation's name in lower case.
func (o Op) String() string {
	switch o {
	case OpPut:
		return "put"
	case OpGet:
		return "get"
	case OpStat:
		return "stat"
	case OpList:
		return "list"
	case OpDelete:
		return "delete"
	}
	return "op?"
}

// Effect is what a rule does when it fires.
type Effect int

// The effects. Every effect also waits the rule's Latency first.
const (
	// Fail returns the rule's error without calling the inner store: a Put
	// writes nothing.
	Fail Effect = iota
	// AckLost calls the inner store and, if that succeeded, returns the
	// rule's error anyway: the object was written (or deleted) but the
	// caller was told otherwise.
	AckLost
	// FlipBit flips one bit of the data a Get returns. Other operations
	// ignore it.
	FlipBit
	// Delay only waits the rule's Latency; the call then proceeds.
	Delay
)

// Rule describes one fault. A call matches a rule when it is for Op and its
// object name (for List: the listing prefix) starts with Prefix. Among
// matching calls, counted from 1, the rule fires on call Nth when Nth > 0,
// else on every call after the first After; and then, when Prob > 0, only
// with probability Prob.
type Rule struct {
	Op     Op
	Prefix string
	Nth    int
	After  int
	Prob   float64
	Effect Effect
	// Err is returned by Fail and AckLost; ErrInjected when nil.
	Err error
	// Latency is waited before the call whenever the rule fires.
	Latency time.Duration
	// FlipAt is the offset, within the returned data, of the byte whose
	// lowest bit FlipBit flips; when negative, a random bit of a random
	// byte is flipped. Nothing is flipped when the data is shorter.
	FlipAt int64
}

// rule is a Rule and the number of calls that matched it.
type rule struct {
	Rule
	seen int
}

// match reports whether the call matches, counting it if so.
func (r *rule) match(op Op, name string) bool {
	if r.Op != op || len(name) < len(r.Prefix) || name[:len(r.Prefix)] != r.Prefix {
		return false
	}
	r.seen++
	switch {
	case r.Nth > 0:
		return r.seen == r.Nth
	default:
		return r.seen > r.After
	}
}

func (r *Rule) err() error {
	if r.Err != nil {
		return r.Err
	}
	return ErrInjected
}
