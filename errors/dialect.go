package errors

import (
	"net/http"
	"strconv"
	"strings"
)

// Dialect is an envelope style: how a platform shapes its error bodies and
// in-stream error events, and how it spells each catalogue code.
type Dialect uint8

// The dialects. OpenAI is the default.
const (
	// OpenAI renders {"error":{"message","type","param","code"}}, also the
	// shape of one-api/new-api gateways, whose business codes it spells.
	OpenAI Dialect = iota
	// Anthropic renders {"type":"error","error":{"type","message"},"request_id"}.
	Anthropic
	// Google renders AIP-193: {"error":{"code":<int>,"message","status","details":[ErrorInfo…]}}.
	Google
	// ZenMux renders {"error":{"code":"<status>","type","message"}}.
	ZenMux
	// Meta renders {"success":false,"error":{"code","message","details"},"meta":{"request_id","timestamp"}}.
	Meta
	// Typed renders {"error":{"code","message","type","request_id"}}.
	Typed
	// Flat renders {"error":"<title>","message","statusCode","details"}, the
	// agents API's shape.
	Flat
	// Problem renders RFC 9457 problem details as application/problem+json.
	Problem

	numDialects
)

var dialectNames = [numDialects]string{"openai", "anthropic", "google", "zenmux", "meta", "typed", "flat", "problem"}

// String returns the dialect's name, as ParseDialect accepts it.
func (d Dialect) String() string {
	if d < numDialects {
		return dialectNames[d]
	}
	return "dialect(" + strconv.Itoa(int(d)) + ")"
}

// Dialects returns every dialect.
func Dialects() []Dialect {
	out := make([]Dialect, numDialects)
	for i := range out {
		out[i] = Dialect(i)
	}
	return out
}

// ParseDialect returns the dialect with the given name (case-insensitive).
func ParseDialect(name string) (Dialect, bool) {
	for i, n := range dialectNames {
		if strings.EqualFold(n, name) {
			return Dialect(i), true
		}
	}
	return OpenAI, false
}

// resolved is an error as one dialect will write it.
type resolved struct {
	status int
	code   string
	kind   string
}

// resolve looks up how d spells e: the row's cell when it has one, the
// dialect's defaults for the status otherwise.
func resolve(d Dialect, e *Error) resolved {
	status := e.Status
	if status < 100 || status > 999 {
		status = http.StatusInternalServerError
	}
	var cell spelling
	row, known := lookup(e.Code)
	if known {
		cell = row.spell[d]
		// A status chosen by the caller wins over the dialect's override.
		if cell.status != 0 && status == row.status {
			status = cell.status
		}
	}
	res := resolved{status: status, code: cell.code, kind: cell.kind}
	switch d {
	case OpenAI:
		if res.code == "" {
			res.code = string(e.Code)
		}
		if res.kind == "" {
			res.kind = openAIType(status)
		}
	case Anthropic:
		if res.kind == "" {
			res.kind = anthropicType(status)
		}
		res.code = res.kind
	case Google:
		res.code = upperSnake(e.Code)
		if res.kind == "" {
			res.kind = googleStatus(status)
		}
	case ZenMux:
		if res.kind == "" {
			res.kind = zenMuxType(status)
		}
		res.code = strconv.Itoa(status)
	case Meta:
		if res.code == "" {
			res.code = upperSnake(e.Code)
		}
	case Typed:
		if res.code == "" {
			res.code = string(e.Code)
		}
		if res.kind == "" {
			res.kind = typedType(status)
		}
	case Flat:
		if res.kind == "" {
			res.kind = flatTitle(status)
		}
		res.code = upperSnake(e.Code)
		if m := row; known && m.spell[Meta].code != "" {
			res.code = m.spell[Meta].code
		}
	case Problem:
		res.code = string(e.Code)
		res.kind = http.StatusText(status)
		if res.kind == "" {
			res.kind = "Error"
		}
	}
	return res
}

func openAIType(status int) string {
	switch {
	case status == 401:
		return "authentication_error"
	case status == 402:
		return "insufficient_quota"
	case status == 403:
		return "permission_error"
	case status == 404:
		return "not_found_error"
	case status == 429:
		return "rate_limit_error"
	case status >= 500:
		return "server_error"
	default:
		return "invalid_request_error"
	}
}

func anthropicType(status int) string {
	switch {
	case status == 401:
		return "authentication_error"
	case status == 402:
		return "billing_error"
	case status == 403:
		return "permission_error"
	case status == 404:
		return "not_found_error"
	case status == 413:
		return "request_too_large"
	case status == 429:
		return "rate_limit_error"
	case status == 504 || status == 524:
		return "timeout_error"
	case status == 529 || status == 503:
		return "overloaded_error"
	case status >= 500:
		return "api_error"
	default:
		return "invalid_request_error"
	}
}

func googleStatus(status int) string {
	switch status {
	case 400, 413, 422:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 402:
		return "FAILED_PRECONDITION"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 405, 501:
		return "UNIMPLEMENTED"
	case 409:
		return "ABORTED"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 499:
		return "CANCELLED"
	case 502, 503, 520, 529:
		return "UNAVAILABLE"
	case 504, 524:
		return "DEADLINE_EXCEEDED"
	}
	if status >= 500 {
		return "INTERNAL"
	}
	return "FAILED_PRECONDITION"
}

func zenMuxType(status int) string {
	switch {
	case status == 401 || status == 403:
		return "access_denied"
	case status == 402:
		return "reject_no_credit"
	case status == 404:
		return "invalid_model"
	case status == 422:
		return "provider_unprocessable_entity_error"
	case status == 429:
		return "rate_limit"
	case status == 502:
		return "no_provider_available"
	case status == 520 || status == 524:
		return "provider_internal_server_error"
	case status >= 500:
		return "internal_server_error"
	default:
		return "invalid_params"
	}
}

func typedType(status int) string {
	switch status {
	case 400:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 402:
		return "insufficient_quota"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 409:
		return "conflict_error"
	case 422:
		return "unprocessable_entity_error"
	case 429:
		return "rate_limit_error"
	case 502:
		return "bad_gateway_error"
	case 503:
		return "service_unavailable_error"
	case 504:
		return "gateway_timeout_error"
	}
	if status >= 500 {
		return "server_error"
	}
	return "invalid_request_error"
}

func flatTitle(status int) string {
	switch status {
	case 429:
		return "Rate limit exceeded"
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Error"
}
