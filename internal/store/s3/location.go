package s3

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/seedship/seedship/internal/store"
)

// Scheme is the location prefix of S3 repositories.
const Scheme = "s3:"

// awsEndpoint serves s3:BUCKET[/PREFIX] locations.
const awsEndpoint = "s3.amazonaws.com"

// ErrLocation reports a malformed s3: location.
var ErrLocation = errors.New("invalid s3 location")

// Location is a parsed repository location:
// s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX], or s3:BUCKET[/PREFIX] on AWS.
type Location struct {
	Endpoint string // HOST[:PORT]; "" means AWS
	Insecure bool   // plain http (only with an explicit endpoint)
	Bucket   string
	Prefix   string // "" or slash-separated segments without leading/trailing slash
}

// ParseLocation parses an s3: location.
func ParseLocation(s string) (Location, error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return Location{}, fmt.Errorf("%w %q: want s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX] or s3:BUCKET[/PREFIX]", ErrLocation, s)
	}
	var l Location
	switch {
	case strings.HasPrefix(rest, "https://"):
		rest = rest[len("https://"):]
		l.Endpoint, rest, _ = strings.Cut(rest, "/")
	case strings.HasPrefix(rest, "http://"):
		rest = rest[len("http://"):]
		l.Endpoint, rest, _ = strings.Cut(rest, "/")
		l.Insecure = true
	case strings.Contains(rest, "://"):
		return Location{}, fmt.Errorf("%w %q: only http:// and https:// endpoints", ErrLocation, s)
	}
	l.Bucket, l.Prefix, _ = strings.Cut(rest, "/")
	l.Prefix = strings.TrimSuffix(l.Prefix, "/")
	if err := l.validate(); err != nil {
		return Location{}, fmt.Errorf("%w %q: %v", ErrLocation, s, err)
	}
	return l, nil
}

func (l Location) validate() error {
	if l.Endpoint == "" && l.Insecure {
		return errors.New("plain http needs an endpoint")
	}
	if l.Endpoint != "" {
		if err := validEndpoint(l.Endpoint); err != nil {
			return err
		}
	}
	if err := validBucket(l.Bucket); err != nil {
		return err
	}
	if l.Prefix != "" {
		if err := store.ValidName(l.Prefix); err != nil {
			return fmt.Errorf("prefix: %v", err)
		}
	}
	return nil
}

// String returns the location in the form ParseLocation accepts.
func (l Location) String() string {
	s := Scheme
	switch {
	case l.Endpoint != "" && l.Insecure:
		s += "http://" + l.Endpoint + "/"
	case l.Endpoint != "":
		s += "https://" + l.Endpoint + "/"
	}
	s += l.Bucket
	if l.Prefix != "" {
		s += "/" + l.Prefix
	}
	return s
}

// host is the endpoint to connect to.
func (l Location) host() string {
	if l.Endpoint == "" {
		return awsEndpoint
	}
	return l.Endpoint
}

func validEndpoint(e string) error {
	host, port := e, ""
	if h, p, err := net.SplitHostPort(e); err == nil {
		host, port = h, p
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("endpoint %q: bad port", e)
		}
	}
	if host == "" || strings.ContainsAny(host, "/?#@ \\") {
		return fmt.Errorf("endpoint %q: bad host", e)
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("endpoint %q: bad host", e)
		}
	}
	return nil
}

// validBucket applies S3's bucket naming rules: 3 to 63 lowercase letters,
// digits, dots and hyphens, starting and ending with a letter or digit.
func validBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q must be 3 to 63 characters long", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || i == len(b)-1 || c != '.' && c != '-') {
			return fmt.Errorf("bucket name %q: only lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit", b)
		}
		if c == '.' && b[i-1] == '.' {
			return fmt.Errorf("bucket name %q: two dots in a row", b)
		}
	}
	return nil
}
