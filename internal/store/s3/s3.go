// Package s3 stores seedship objects in a bucket of an S3-compatible object
// store (AWS S3, versitygw, SeaweedFS, MinIO...) through minio-go. Objects
// are streamed: small ones go up in one create-only request (If-None-Match:
// *), large ones as a multipart upload whose completion carries the same
// condition; reads are ranged GETs that resume after a broken connection.
// Retries (exponential backoff with jitter) happen here only: minio-go's own
// retries are switched off.
package s3

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/transfer"
)

// Environment variables read by ConfigFromEnv.
const (
	EnvAccessKey       = "AWS_ACCESS_KEY_ID"
	EnvSecretKey       = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken    = "AWS_SESSION_TOKEN"
	EnvRegion          = "AWS_REGION"
	EnvDefaultRegion   = "AWS_DEFAULT_REGION"
	EnvProfile         = "AWS_PROFILE"
	EnvCredentialsFile = "AWS_SHARED_CREDENTIALS_FILE"
)

// Defaults for the tuning fields of Config.
const (
	DefaultPartSize     = 16 << 20
	DefaultConcurrency  = 4
	DefaultSinglePutMax = 64 << 20
	DefaultMaxAttempts  = 6
	maxParts            = 10000 // S3's limit of parts in one upload
	minPartSize         = 5 << 20
	maxPartSize         = 5 << 30
)

// ErrNoCredentials: the environment names no usable S3 credentials.
var ErrNoCredentials = errors.New("no S3 credentials")

// Config says where the bucket is, how to authenticate and how to transfer.
// Credentials are AccessKey with SecretKey (and SessionToken), or else
// Profile from the shared credentials file.
type Config struct {
	Location Location

	AccessKey       string
	SecretKey       string
	SessionToken    string
	Region          string // default us-east-1 on a custom endpoint; looked up on AWS
	Profile         string // profile in CredentialsFile, used when AccessKey is empty
	CredentialsFile string // default ~/.aws/credentials

	// Tuning: part size, concurrency, single-request limit and retries;
	// zero fields take the Default* values of this package.
	transfer.Tuning

	// Transport carries the requests; nil means one tuned for parallel
	// transfers.
	Transport http.RoundTripper
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
		Location:        loc,
		AccessKey:       getenv(EnvAccessKey),
		SecretKey:       getenv(EnvSecretKey),
		SessionToken:    getenv(EnvSessionToken),
		Region:          getenv(EnvRegion),
		Profile:         getenv(EnvProfile),
		CredentialsFile: getenv(EnvCredentialsFile),
	}
	if cfg.Region == "" {
		cfg.Region = getenv(EnvDefaultRegion)
	}
	if (cfg.AccessKey == "") != (cfg.SecretKey == "") {
		return Config{}, fmt.Errorf("%s: %w: set both %s and %s", loc, ErrNoCredentials, EnvAccessKey, EnvSecretKey)
	}
	return cfg, nil
}

// Store is a store.Store in one bucket, under an optional prefix. It is
// safe for concurrent use.
type Store struct {
	cfg    Config
	loc    Location
	hint   string // what the user should check when authentication fails
	client *minio.Core
	retry  transfer.Retrier
}

var _ store.Store = (*Store)(nil)

// Open connects with credentials from the environment and checks that the
// bucket exists and the credentials work.
func Open(ctx context.Context, location string) (*Store, error) {
	s, err := fromEnv(location)
	if err != nil {
		return nil, err
	}
	if err := s.Check(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Create is Open that first creates the bucket when it does not exist.
func Create(ctx context.Context, location string) (*Store, error) {
	s, err := fromEnv(location)
	if err != nil {
		return nil, err
	}
	if err := s.EnsureBucket(ctx); err != nil {
		return nil, err
	}
	if err := s.Check(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func fromEnv(location string) (*Store, error) {
	cfg, err := ConfigFromEnv(location, os.Getenv)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// New builds a Store from cfg without talking to the service.
func New(cfg Config) (*Store, error) {
	if err := cfg.Location.validate(); err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrLocation, cfg.Location, err)
	}
	cfg = withDefaults(cfg)
	if err := checkTuning(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Location, err)
	}
	s := &Store{cfg: cfg, loc: cfg.Location}
	creds, err := s.credentials()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Location, err)
	}
	lookup := minio.BucketLookupPath
	if cfg.Location.Endpoint == "" {
		lookup = minio.BucketLookupAuto
	}
	client, err := minio.NewCore(cfg.Location.host(), &minio.Options{
		Creds: creds, Secure: !cfg.Location.Insecure, Region: cfg.Region, Transport: cfg.Transport,
		BucketLookup: lookup, MaxRetries: 1, // 1: no retries; ours are in s.retry
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Location, err)
	}
	s.client = client
	logger := cfg.Logger
	s.retry = transfer.Retrier{
		Attempts: cfg.MaxAttempts, Base: cfg.RetryBase, Max: cfg.RetryMax, Transient: transient,
		OnRetry: func(op string, attempt int, wait time.Duration, err error) {
			if logger != nil {
				logger.Warn("retrying", "store", s.loc.String(), "op", op, "attempt", attempt, "wait", wait, "err", describe(err))
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
	if cfg.Region == "" && cfg.Location.Endpoint != "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Transport == nil {
		cfg.Transport = transfer.NewTransport(cfg.Concurrency)
	}
	return cfg
}

func checkTuning(cfg Config) error {
	switch {
	case cfg.PartSize < minPartSize || cfg.PartSize > maxPartSize:
		return fmt.Errorf("part size %d outside [5 MiB, 5 GiB]", cfg.PartSize)
	case cfg.Concurrency < 1:
		return fmt.Errorf("concurrency %d < 1", cfg.Concurrency)
	case cfg.SinglePutMax > maxPartSize:
		return fmt.Errorf("single put limit %d above 5 GiB", cfg.SinglePutMax)
	case cfg.MaxAttempts < 1:
		return fmt.Errorf("max attempts %d < 1", cfg.MaxAttempts)
	}
	return nil
}

// credentials picks static keys, or else a profile of the shared file.
func (s *Store) credentials() (*credentials.Credentials, error) {
	cfg := s.cfg
	if cfg.AccessKey != "" {
		s.hint = EnvAccessKey + " and " + EnvSecretKey
		return credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken), nil
	}
	file, profile := cfg.CredentialsFile, cfg.Profile
	if file == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("%w: set %s and %s, or %s", ErrNoCredentials, EnvAccessKey, EnvSecretKey, EnvProfile)
		}
		file = filepath.Join(home, ".aws", "credentials")
	}
	if profile == "" {
		profile = "default"
	}
	s.hint = fmt.Sprintf("profile %q in %s (%s)", profile, file, EnvProfile)
	creds := credentials.NewFileAWSCredentials(file, profile)
	if _, err := creds.Get(); err != nil {
		return nil, fmt.Errorf("%w: no %s/%s, and profile %q of %s: %v",
			ErrNoCredentials, EnvAccessKey, EnvSecretKey, profile, file, err)
	}
	return creds, nil
}

// String returns the location.
func (s *Store) String() string { return s.loc.String() }

// Check verifies that the bucket exists and the credentials may list it.
func (s *Store) Check(ctx context.Context) error {
	err := s.retry.Do(ctx, "check", func(int) error {
		for obj := range s.client.Client.ListObjectsIter(ctx, s.loc.Bucket, minio.ListObjectsOptions{Prefix: s.key(""), MaxKeys: 1}) {
			return obj.Err
		}
		return ctx.Err()
	})
	if err != nil {
		return s.translate("open", "", err)
	}
	return nil
}

// EnsureBucket creates the bucket unless it exists.
func (s *Store) EnsureBucket(ctx context.Context) error {
	var exists bool
	err := s.retry.Do(ctx, "look up bucket", func(int) error {
		var err error
		exists, err = s.client.BucketExists(ctx, s.loc.Bucket)
		return err
	})
	if err != nil || exists {
		return s.translateNil("look up bucket", err)
	}
	err = s.retry.Do(ctx, "create bucket", func(int) error {
		err := s.client.MakeBucket(ctx, s.loc.Bucket, minio.MakeBucketOptions{Region: s.cfg.Region})
		if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" {
			return nil
		}
		return err
	})
	return s.translateNil("create bucket", err)
}

// translateNil is translate for an operation on no object, keeping nil.
func (s *Store) translateNil(op string, err error) error {
	if err == nil {
		return nil
	}
	return s.translate(op, "", err)
}

// DeleteBucket deletes every object and unfinished upload in the bucket,
// then the bucket (for tests and tooling; seedship never calls it on a
// repository).
func (s *Store) DeleteBucket(ctx context.Context) error {
	for obj := range s.client.Client.ListObjectsIter(ctx, s.loc.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return s.translate("delete bucket", "", obj.Err)
		}
		if err := s.client.RemoveObject(ctx, s.loc.Bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
			return s.translate("delete bucket", obj.Key, err)
		}
	}
	for up := range s.client.ListIncompleteUploads(ctx, s.loc.Bucket, "", true) {
		if up.Err == nil {
			s.client.AbortMultipartUpload(ctx, s.loc.Bucket, up.Key, up.UploadID)
		}
	}
	if err := s.client.RemoveBucket(ctx, s.loc.Bucket); err != nil {
		return s.translate("delete bucket", "", err)
	}
	return nil
}

// key maps an object name to its S3 key.
func (s *Store) key(name string) string {
	if s.loc.Prefix == "" {
		return name
	}
	return s.loc.Prefix + "/" + name
}

// newToken returns a random upload token: it marks the object so that a
// retried create can recognise its own work.
func newToken() string { return rand.Text() }

// empty returns the body of an empty range.
func empty() io.ReadCloser { return io.NopCloser(strings.NewReader("")) }
