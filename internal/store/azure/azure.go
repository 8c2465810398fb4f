// Package azure stores seedship objects in an Azure Blob Storage container,
// through the official SDK. Objects are streamed: small ones go up in one
// create-only request, large ones as blocks staged in parallel and committed
// with If-None-Match: *; reads are ranged downloads that resume after a
// broken connection. Retries (exponential backoff with jitter) happen here
// only: the SDK's own retry policy is switched off.
package azure

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/transfer"
)

// Environment variables read by ConfigFromEnv.
const (
	EnvConnectionString = "AZURE_STORAGE_CONNECTION_STRING"
	EnvAccount          = "AZURE_STORAGE_ACCOUNT"
	EnvKey              = "AZURE_STORAGE_KEY"
	EnvSASToken         = "AZURE_STORAGE_SAS_TOKEN"
	EnvEndpoint         = "AZURE_STORAGE_ENDPOINT" // optional service URL, e.g. for Azurite
)

// Defaults for the tuning fields of Config.
const (
	DefaultPartSize     = 16 << 20
	DefaultConcurrency  = 4
	DefaultSinglePutMax = 256 << 20
	DefaultMaxAttempts  = 6
	maxBlocks           = 50000 // Azure's limit of blocks in one blob
	maxBlockSize        = 4000 << 20
)

// ErrNoCredentials: the environment names no usable Azure credentials.
var ErrNoCredentials = errors.New("no Azure credentials")

// Config says where the container is, how to authenticate and how to
// transfer. Exactly one way to authenticate is used: ConnectionString, or
// Account with Key, or Account with SASToken.
type Config struct {
	Location Location

	ConnectionString string
	Account          string
	Key              string
	SASToken         string
	Endpoint         string // service URL; default https://ACCOUNT.blob.core.windows.net/

	// Tuning: part size, concurrency, single-request limit and retries;
	// zero fields take the Default* values of this package.
	transfer.Tuning

	// HTTPClient carries the requests; nil means a transport tuned for
	// parallel transfers.
	HTTPClient *http.Client
	// Logger receives retry notices; nil discards them.
	Logger *slog.Logger
}

// ConfigFromEnv parses location and takes the credentials from getenv
// (os.Getenv in production).
func ConfigFromEnv(location string, getenv func(string) string) (Config, error) {
	loc, err := ParseLocation(location)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{
		Location:         loc,
		ConnectionString: getenv(EnvConnectionString),
		Account:          getenv(EnvAccount),
		Key:              getenv(EnvKey),
		SASToken:         strings.TrimPrefix(getenv(EnvSASToken), "?"),
		Endpoint:         getenv(EnvEndpoint),
	}
	if cfg.ConnectionString == "" && (cfg.Account == "" || cfg.Key == "" && cfg.SASToken == "") {
		return Config{}, fmt.Errorf("%s: %w: set %s, or %s with %s or %s",
			loc, ErrNoCredentials, EnvConnectionString, EnvAccount, EnvKey, EnvSASToken)
	}
	return cfg, nil
}

// Store is a store.Store in one container, under an optional prefix. It is
// safe for concurrent use.
type Store struct {
	cfg     Config
	loc     Location
	account string // for messages
	hint    string // what the user should check when authentication fails
	client  *container.Client
	retry   transfer.Retrier
}

var _ store.Store = (*Store)(nil)

// Open connects with credentials from the environment and checks that the
// container exists and the credentials work.
func Open(ctx context.Context, location string) (*Store, error) {
	cfg, err := ConfigFromEnv(location, os.Getenv)
	if err != nil {
		return nil, err
	}
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.Check(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Create is Open that first creates the container when it does not exist.
func Create(ctx context.Context, location string) (*Store, error) {
	cfg, err := ConfigFromEnv(location, os.Getenv)
	if err != nil {
		return nil, err
	}
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.EnsureContainer(ctx); err != nil {
		return nil, err
	}
	if err := s.Check(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// New builds a Store from cfg without talking to the service.
func New(cfg Config) (*Store, error) {
	cfg = withDefaults(cfg)
	if err := checkTuning(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Location, err)
	}
	s := &Store{cfg: cfg, loc: cfg.Location}
	client, err := s.newClient()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Location, err)
	}
	s.client = client.ServiceClient().NewContainerClient(cfg.Location.Container)
	logger := cfg.Logger
	s.retry = transfer.Retrier{
		Attempts: cfg.MaxAttempts, Base: cfg.RetryBase, Max: cfg.RetryMax, Transient: transient,
		OnRetry: func(op string, attempt int, wait time.Duration, err error) {
			if logger != nil {
				logger.Warn("retrying", "store", s.loc.String(), "op", op, "attempt", attempt, "wait", wait, "err", s.describe(err))
			}
		},
	}
	return s, nil
}

// defaultTuning fills the zero fields of Config.Tuning.
var defaultTuning = transfer.Tuning{PartSize: DefaultPartSize, Concurrency: DefaultConcurrency,
	SinglePutMax: DefaultSinglePutMax, MaxAttempts: DefaultMaxAttempts,
	RetryBase: 200 * time.Millisecond, RetryMax: 15 * time.Second}

func withDefaults(cfg Config) Config {
	cfg.Tuning = cfg.Tuning.WithDefaults(defaultTuning)
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: transfer.NewTransport(cfg.Concurrency)}
	}
	return cfg
}

func checkTuning(cfg Config) error {
	switch {
	case cfg.PartSize < 1<<20 || cfg.PartSize > maxBlockSize:
		return fmt.Errorf("part size %d outside [1 MiB, 4000 MiB]", cfg.PartSize)
	case cfg.Concurrency < 1:
		return fmt.Errorf("concurrency %d < 1", cfg.Concurrency)
	case cfg.SinglePutMax > 5000<<20:
		return fmt.Errorf("single put limit %d above 5000 MiB", cfg.SinglePutMax)
	case cfg.MaxAttempts < 1:
		return fmt.Errorf("max attempts %d < 1", cfg.MaxAttempts)
	}
	return nil
}

// newClient authenticates the way cfg says, with the SDK's retries off.
func (s *Store) newClient() (*azblob.Client, error) {
	opts := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Transport: s.cfg.HTTPClient,
		Telemetry: policy.TelemetryOptions{ApplicationID: "seedship"},
	}}
	cfg := s.cfg
	switch {
	case cfg.ConnectionString != "":
		s.account, s.hint = connStringAccount(cfg.ConnectionString), EnvConnectionString
		return azblob.NewClientFromConnectionString(cfg.ConnectionString, opts)
	case cfg.Account != "" && cfg.Key != "":
		s.account, s.hint = cfg.Account, EnvKey
		cred, err := azblob.NewSharedKeyCredential(cfg.Account, cfg.Key)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrNoCredentials, EnvKey, err)
		}
		return azblob.NewClientWithSharedKeyCredential(s.serviceURL(), cred, opts)
	case cfg.Account != "" && cfg.SASToken != "":
		s.account, s.hint = cfg.Account, EnvSASToken+" (expired, or missing a permission?)"
		return azblob.NewClientWithNoCredential(s.serviceURL()+"?"+strings.TrimPrefix(cfg.SASToken, "?"), opts)
	}
	return nil, fmt.Errorf("%w: set %s, or %s with %s or %s", ErrNoCredentials, EnvConnectionString, EnvAccount, EnvKey, EnvSASToken)
}

func (s *Store) serviceURL() string {
	if s.cfg.Endpoint != "" {
		return strings.TrimSuffix(s.cfg.Endpoint, "/") + "/"
	}
	return "https://" + s.cfg.Account + ".blob.core.windows.net/"
}

// connStringAccount finds AccountName in a connection string (for messages).
func connStringAccount(cs string) string {
	for _, part := range strings.Split(cs, ";") {
		if v, ok := strings.CutPrefix(part, "AccountName="); ok {
			return v
		}
	}
	return "(from connection string)"
}

// String returns the location.
func (s *Store) String() string { return s.loc.String() }

// Check verifies that the container exists and the credentials may list it.
func (s *Store) Check(ctx context.Context) error {
	pager := s.client.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: ptr(s.key("")), MaxResults: ptr(int32(1))})
	err := s.retry.Do(ctx, "check", func(int) error {
		_, err := pager.NextPage(ctx)
		return err
	})
	if err != nil {
		return s.translate("open", "", err)
	}
	return nil
}

// EnsureContainer creates the container unless it exists.
func (s *Store) EnsureContainer(ctx context.Context) error {
	err := s.retry.Do(ctx, "create container", func(int) error {
		_, err := s.client.Create(ctx, nil)
		if bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
			return nil
		}
		return err
	})
	if err != nil {
		return s.translate("create container", "", err)
	}
	return nil
}

// DeleteContainer deletes the container and everything in it (for tests
// and tooling; seedship never calls it on a repository).
func (s *Store) DeleteContainer(ctx context.Context) error {
	err := s.retry.Do(ctx, "delete container", func(attempt int) error {
		_, err := s.client.Delete(ctx, nil)
		if attempt > 1 && bloberror.HasCode(err, bloberror.ContainerNotFound, bloberror.ContainerBeingDeleted) {
			return nil
		}
		return err
	})
	if err != nil {
		return s.translate("delete container", "", err)
	}
	return nil
}

// key maps an object name to its blob name.
func (s *Store) key(name string) string {
	if s.loc.Prefix == "" {
		return name
	}
	return s.loc.Prefix + "/" + name
}

// newToken returns a random upload token: it names the blocks of one upload
// and marks the blob so that a retried create can recognise its own work.
func newToken() string { return rand.Text() }

func ptr[T any](v T) *T { return &v }

// empty returns the body of an empty range.
func empty() io.ReadCloser { return io.NopCloser(strings.NewReader("")) }
