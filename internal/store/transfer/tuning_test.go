package transfer

import (
	"context"
	"strings"
	"testing"
	"time"
)

type loc string

func (l loc) String() string { return string(l) }

func TestTuningWithDefaults(t *testing.T) {
	def := Tuning{PartSize: 16, Concurrency: 4, SinglePutMax: 64, MaxAttempts: 6, RetryBase: time.Second, RetryMax: time.Minute}
	if got := (Tuning{}).WithDefaults(def); got != def {
		t.Errorf("zero tuning = %+v, want the defaults %+v", got, def)
	}
	set := Tuning{PartSize: 1, Concurrency: 2, SinglePutMax: -1, MaxAttempts: 3, RetryBase: time.Millisecond, RetryMax: time.Millisecond}
	if got := set.WithDefaults(def); got != set {
		t.Errorf("set tuning = %+v, want it kept %+v", got, set)
	}
}

func TestCheckPutGet(t *testing.T) {
	ctx := context.Background()
	if err := CheckPut(ctx, loc("s3:x"), "a", -1); err != nil {
		t.Errorf("unknown size refused: %v", err)
	}
	if err := CheckPut(ctx, loc("s3:x"), "a", -2); err == nil || !strings.Contains(err.Error(), "s3:x: put a: negative size -2") {
		t.Errorf("size -2: %v", err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := CheckPut(done, loc("s3:x"), "a", 0); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("done context: %v", err)
	}
	if err := CheckGet(loc("azure:c"), "b", -1); err == nil || !strings.Contains(err.Error(), "azure:c: get b: negative offset -1") {
		t.Errorf("offset -1: %v", err)
	}
	if err := CheckGet(loc("azure:c"), "b", 0); err != nil {
		t.Errorf("offset 0: %v", err)
	}
}
