package azure

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/seedship/seedship/internal/store/storetest"
)

// The benchmarks compare seedship's store with the SDK's own calls on the
// same bytes, server and run: UploadBuffer for puts, DownloadStream for
// gets. Run them with the services up:
//
//	go test -run XXX -bench 'Azure' -benchtime 5x ./internal/store/azure/

var benchSizes = []int{16 << 20, 64 << 20}

// benchData is the bytes storetest's benchmarks put.
func benchData(size int) []byte {
	b, _ := io.ReadAll(storetest.GenReader(7, int64(size)))
	return b
}

// benchSDK is an SDK client with default options on the store's container.
func benchSDK(b *testing.B, s *Store) *azblob.Client {
	c, err := azblob.NewClientFromConnectionString(s.cfg.ConnectionString, nil)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkAzurePut(b *testing.B) {
	storetest.BenchmarkPut(b, newTestStore(b, testConfig(b)), benchSizes)
}

func BenchmarkAzureSDKPut(b *testing.B) {
	s := newTestStore(b, testConfig(b))
	c := benchSDK(b, s)
	for _, size := range benchSizes {
		data := benchData(size)
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			b.SetBytes(int64(size))
			run := newToken()
			for i := 0; b.Loop(); i++ {
				name := s.key(fmt.Sprintf("data/be/sdkput-%s-%d", run, i))
				if _, err := c.UploadBuffer(b.Context(), s.loc.Container, name, data, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAzureGet(b *testing.B) {
	storetest.BenchmarkGet(b, newTestStore(b, testConfig(b)), benchSizes)
}

func BenchmarkAzureSDKGet(b *testing.B) {
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
				resp, err := c.DownloadStream(b.Context(), s.loc.Container, s.key(name), nil)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != int64(size) {
					b.Fatalf("read %d bytes, %v", n, err)
				}
				resp.Body.Close()
			}
		})
	}
}
