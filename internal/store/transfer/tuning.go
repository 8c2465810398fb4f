package transfer

import (
	"context"
	"fmt"
	"time"
)

// Tuning is how a cloud store moves bytes; azure.Config and s3.Config embed
// it, each with its own defaults.
type Tuning struct {
	// PartSize is the size of the parts (S3) or blocks (Azure) a body that
	// is not sent in one request is cut into.
	PartSize int64
	// Concurrency is how many parts are in memory and in flight per Put.
	Concurrency int
	// SinglePutMax: seekable bodies up to this size go up in one request;
	// negative: none.
	SinglePutMax int64
	// MaxAttempts is how many times a request is tried, the first included.
	MaxAttempts int
	// RetryBase and RetryMax bound the backoff between attempts.
	RetryBase time.Duration
	RetryMax  time.Duration
}

// WithDefaults returns t with its zero fields taken from def.
func (t Tuning) WithDefaults(def Tuning) Tuning {
	if t.PartSize == 0 {
		t.PartSize = def.PartSize
	}
	if t.Concurrency == 0 {
		t.Concurrency = def.Concurrency
	}
	if t.SinglePutMax == 0 {
		t.SinglePutMax = def.SinglePutMax
	}
	if t.MaxAttempts == 0 {
		t.MaxAttempts = def.MaxAttempts
	}
	if t.RetryBase == 0 {
		t.RetryBase = def.RetryBase
	}
	if t.RetryMax == 0 {
		t.RetryMax = def.RetryMax
	}
	return t
}

// CheckPut refuses the arguments of a Put that no store can take: a size
// below -1 (unknown), or a context already done. loc names the store in the
// error. Name validation stays with the caller (store.ValidName).
func CheckPut(ctx context.Context, loc fmt.Stringer, name string, size int64) error {
	if size < -1 {
		return fmt.Errorf("%s: put %s: negative size %d", loc, name, size)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: put %s: %w", loc, name, err)
	}
	return nil
}

// CheckGet refuses a negative offset. loc names the store in the error.
func CheckGet(loc fmt.Stringer, name string, offset int64) error {
	if offset < 0 {
		return fmt.Errorf("%s: get %s: negative offset %d", loc, name, offset)
	}
	return nil
}
