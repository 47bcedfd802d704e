package auth

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	apierrors "github.com/tollgate/tollgate/errors"
)

// DefaultModelPeek is how many bytes of a JSON body ModelFromJSON reads, at
// most, looking for the model member.
const DefaultModelPeek = 64 << 10

// ModelFunc returns the model a request asks for, or "" when it names none.
// It returns ErrModelUnknown when the request may name a model that cannot
// be read (a body too long to peek into, or not JSON); the Authenticator
// then refuses keys restricted to some models and lets the others through.
// Any other error rejects the request; an *apierrors.Error is sent as is.
//
// A ModelFunc that reads the body must leave r.Body holding the complete,
// unconsumed body for the handler, as ModelFromJSON does. It must be safe
// for concurrent use.
type ModelFunc func(r *http.Request) (string, error)

// ErrModelUnknown reports that the model a request asks for could not be
// determined.
var ErrModelUnknown = errors.New("auth: the request's model could not be determined")

// errDuplicateModel refuses a body that names the model twice, so that the
// model checked and the model served cannot differ.
var errDuplicateModel = apierrors.New(apierrors.CodeInvalidRequest).
	WithMessage("The request body names the model more than once").
	WithParam("model", "duplicate member")

// ModelFromJSON returns a ModelFunc that reads the top-level "model" member
// of a JSON request body. It reads no more of the body than it needs, and
// never more than maxPeek bytes (DefaultModelPeek when maxPeek <= 0); the
// handler then gets a body that replays the bytes read and streams the
// rest, so a large body is never held in memory twice.
//
// A body with no model member, or no body, names no model. A model beyond
// the first maxPeek bytes, a model that is not a string and a body that is
// not a JSON object yield ErrModelUnknown. SDKs that write "messages"
// before "model" put the model behind the whole prompt: raise maxPeek if
// keys restricted to some models send long prompts.
//
// As the handler reads on, the replacing body keeps watching for a second
// member that decodes to "model" (in any case, as encoding/json matches
// it); if one appears, its Read fails with an invalid_request
// *apierrors.Error, so the handler cannot serve a model other than the one
// checked.
func ModelFromJSON(maxPeek int) ModelFunc {
	if maxPeek <= 0 {
		maxPeek = DefaultModelPeek
	}
	return func(r *http.Request) (string, error) {
		if r.Body == nil || r.Body == http.NoBody {
			return "", nil
		}
		b := &peekBody{rest: r.Body}
		err := b.peek(maxPeek)
		r.Body = b
		if err != nil {
			return "", err
		}
		switch b.scan.status {
		case modelFound:
			b.watch = true
			return b.scan.model, nil
		case modelAbsent:
			return "", nil
		case modelDuplicate:
			return "", errDuplicateModel
		case modelPending:
			if b.eof && !b.scan.started {
				return "", nil // an empty or blank body
			}
		}
		return "", ErrModelUnknown
	}
}

// ModelFromPath returns a ModelFunc that reads the model from the path
// segment after segment: ModelFromPath("models") finds "gemini-2.0-flash"
// in /v1beta/models/gemini-2.0-flash:generateContent. The model ends at the
// next '/' or ':'. A path without the segment names no model.
func ModelFromPath(segment string) ModelFunc {
	marker := "/" + strings.Trim(segment, "/") + "/"
	return func(r *http.Request) (string, error) {
		if r.URL == nil {
			return "", nil
		}
		_, after, ok := strings.Cut(r.URL.Path, marker)
		if !ok {
			return "", nil
		}
		if i := strings.IndexAny(after, "/:"); i >= 0 {
			after = after[:i]
		}
		return after, nil
	}
}

// FirstModel returns a ModelFunc that asks each of funcs in turn and
// returns the first model named or the first error. Put path-based funcs
// before ModelFromJSON, so the body is read only when the path names no
// model: FirstModel(ModelFromPath("models"), ModelFromJSON(0)).
func FirstModel(funcs ...ModelFunc) ModelFunc {
	return func(r *http.Request) (string, error) {
		for _, f := range funcs {
			if m, err := f(r); err != nil || m != "" {
				return m, err
			}
		}
		return "", nil
	}
}

// peekBody is the body a handler gets after ModelFromJSON: the bytes read
// while looking for the model, then the rest of the original body. While
// watch is set it keeps scanning what the handler reads for a second model
// member.
type peekBody struct {
	rest  io.ReadCloser
	buf   []byte
	off   int
	eof   bool
	watch bool
	err   error
	scan  modelScanner
	small [2048]byte
}

// peek reads until the scanner has an answer, the body ends, or limit bytes
// are buffered. It returns read errors other than io.EOF.
func (b *peekBody) peek(limit int) error {
	b.buf = b.small[:0:min(len(b.small), limit)]
	for b.scan.status == modelPending && !b.eof && len(b.buf) < limit {
		if len(b.buf) == cap(b.buf) {
			grown := make([]byte, len(b.buf), min(2*cap(b.buf), limit))
			copy(grown, b.buf)
			b.buf = grown
		}
		n, err := b.rest.Read(b.buf[len(b.buf):cap(b.buf)])
		b.scan.feed(b.buf[len(b.buf) : len(b.buf)+n])
		b.buf = b.buf[:len(b.buf)+n]
		switch {
		case err == io.EOF:
			b.eof = true
		case err != nil:
			b.err = err
			return bodyReadError(err)
		}
	}
	return nil
}

// Read replays the peeked bytes, then reads from the original body.
func (b *peekBody) Read(p []byte) (int, error) {
	if b.off < len(b.buf) {
		n := copy(p, b.buf[b.off:])
		b.off += n
		return n, nil
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.eof {
		return 0, io.EOF
	}
	n, err := b.rest.Read(p)
	if b.watch && n > 0 {
		b.scan.feed(p[:n])
		if b.scan.status == modelDuplicate {
			b.err = errDuplicateModel
			return n, b.err
		}
	}
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// Close closes the original body.
func (b *peekBody) Close() error { return b.rest.Close() }

// bodyReadError turns a failure to read the request body into the error
// the client is sent.
func bodyReadError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return apierrors.New(apierrors.CodeRequestTooLarge).WithCause(err)
	}
	return apierrors.New(apierrors.CodeReadRequestBodyFailed).
		WithCause(fmt.Errorf("auth: reading the body for the model check: %w", err))
}
