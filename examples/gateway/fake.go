package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	apierrors "github.com/tollgate/tollgate/errors"
)

// The built-in fake model: it echoes the last user message back, counts
// tokens deterministically, and can be told through request headers to be
// slow before its first byte or to fail like an upstream provider would.
const (
	// HeaderFakeDelay delays the first byte by a Go duration ("12s"), at
	// most maxFakeDelay, so keep-alive comments can be seen.
	HeaderFakeDelay = "X-Fake-Delay"
	// HeaderFakeFail makes the fake upstream fail: "error" (provider_error),
	// "unavailable" (no_provider_available), "timeout" (provider_timeout) or
	// "midstream" (fail after the first chunk of a stream).
	HeaderFakeFail = "X-Fake-Fail"

	maxFakeDelay = 2 * time.Minute
)

// countTokens is the fake model's tokenizer: one token per started four
// bytes, as the usual rule of thumb for English text.
func countTokens(s string) int64 {
	return int64((len(s) + 3) / 4)
}

// promptTokens counts a conversation: each message's text plus a fixed
// overhead of 3 tokens per message and 3 for the reply's priming, as OpenAI
// counts chat formatting.
func promptTokens(texts []string) int64 {
	n := int64(3)
	for _, t := range texts {
		n += 3 + countTokens(t)
	}
	return n
}

// reply returns the fake model's answer to the last user text, cut to at
// most maxTokens tokens (0 = no cap), as words, and whether it was cut.
func reply(lastUser string, maxTokens int64) (words []string, truncated bool) {
	text := "You said: " + lastUser
	if strings.TrimSpace(lastUser) == "" {
		text = "Hello from tollgate's fake model."
	}
	var used int64
	for _, w := range strings.SplitAfter(text, " ") {
		n := countTokens(w)
		if maxTokens > 0 && used+n > maxTokens {
			return words, true
		}
		used += n
		words = append(words, w)
	}
	return words, false
}

func outputTokens(words []string) int64 {
	var n int64
	for _, w := range words {
		n += countTokens(w)
	}
	return n
}

// fakeFailure turns the X-Fake-Fail header into the error an upstream
// provider would cause.
func fakeFailure(v string) (*apierrors.Error, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "":
		return nil, false
	case "error":
		return apierrors.New(apierrors.CodeProviderError), true
	case "unavailable":
		return apierrors.New(apierrors.CodeNoProviderAvailable), true
	case "timeout":
		return apierrors.New(apierrors.CodeProviderTimeout), true
	case "ratelimit":
		return apierrors.New(apierrors.CodeUpstreamRateLimited).WithRetryAfter(time.Second), true
	}
	return nil, false
}

// fakeDelay parses X-Fake-Delay: a Go duration or whole seconds.
func fakeDelay(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		s, err2 := strconv.Atoi(v)
		if err2 != nil {
			return 0, fmt.Errorf("%s must be a duration such as 12s", HeaderFakeDelay)
		}
		d = time.Duration(s) * time.Second
	}
	if d < 0 || d > maxFakeDelay {
		return 0, fmt.Errorf("%s must be between 0 and %s", HeaderFakeDelay, maxFakeDelay)
	}
	return d, nil
}
