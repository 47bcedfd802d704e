package errors

import "strings"

// StatusCode returns the catalogue's generic code for an HTTP status: the
// code a dialect falls back to, and the one Parse gives a body it cannot
// read.
func StatusCode(status int) Code {
	switch status {
	case 400:
		return CodeInvalidRequest
	case 401:
		return CodeAuthenticationError
	case 402:
		return CodeInsufficientQuota
	case 403:
		return CodePermissionError
	case 404:
		return CodeNotFound
	case 405:
		return CodeMethodNotAllowed
	case 409:
		return CodeConflict
	case 413:
		return CodeRequestTooLarge
	case 422:
		return CodeUnprocessableEntity
	case 429:
		return CodeRateLimitExceeded
	case 502:
		return CodeBadGateway
	case 503:
		return CodeServiceUnavailable
	case 504:
		return CodeGatewayTimeout
	case 520:
		return CodeProviderUnreachable
	case 524:
		return CodeProviderTimeout
	case 529:
		return CodeOverloaded
	}
	if status >= 500 {
		return CodeInternalError
	}
	return CodeInvalidRequest
}

type spellKey struct {
	spelling string
	status   int
}

// reverseIndex maps, per dialect, each spelling (with and without its
// status) back to one canonical code. Where several codes share a spelling
// (ZenMux's access_denied stands for every key problem), the code whose
// canonical name is the spelling wins, then the generic code for the
// status, then the first row.
type reverseIndex struct {
	exact map[spellKey]Code
	loose map[string]Code
}

var reverseIndexes = func() (idx [numDialects]reverseIndex) {
	for d := Dialect(0); d < numDialects; d++ {
		ri := reverseIndex{exact: map[spellKey]Code{}, loose: map[string]Code{}}
		for i := range catalogue {
			r := &catalogue[i]
			res := resolve(d, &Error{Status: r.status, Code: r.code})
			sp := spellingOf(d, res)
			k := spellKey{sp, res.status}
			if old, ok := ri.exact[k]; !ok || rank(r.code, sp, res.status) < rank(old, sp, res.status) {
				ri.exact[k] = r.code
			}
			if old, ok := ri.loose[sp]; !ok || rank(r.code, sp, res.status) < rank(old, sp, res.status) {
				ri.loose[sp] = r.code
			}
		}
		idx[d] = ri
	}
	return idx
}()

// rank orders the candidates for one spelling: lower wins.
func rank(c Code, spelling string, status int) int {
	switch {
	case string(c) == strings.ToLower(spelling):
		return 0
	case StatusCode(status) == c:
		return 1
	}
	return 2
}

// spellingOf is the field of a resolved error that identifies its code in
// dialect d.
func spellingOf(d Dialect, res resolved) string {
	switch d {
	case Anthropic, ZenMux, Flat:
		return res.kind
	case Google, Meta, OpenAI, Typed, Problem:
		return res.code
	}
	return res.code
}

// reverse maps a dialect's spelling back to a canonical code. An unknown
// spelling is kept as the code, so upstream codes survive translation.
func reverse(d Dialect, spelling string, status int) Code {
	if spelling == "" {
		return StatusCode(status)
	}
	ri := &reverseIndexes[d]
	if c, ok := ri.exact[spellKey{spelling, status}]; ok {
		return c
	}
	if c, ok := ri.loose[spelling]; ok {
		return c
	}
	if d == Anthropic || d == ZenMux || d == Flat {
		return StatusCode(status)
	}
	return Code(spelling)
}

// reverseAny tries the dialects in order and keeps the spelling as the code
// when none knows it.
func reverseAny(spelling string, status int, ds ...Dialect) Code {
	for _, d := range ds {
		ri := &reverseIndexes[d]
		if c, ok := ri.exact[spellKey{spelling, status}]; ok {
			return c
		}
		if c, ok := ri.loose[spelling]; ok {
			return c
		}
	}
	if _, ok := lookup(Code(spelling)); ok {
		return Code(spelling)
	}
	if c, ok := reverseIndexes[Meta].loose[strings.ToUpper(spelling)]; ok {
		return c
	}
	return Code(spelling)
}

// Spelling returns how dialect d writes e's code: the "code" field for
// OpenAI, Typed, Meta and Problem, the ErrorInfo reason for Google, and the
// "type" (or, for Flat, the "error" title) for Anthropic, ZenMux and Flat.
func Spelling(d Dialect, e *Error) string {
	return spellingOf(d, resolve(d, e))
}
