package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/store"
)

// Lock timing: a lock is refreshed every LockRefresh; one not refreshed for
// LockStale is stale and may be removed by anyone.
const (
	LockRefresh = 5 * time.Minute
	LockStale   = 30 * time.Minute
)

// ErrLocked means another process holds a conflicting lock.
var ErrLocked = errors.New("repository is locked")

// LockInfo is the content of a lock file.
type LockInfo struct {
	Time      time.Time `json:"time"`
	Exclusive bool      `json:"exclusive"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	User      string    `json:"user,omitempty"`
	ID        oid.ID    `json:"-"`
}

func (l LockInfo) String() string {
	kind := "shared"
	if l.Exclusive {
		kind = "exclusive"
	}
	return fmt.Sprintf("%s lock by PID %d on %s since %s", kind, l.PID, l.Host, l.Time.Format(time.RFC3339))
}

// Lock is a lock held by this process. Backups hold shared locks, prune an
// exclusive one.
type Lock struct {
	r    *Repository
	info LockInfo
	mu   sync.Mutex
	id   oid.ID
	stop chan struct{}
	done chan struct{}
}

// Lock takes a shared or exclusive lock, removing stale locks first.
func (r *Repository) Lock(ctx context.Context, exclusive bool) (*Lock, error) {
	if err := r.checkLocks(ctx, exclusive, oid.ID{}); err != nil {
		return nil, err
	}
	l := &Lock{r: r, info: LockInfo{Exclusive: exclusive, Host: r.opts.Host, PID: os.Getpid(), User: currentUser()}}
	if err := l.write(ctx); err != nil {
		return nil, err
	}
	// Two processes may have checked at the same moment: look again now
	// that ours is visible, and back off if someone else's conflicts.
	if err := r.checkLocks(ctx, exclusive, l.id); err != nil {
		_ = r.st.Delete(context.WithoutCancel(ctx), KindLocks+"/"+l.id.String())
		return nil, err
	}
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go l.refreshLoop()
	return l, nil
}

func (l *Lock) write(ctx context.Context) error {
	l.info.Time = l.r.opts.Now()
	b, err := json.Marshal(l.info)
	if err != nil {
		return err
	}
	id, err := l.r.SaveUnpacked(ctx, KindLocks, b)
	if err != nil {
		return fmt.Errorf("create lock: %w", err)
	}
	l.mu.Lock()
	l.id = id
	l.mu.Unlock()
	return nil
}

func (l *Lock) refreshLoop() {
	defer close(l.done)
	t := time.NewTicker(LockRefresh)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			if err := l.Refresh(context.Background()); err != nil {
				l.r.opts.Logger.Warn("refreshing the repository lock failed", "err", err)
			}
		}
	}
}

// Refresh writes a new lock file with the current time and removes the old.
func (l *Lock) Refresh(ctx context.Context) error {
	l.mu.Lock()
	old := l.id
	l.mu.Unlock()
	if err := l.write(ctx); err != nil {
		return err
	}
	return l.r.st.Delete(ctx, KindLocks+"/"+old.String())
}

// Unlock releases the lock.
func (l *Lock) Unlock(ctx context.Context) error {
	if l.stop != nil {
		close(l.stop)
		<-l.done
		l.stop = nil
	}
	l.mu.Lock()
	id := l.id
	l.mu.Unlock()
	err := l.r.st.Delete(context.WithoutCancel(ctx), KindLocks+"/"+id.String())
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// Locks lists the lock files.
func (r *Repository) Locks(ctx context.Context) ([]LockInfo, error) {
	ids, err := r.List(ctx, KindLocks)
	if err != nil {
		return nil, err
	}
	var out []LockInfo
	for _, id := range ids {
		b, err := r.LoadUnpacked(ctx, KindLocks, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("read lock %s: %w", id.Short(), err)
		}
		var li LockInfo
		if err := json.Unmarshal(b, &li); err != nil {
			return nil, fmt.Errorf("lock %s: %w", id.Short(), err)
		}
		li.ID = id
		out = append(out, li)
	}
	return out, nil
}

// IsStale reports whether a lock's holder is gone: on this host with a dead
// PID, or anywhere without a refresh for LockStale.
func (r *Repository) IsStale(l LockInfo) bool {
	if r.opts.Now().Sub(l.Time) > LockStale {
		return true
	}
	if l.Host == r.opts.Host && l.PID != os.Getpid() {
		return !processAlive(l.PID)
	}
	return false
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// checkLocks removes stale locks and fails when a live one conflicts.
func (r *Repository) checkLocks(ctx context.Context, exclusive bool, own oid.ID) error {
	locks, err := r.Locks(ctx)
	if err != nil {
		return err
	}
	for _, l := range locks {
		if l.ID == own {
			continue
		}
		if r.IsStale(l) {
			r.opts.Logger.Info("removing stale lock", "lock", l.String())
			if err := r.st.Delete(ctx, KindLocks+"/"+l.ID.String()); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("remove stale lock %s: %w", l.ID.Short(), err)
			}
			continue
		}
		if exclusive || l.Exclusive {
			return fmt.Errorf("%w: %s (wait for it to finish; a lock of a dead process is removed automatically after %s)", ErrLocked, l, LockStale)
		}
	}
	return nil
}
