package s3

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/seedship/seedship/internal/store/storetest"
)

// The benchmarks compare seedship's store with minio-go's own calls on the
// same bytes, server and run: PutObject and GetObject with default options.
// Run them with the services up:
//
//	go test -run XXX -bench 'S3' -benchtime 5x ./internal/store/s3/

var benchSizes = []int{16 << 20, 64 << 20}

// benchData is the bytes storetest's benchmarks put.
func benchData(size int) []byte {
	b, _ := io.ReadAll(storetest.GenReader(7, int64(size)))
	return b
}

// benchSDK is a minio-go client with default options.
func benchSDK(b *testing.B, s *Store) *minio.Client {
	c, err := minio.New(s.loc.host(), &minio.Options{
		Creds:  credentials.NewStaticV4(s.cfg.AccessKey, s.cfg.SecretKey, ""),
		Secure: !s.loc.Insecure, Region: s.cfg.Region,
	})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkS3Put(b *testing.B) {
	storetest.BenchmarkPut(b, newTestStore(b, testConfig(b)), benchSizes)
}

func BenchmarkS3SDKPut(b *testing.B) {
	s := newTestStore(b, testConfig(b))
	c := benchSDK(b, s)
	for _, size := range benchSizes {
		data := benchData(size)
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			b.SetBytes(int64(size))
			run := newToken()
			for i := 0; b.Loop(); i++ {
				name := s.key(fmt.Sprintf("data/be/sdkput-%s-%d", run, i))
				if _, err := c.PutObject(b.Context(), s.loc.Bucket, name, bytes.NewReader(data), int64(size), minio.PutObjectOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkS3Get(b *testing.B) {
	storetest.BenchmarkGet(b, newTestStore(b, testConfig(b)), benchSizes)
}

func BenchmarkS3SDKGet(b *testing.B) {
	s := newTestStore(b, testConfig(b))
	c := benchSDK(b, s)
	for _, size := range benchSizes {
		name := fmt.Sprintf("data/be/get-%d", size)
		if err := s.Put(b.Context(), name, bytes.NewReader(benchData(size)), int64(size)); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				obj, err := c.GetObject(b.Context(), s.loc.Bucket, s.key(name), minio.GetObjectOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, obj); err != nil || n != int64(size) {
					b.Fatalf("read %d bytes, %v", n, err)
				}
				obj.Close()
			}
		})
	}
}
