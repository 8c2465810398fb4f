package azure

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/storetest"
)

// isCopy reports whether req is a server-side copy.
func isCopy(req *http.Request) bool {
	return req.Method == http.MethodPut && storetest.Header(req, "x-ms-copy-source") != ""
}

// TestCopier runs the Copier suite on two containers of Azurite. The
// service reports an existing dst only by failing the copy, after check
// read the source.
func TestCopier(t *testing.T) {
	requireAzurite(t)
	storetest.RunCopier(t, storetest.CopierBackend{
		NewPair: func(t *testing.T, fn storetest.FaultFunc) (store.Store, store.Store) {
			cfg := testConfig(t)
			cfg.HTTPClient = &http.Client{Transport: newFaultTransport(fn)}
			return newTestStore(t, cfg), newTestStore(t, testConfig(t))
		},
		IsCopy: isCopy,
		Busy: func(req *http.Request) *http.Response {
			return status(req, http.StatusServiceUnavailable, "ServerBusy")
		},
		Refused:          refusedSources,
		CheckWhenExists:  true,
		ErrSourceChanged: errSourceChanged,
	})
}

// refusedSources returns stores over src's container that a store of the
// test account cannot copy from: another account, and src's account on
// another endpoint.
func refusedSources(t *testing.T, src store.Store) map[string]store.Store {
	loc := src.(*Store).loc
	fields := parseConnString(src.(*Store).cfg.ConnectionString)
	otherAccount, err := New(Config{Location: loc, Account: "otheraccount", Key: "a2V5"})
	if err != nil {
		t.Fatal(err)
	}
	otherHost, err := New(Config{Location: loc, Account: fields["AccountName"], Key: fields["AccountKey"],
		Endpoint: "http://127.0.0.1:1/" + fields["AccountName"]})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]store.Store{"other account": otherAccount, "other endpoint": otherHost}
}

// A source store that authenticates with a SAS token lets the service read
// through that token.
func TestCopyFromSASStore(t *testing.T) {
	keyed := newTestStore(t, testConfig(t))
	ctx := t.Context()
	if err := keyed.Put(ctx, "a", strings.NewReader("through a SAS"), 13); err != nil {
		t.Fatal(err)
	}
	fields := parseConnString(keyed.cfg.ConnectionString)
	cred, err := azblob.NewSharedKeyCredential(fields["AccountName"], fields["AccountKey"])
	if err != nil {
		t.Fatal(err)
	}
	q, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour),
		ContainerName: keyed.loc.Container, Permissions: (&sas.ContainerPermissions{Read: true, List: true}).String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	src, err := New(Config{Location: keyed.loc, Account: fields["AccountName"], SASToken: q.Encode(), Endpoint: fields["BlobEndpoint"]})
	if err != nil {
		t.Fatal(err)
	}
	if err := keyed.Copy(ctx, "b", src, "a", nil); err != nil {
		t.Fatalf("Copy from a SAS store = %v", err)
	}
	if got, err := store.ReadAll(ctx, keyed, "b"); err != nil || string(got) != "through a SAS" {
		t.Errorf("copy = %q, %v", got, err)
	}
}
