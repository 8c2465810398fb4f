// Package repo is a seedship repository: the master key, the config, packs of
// compressed and encrypted blobs, the index that finds them, trees and
// snapshots, and the locks that keep prune from deleting what a running
// backup needs. Everything is written through a store.Store. The format is
// specified in docs/format.md.
package repo

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"runtime/debug"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/store"
)

// FormatVersion is the repository format version written into the config.
const FormatVersion = 1

// DefaultPackSize is the size at which a pack is finished and uploaded.
const DefaultPackSize = 16 << 20

// Errors returned by Open and Init.
var (
	ErrNotRepository = errors.New("not a seedship repository")
	ErrAlreadyExists = errors.New("a repository already exists here")
	ErrWrongPassword = crypto.ErrWrongPassword
	ErrNoKey         = errors.New("key not found")
	ErrLastKey       = errors.New("cannot remove the last key")
	ErrUnsupported   = errors.New("unsupported repository version")
)

// Config is the repository's configuration object, stored sealed as "config".
type Config struct {
	Version     int    `json:"version"`
	ID          oid.ID `json:"id"`
	ChunkerSeed uint64 `json:"chunker_seed"`
}

// Options tune a Repository. The zero value works.
type Options struct {
	KDF      crypto.KDFParams // for new key files; zero means crypto.DefaultKDF()
	PackSize int              // zero means DefaultPackSize
	Logger   *slog.Logger
	Now      func() time.Time
	Host     string // for key files and locks; empty means os.Hostname
}

func (o *Options) fill() {
	if o.KDF.Algorithm == "" {
		o.KDF = crypto.DefaultKDF()
	}
	if o.PackSize <= 0 {
		o.PackSize = DefaultPackSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Host == "" {
		o.Host, _ = os.Hostname()
	}
}

// Repository is an open repository. It is safe for concurrent use, except
// DropPacks, which must not run while blobs or index files are being saved.
type Repository struct {
	st    store.Store
	key   *crypto.Key
	keyID oid.ID
	cfg   Config
	opts  Options

	idx     *index.Index
	idxMu   sync.Mutex
	idxIDs  []oid.ID          // index files loaded or written
	pending []index.PackEntry // packs uploaded since the last index file
	enc     *zstd.Encoder
	dec     *zstd.Decoder
	packs   *packer
}

// Init creates a new repository in st, protected by password.
func Init(ctx context.Context, st store.Store, password []byte, o Options) (*Repository, error) {
	o.fill()
	if _, err := st.Stat(ctx, "config"); err == nil {
		return nil, ErrAlreadyExists
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("look for an existing config: %w", err)
	}
	key, err := crypto.NewRandomKey()
	if err != nil {
		return nil, err
	}
	var seed [8]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	cfg := Config{Version: FormatVersion, ChunkerSeed: binary.LittleEndian.Uint64(seed[:])}
	if _, err := rand.Read(cfg.ID[:]); err != nil {
		return nil, err
	}
	r, err := newRepository(st, key, cfg, o)
	if err != nil {
		return nil, err
	}
	// The key file goes first: a config without a key that opens it would
	// be a repository nobody can open; a key without a config is harmless.
	if r.keyID, err = r.AddKey(ctx, password); err != nil {
		return nil, err
	}
	plain, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	sealed := key.Seal(nil, plain, nil)
	if err := putBytes(ctx, st, "config", sealed); err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	return r, nil
}

// Open opens the repository in st with password.
func Open(ctx context.Context, st store.Store, password []byte, o Options) (*Repository, error) {
	o.fill()
	sealedCfg, err := store.ReadAll(ctx, st, "config")
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: no config object found (run \"seedship init\" to create one)", ErrNotRepository)
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	key, keyID, err := unlock(ctx, st, password)
	if err != nil {
		return nil, err
	}
	// The KDF's memory (64 MiB) is garbage now: give it back before the
	// caller's work starts, so it does not add to the peak.
	debug.FreeOSMemory()
	plain, err := key.Open(nil, sealedCfg, nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt config: %w", err)
	}
	var cfg Config
	if err := json.Unmarshal(plain, &cfg); err != nil {
		return nil, fmt.Errorf("%w: config: %v", ErrNotRepository, err)
	}
	if cfg.Version != FormatVersion {
		return nil, fmt.Errorf("%w: version %d (this seedship reads version %d): upgrade seedship", ErrUnsupported, cfg.Version, FormatVersion)
	}
	r, err := newRepository(st, key, cfg, o)
	if err != nil {
		return nil, err
	}
	r.keyID = keyID
	return r, nil
}

func newRepository(st store.Store, key *crypto.Key, cfg Config, o Options) (*Repository, error) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderCRC(false),
		zstd.WithLowerEncoderMem(true),
		zstd.WithWindowSize(4<<20))
	if err != nil {
		return nil, err
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxRawLength), zstd.WithDecoderLowmem(true))
	if err != nil {
		return nil, err
	}
	r := &Repository{st: st, key: key, cfg: cfg, opts: o, idx: index.New(), enc: enc, dec: dec}
	r.packs = newPacker(r)
	return r, nil
}

// Store returns the object store the repository lives in.
func (r *Repository) Store() store.Store { return r.st }

// Key returns the master key.
func (r *Repository) Key() *crypto.Key { return r.key }

// KeyID returns the ID of the key file that opened the repository.
func (r *Repository) KeyID() oid.ID { return r.keyID }

// Config returns the repository's configuration.
func (r *Repository) Config() Config { return r.cfg }

// ChunkerSeed returns the seed of the repository's chunker.
func (r *Repository) ChunkerSeed() uint64 { return r.cfg.ChunkerSeed }

// Index returns the in-memory index (filled by LoadIndex and by saving).
func (r *Repository) Index() *index.Index { return r.idx }

// Logger returns the repository's logger.
func (r *Repository) Logger() *slog.Logger { return r.opts.Logger }

// Now returns the current time from the repository's clock.
func (r *Repository) Now() time.Time { return r.opts.Now() }

// Host returns the host name used in locks and key files.
func (r *Repository) Host() string { return r.opts.Host }

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}
