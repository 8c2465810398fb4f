package vault

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/seedship/seedship/internal/store"
)

// copyBuffer is the size of the buffer objects are streamed through.
const copyBuffer = 256 << 10

// objectName returns the validated object name of the request's path.
func objectName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if err := store.ValidName(name); err != nil {
		return "", apiErr(http.StatusBadRequest, CodeInvalidName, "%v", err)
	}
	return name, nil
}

// putObject streams the body into the store: create-only, so an existing
// object is never overwritten (409), whoever asks.
func (s *Server) putObject(w http.ResponseWriter, r *http.Request, p *principal) error {
	rp, err := s.repoFor(r, p)
	if err != nil {
		return err
	}
	name, err := objectName(r)
	if err != nil {
		return err
	}
	if r.ContentLength > s.cfg.Limits.MaxObjectSize {
		return apiErr(http.StatusRequestEntityTooLarge, CodeTooLarge, "object larger than %d bytes", s.cfg.Limits.MaxObjectSize)
	}
	body := &countingBody{ReadCloser: r.Body}
	err = s.cfg.Store.Put(r.Context(), rp.prefix+name, fullReader{body}, r.ContentLength)
	if err != nil {
		return bodyError(r, err)
	}
	s.usage.add(rp.vaultID, body.n, 1)
	w.WriteHeader(http.StatusCreated)
	return nil
}

// fullReader fills every read completely unless the stream ends: a TLS
// connection yields at most one 16 KiB record per read, and the stores
// write what each read returns, so this halves their write calls.
type fullReader struct{ r io.Reader }

func (f fullReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := f.r.Read(p[n:])
		n += m
		if err != nil {
			if err == io.EOF && n > 0 {
				err = nil // the next read reports it
			}
			return n, err
		}
	}
	return n, nil
}

// bodyError blames a failed Put on the request body when reading it failed.
func bodyError(r *http.Request, err error) error {
	ir, ok := r.Body.(*idleReader)
	if !ok || ir.err == nil {
		return err
	}
	var mbe *http.MaxBytesError
	if errors.As(ir.err, &mbe) {
		return apiErr(http.StatusRequestEntityTooLarge, CodeTooLarge, "object larger than %d bytes", mbe.Limit)
	}
	return apiErr(http.StatusBadRequest, CodeBadRequest, "reading the request body: %v", ir.err)
}

func (s *Server) statObject(w http.ResponseWriter, r *http.Request, p *principal) error {
	rp, err := s.repoFor(r, p)
	if err != nil {
		return err
	}
	name, err := objectName(r)
	if err != nil {
		return err
	}
	fi, err := s.cfg.Store.Stat(r.Context(), rp.prefix+name)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Length", strconv.FormatInt(fi.Size, 10))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) getObject(w http.ResponseWriter, r *http.Request, p *principal) error {
	rp, err := s.repoFor(r, p)
	if err != nil {
		return err
	}
	name, err := objectName(r)
	if err != nil {
		return err
	}
	key := rp.prefix + name
	rg, err := parseRange(r.Header.Get("Range"))
	if err != nil {
		return err
	}
	if rg.needsSize() {
		if rg, err = s.resolveRange(r, key, rg); err != nil {
			return err
		}
	}
	rc, err := s.cfg.Store.Get(r.Context(), key, rg.off, rg.n)
	if err != nil {
		return s.getError(r, key, rg, err)
	}
	defer rc.Close()
	s.getHeaders(w, rg)
	_, err = io.CopyBuffer(w, rc, make([]byte, copyBuffer))
	return err
}

func (s *Server) getHeaders(w http.ResponseWriter, rg byteRange) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Accept-Ranges", "bytes")
	if !rg.set {
		w.WriteHeader(http.StatusOK)
		return
	}
	h.Set("Content-Length", strconv.FormatInt(rg.n, 10))
	total := "*"
	if rg.size >= 0 {
		total = strconv.FormatInt(rg.size, 10)
	}
	if rg.n > 0 {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%s", rg.off, rg.off+rg.n-1, total))
	}
	w.WriteHeader(http.StatusPartialContent)
}

// resolveRange fixes a suffix or open-ended range against the size.
func (s *Server) resolveRange(r *http.Request, key string, rg byteRange) (byteRange, error) {
	fi, err := s.cfg.Store.Stat(r.Context(), key)
	if err != nil {
		return rg, err
	}
	rg.size = fi.Size
	if rg.suffix {
		rg.off = max(0, fi.Size-rg.n)
		rg.n = fi.Size - rg.off
		return rg, nil
	}
	if rg.off > fi.Size {
		return rg, rangeError(fi.Size)
	}
	rg.n = fi.Size - rg.off
	return rg, nil
}

// getError classifies a failed Get: a range past the end is 416, which
// the stores do not report with a sentinel, so ask Stat.
func (s *Server) getError(r *http.Request, key string, rg byteRange, err error) error {
	if !rg.set || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission) || r.Context().Err() != nil {
		return err
	}
	fi, serr := s.cfg.Store.Stat(r.Context(), key)
	if serr == nil && rg.off+rg.n > fi.Size {
		return rangeError(fi.Size)
	}
	return err
}

func rangeError(size int64) *apiError {
	return apiErr(http.StatusRequestedRangeNotSatisfiable, CodeRange, "range outside the %d-byte object", size)
}

// byteRange is a parsed Range header: one range, "bytes=a-b", "bytes=a-"
// or "bytes=-n".
type byteRange struct {
	set    bool  // a Range header was sent
	suffix bool  // "bytes=-n": the last n bytes
	off, n int64 // n < 0: to the end
	size   int64 // the object's size when known, else -1
}

func (b byteRange) needsSize() bool { return b.set && (b.suffix || b.n < 0) }

func parseRange(h string) (byteRange, error) {
	rg := byteRange{n: -1, size: -1}
	if h == "" {
		return rg, nil
	}
	bad := apiErr(http.StatusRequestedRangeNotSatisfiable, CodeRange, "unsupported Range %q: send one range, bytes=first-last, bytes=first- or bytes=-length", h)
	spec, ok := strings.CutPrefix(h, "bytes=")
	first, last, ok2 := strings.Cut(spec, "-")
	if !ok || !ok2 || strings.ContainsAny(spec, ", ") {
		return rg, bad
	}
	rg.set = true
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n <= 0 {
			return rg, bad
		}
		rg.suffix, rg.n = true, n
		return rg, nil
	}
	off, err := strconv.ParseInt(first, 10, 64)
	if err != nil || off < 0 {
		return rg, bad
	}
	rg.off = off
	if last == "" {
		return rg, nil
	}
	end, err := strconv.ParseInt(last, 10, 64)
	if err != nil || end < off {
		return rg, bad
	}
	rg.n = end - off + 1
	return rg, nil
}

func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request, p *principal) error {
	rp, err := s.repoFor(r, p)
	if err != nil {
		return err
	}
	name, err := objectName(r)
	if err != nil {
		return err
	}
	if err := s.mayDelete(r, rp, name); err != nil {
		return err
	}
	fi, err := s.cfg.Store.Stat(r.Context(), rp.prefix+name)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.Delete(r.Context(), rp.prefix+name); err != nil {
		return err
	}
	s.usage.add(rp.vaultID, -fi.Size, -1)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ListEntry is one line of the list response (newline-delimited JSON).
// Exactly one kind of line: an object (Name, Size), the final line (Done,
// Count), or an error that ended the listing (Error, Code).
type ListEntry struct {
	Name  string `json:"name,omitempty"`
	Size  int64  `json:"size"`
	Done  bool   `json:"done,omitempty"`
	Count int64  `json:"count,omitempty"`
	Error string `json:"error,omitempty"`
	Code  string `json:"code,omitempty"`
}

// validPrefix accepts "" and any prefix of a valid object name.
func validPrefix(p string) error {
	if p == "" {
		return nil
	}
	probe := p
	if strings.HasSuffix(p, "/") {
		probe += "x"
	}
	if err := store.ValidName(probe); err != nil {
		return apiErr(http.StatusBadRequest, CodeInvalidName, "invalid prefix %q", p)
	}
	return nil
}

func (s *Server) listObjects(w http.ResponseWriter, r *http.Request, p *principal) error {
	rp, err := s.repoFor(r, p)
	if err != nil {
		return err
	}
	prefix := r.URL.Query().Get("prefix")
	if err := validPrefix(prefix); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	var count int64
	err = s.cfg.Store.List(r.Context(), rp.prefix+prefix, func(fi store.Info) error {
		name, ok := strings.CutPrefix(fi.Name, rp.prefix)
		if !ok {
			return fmt.Errorf("list %s: store returned %s outside the prefix", rp.prefix+prefix, fi.Name)
		}
		count++
		return enc.Encode(ListEntry{Name: name, Size: fi.Size})
	})
	if err != nil && !started(w) {
		bw.Reset(w)
		return err
	}
	if err != nil {
		getReqLog(r.Context()).err = err
		e := toAPIError(r.Context(), err)
		enc.Encode(ListEntry{Error: e.Msg, Code: e.Code})
	} else {
		enc.Encode(ListEntry{Done: true, Count: count})
	}
	return bw.Flush()
}
