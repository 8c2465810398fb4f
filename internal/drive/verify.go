package drive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// maxMACFile bounds the MAC file read.
const maxMACFile = 1024

// ReadManifest reads a drive's manifest and MAC without following links,
// checks the MAC with the job key and only then parses the manifest. It
// returns the manifest and its bytes (for ManifestHash). Oversized files
// are refused before they are read.
func ReadManifest(root string, jobKey []byte) (*Manifest, []byte, error) {
	raw, err := readLimited(root, ManifestName, MaxManifestSize)
	if err != nil {
		return nil, nil, err
	}
	mac, err := readLimited(root, MACName, maxMACFile)
	if err != nil {
		return nil, nil, err
	}
	if err := VerifyMAC(raw, mac, jobKey); err != nil {
		return nil, nil, fmt.Errorf("drive %s: %w", root, err)
	}
	m, err := ParseManifest(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("drive %s: %w", root, err)
	}
	return m, raw, nil
}

func readLimited(root, name string, limit int64) ([]byte, error) {
	f, err := openNoFollow(root, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than the limit of %d", ErrManifest, f.Name(), fi.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: %s grew past the limit of %d bytes", ErrManifest, f.Name(), limit)
	}
	return b, nil
}

// Verify checks a whole drive: ReadManifest, then every listed file read
// through OpenNoFollow and compared with its size and SHA-256. fn, when not
// nil, is called after each good file. The first mismatch is returned,
// wrapping ErrVerify.
func Verify(ctx context.Context, root string, jobKey []byte, fn func(File)) (*Manifest, error) {
	m, _, err := verifyDrive(ctx, root, jobKey, make([]byte, 1<<20), fn, dropCache)
	return m, err
}

// verifyDrive is Verify with the buffer and the cache dropper supplied.
func verifyDrive(ctx context.Context, root string, jobKey, buf []byte, fn func(File), drop func(*os.File)) (*Manifest, []byte, error) {
	m, raw, err := ReadManifest(root, jobKey)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range m.Files {
		if err := verifyFile(ctx, root, f, buf, drop); err != nil {
			return m, raw, err
		}
		if fn != nil {
			fn(f)
		}
	}
	return m, raw, nil
}

func verifyFile(ctx context.Context, root string, f File, buf []byte, drop func(*os.File)) error {
	r, err := OpenNoFollow(root, f.Path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrVerify, err)
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, ctxReader{ctx, r}, buf)
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("%w: read %s: %v", ErrVerify, f.Path, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != f.Size || sum != f.SHA256 {
		return fmt.Errorf("%w: %s: %d bytes with SHA-256 %s, manifest says %d bytes with %s",
			ErrVerify, f.Path, n, sum, f.Size, f.SHA256)
	}
	drop(r)
	return nil
}
