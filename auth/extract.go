package auth

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	apierrors "github.com/tollgate/tollgate/errors"
)

// DefaultMaxKeyLength bounds the length of an accepted API key unless
// MaxKeyLength says otherwise. It is well above the longest keys the big
// providers issue and well below anything that could hurt.
const DefaultMaxKeyLength = 256

// Source is one place a request may carry its API key: a header, a header
// with an authentication scheme (Authorization: Bearer), or a query
// parameter. Build one with Bearer, Scheme, Header or Query; the zero value
// is not a usable source. A Source is a small immutable value.
type Source struct {
	kind   sourceKind
	name   string
	scheme string
}

type sourceKind uint8

const (
	sourceHeader sourceKind = iota + 1
	sourceScheme
	sourceQuery
)

// Bearer is the Authorization header with the Bearer scheme, in any case
// ("bearer", "BEARER"), as OpenAI-style clients send it.
func Bearer() Source { return Scheme("Authorization", "Bearer") }

// Scheme is a header whose value is "<scheme> <key>", such as
// Authorization: Token <key>. A value with another scheme (Basic, Digest)
// is not taken for a key, so such headers can coexist with API keys; a
// value with no scheme at all is refused as a malformed key, since it is
// almost always a key pasted without "Bearer ".
func Scheme(header, scheme string) Source {
	return Source{kind: sourceScheme, name: http.CanonicalHeaderKey(header), scheme: scheme}
}

// Header is a header that carries the bare key, such as x-api-key
// (Anthropic) or x-goog-api-key (Google).
func Header(name string) Source {
	return Source{kind: sourceHeader, name: http.CanonicalHeaderKey(name)}
}

// Query is a URL query parameter that carries the key (Google's ?key=).
// Use it only when clients cannot send headers: URLs, and the key with
// them, end up in access logs, proxy logs, browser history and Referer
// headers, where headers do not.
func Query(name string) Source { return Source{kind: sourceQuery, name: name} }

// DefaultSources returns the sources an Authenticator reads unless Sources
// says otherwise: Authorization: Bearer, x-api-key and x-goog-api-key, the
// headers the OpenAI, Anthropic and Google SDKs send. The query parameter
// is deliberately absent.
func DefaultSources() []Source {
	return []Source{Bearer(), Header("X-Api-Key"), Header("X-Goog-Api-Key")}
}

// String describes the source for people: "Authorization: Bearer <key>",
// "the X-Api-Key header", "the key query parameter".
func (s Source) String() string {
	switch s.kind {
	case sourceScheme:
		return s.name + ": " + s.scheme + " <key>"
	case sourceHeader:
		return "the " + s.name + " header"
	case sourceQuery:
		return "the " + s.name + " query parameter"
	}
	return "an invalid source"
}

// where tells a client how to send a key through s.
func (s Source) where() string {
	if s.kind == sourceScheme {
		return "as '" + s.name + ": " + s.scheme + " <key>'"
	}
	return "in " + s.String()
}

func (s Source) validate() error {
	switch s.kind {
	case sourceScheme:
		if !validToken(s.name) || !validToken(s.scheme) {
			return fmt.Errorf("auth: invalid scheme source %q %q", s.name, s.scheme)
		}
	case sourceHeader:
		if !validToken(s.name) {
			return fmt.Errorf("auth: invalid header name %q", s.name)
		}
	case sourceQuery:
		if s.name == "" {
			return fmt.Errorf("auth: empty query parameter name")
		}
	default:
		return fmt.Errorf("auth: zero Source; build one with Bearer, Scheme, Header or Query")
	}
	return nil
}

// extractor finds the key in a request. Every rejection it can produce is
// built once, at construction, so the extraction path never allocates.
type extractor struct {
	sources  []compiledSource
	maxLen   int
	missing  *apierrors.Error
	conflict *apierrors.Error
}

type compiledSource struct {
	Source
	empty, malformed, tooLong, noScheme *apierrors.Error
}

func newExtractor(sources []Source, maxLen int) (*extractor, error) {
	if len(sources) == 0 {
		return nil, fmt.Errorf("auth: at least one key source is required")
	}
	e := &extractor{maxLen: maxLen}
	seen := make(map[Source]bool, len(sources))
	where := make([]string, 0, len(sources))
	for _, s := range sources {
		if err := s.validate(); err != nil {
			return nil, err
		}
		if seen[s] {
			return nil, fmt.Errorf("auth: key source %s listed twice", s)
		}
		seen[s] = true
		where = append(where, s.where())
		e.sources = append(e.sources, compile(s, maxLen))
	}
	e.missing = apierrors.New(apierrors.CodeMissingAPIKey).WithMessage(
		"API key is required; send it " + orList(where))
	e.conflict = apierrors.New(apierrors.CodeInvalidAPIKey).WithMessage(
		"The request carries two different API keys; send only one")
	return e, nil
}

func compile(s Source, maxLen int) compiledSource {
	invalid := apierrors.New(apierrors.CodeInvalidAPIKey)
	in := "in " + s.String()
	if s.kind == sourceScheme {
		in = "in the " + s.name + " header"
	}
	c := compiledSource{Source: s}
	c.malformed = invalid.WithMessage("The API key " + in +
		" contains characters that are not allowed (spaces, control or non-ASCII characters)")
	c.tooLong = invalid.WithMessage("The API key " + in + " is longer than " +
		strconv.Itoa(maxLen) + " characters")
	if s.kind == sourceScheme {
		c.empty = invalid.WithMessage("The " + s.name + " header has an empty " + s.scheme + " token")
		c.noScheme = invalid.WithMessage("The " + s.name + " header must have the form '" +
			s.scheme + " <key>'")
	}
	return c
}

// extract returns the request's API key, or the rejection that explains
// why there is none. Every source is read: the same key in two places is
// fine, two different keys are refused, and a malformed value anywhere is
// refused rather than skipped.
func (e *extractor) extract(r *http.Request) (string, *apierrors.Error) {
	key, found := "", false
	for i := range e.sources {
		s := &e.sources[i]
		values := r.Header[s.name]
		if s.kind == sourceQuery {
			if r.URL == nil || r.URL.RawQuery == "" {
				continue
			}
			values = r.URL.Query()[s.name]
		}
		for _, v := range values {
			k, ok, err := e.value(s, v)
			if err != nil {
				return "", err
			}
			if !ok {
				continue
			}
			if found && !equalString(k, key) {
				return "", e.conflict
			}
			key, found = k, true
		}
	}
	if !found {
		return "", e.missing
	}
	return key, nil
}

// value extracts the key from one header or parameter value. It reports
// ok=false, with no error, for a blank value and for a value of another
// scheme; a scheme with no token after it is an error.
func (e *extractor) value(s *compiledSource, v string) (string, bool, *apierrors.Error) {
	v = trimPasted(v)
	if v == "" {
		return "", false, nil // a blank header says nothing
	}
	if s.kind == sourceScheme {
		scheme, token, ok := cutSpace(v)
		if !ok {
			if strings.EqualFold(v, s.scheme) {
				return "", false, s.empty
			}
			return "", false, s.noScheme
		}
		if !strings.EqualFold(scheme, s.scheme) {
			return "", false, nil
		}
		// The outer trim leaves text after the space, so the token is
		// never empty; it may still be spaced from the scheme.
		v = trimPasted(token)
	}
	switch {
	case len(v) > e.maxLen:
		return "", false, s.tooLong
	case !printableASCII(v):
		return "", false, s.malformed
	}
	return v, true, nil
}

// trimPasted removes what copying a key from a terminal or a file tends to
// add around it: spaces, tabs and line ends.
func trimPasted(s string) string { return strings.Trim(s, " \t\r\n") }

// cutSpace splits s at its first space or tab.
func cutSpace(s string) (before, after string, found bool) {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// validToken reports whether s is a non-empty RFC 9110 token, as header
// names and authentication schemes must be.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func orList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
