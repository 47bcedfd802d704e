package main

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The official Anthropic Go SDK against the gateway's /v1/messages, which
// answers in the anthropic dialect: the client's own parsing of errors,
// of Retry-After, of streams with keep-alive comments, and of an error
// event in the middle of a stream.

func anthropicClient(srv *httptest.Server, key string, opts ...option.RequestOption) anthropic.Client {
	// The server's own client, whose idle connections closing the server
	// closes, so that no connection outlives the test.
	return anthropic.NewClient(append([]option.RequestOption{
		option.WithBaseURL(srv.URL + "/"), option.WithAPIKey(key), option.WithMaxRetries(2),
		option.WithHTTPClient(srv.Client()),
	}, opts...)...)
}

var helloClaude = anthropic.MessageNewParams{
	Model:     anthropic.Model("fake-echo"),
	MaxTokens: 64,
	Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello sdk"))},
}

func TestAnthropicSDKReadsOurErrors(t *testing.T) {
	srv, _ := sdkGateway(t)
	bad := anthropicClient(srv, "sk-wrong") // sent as x-api-key, as the SDK does
	_, err := bad.Messages.New(context.Background(), helloClaude)
	var apiErr *anthropic.Error
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, 401, apiErr.StatusCode)
	assert.Equal(t, "authentication_error", string(apiErr.Type()))
	assert.Contains(t, apiErr.RawJSON(), `"request_id"`, "the anthropic envelope carries the request ID")
	assert.NotContains(t, apiErr.RawJSON(), "sk-wrong", "the key is never echoed")

	params := helloClaude
	params.Messages = nil
	good := anthropicClient(srv, demoKey)
	_, err = good.Messages.New(context.Background(), params)
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, 400, apiErr.StatusCode)
	assert.Equal(t, "invalid_request_error", string(apiErr.Type()))
}

// The second call is refused with 429 and Retry-After: 1; the SDK waits
// that long, retries on its own, and succeeds.
func TestAnthropicSDKHonoursRetryAfter(t *testing.T) {
	srv, logs := sdkGateway(t)
	client := anthropicClient(srv, slowKey)
	_, err := client.Messages.New(context.Background(), helloClaude)
	require.NoError(t, err)
	start := time.Now()
	msg, err := client.Messages.New(context.Background(), helloClaude)
	require.NoError(t, err)
	require.NotEmpty(t, msg.Content)
	assert.Equal(t, "You said: hello sdk", msg.Content[0].Text)
	assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "the SDK waited for Retry-After")
	assert.Equal(t, 1, strings.Count(logs.String(), `"status":429`), "exactly one refusal before the retry")
}

// A stream slow to start arrives whole through the SDK's accumulator,
// keep-alive comments skipped, with the final usage of message_delta.
func TestAnthropicSDKStreamsThroughKeepAlives(t *testing.T) {
	srv, _ := sdkGateway(t)
	client := anthropicClient(srv, demoKey, option.WithHeader(HeaderFakeDelay, "300ms"))
	stream := client.Messages.NewStreaming(context.Background(), helloClaude)
	defer func() { _ = stream.Close() }()
	var msg anthropic.Message
	for stream.Next() {
		require.NoError(t, msg.Accumulate(stream.Current()))
	}
	require.NoError(t, stream.Err())
	require.NotEmpty(t, msg.Content)
	assert.Equal(t, "You said: hello sdk", msg.Content[0].Text)
	assert.Equal(t, anthropic.StopReasonEndTurn, msg.StopReason)
	assert.Positive(t, msg.Usage.InputTokens)
	assert.Positive(t, msg.Usage.OutputTokens)
}

// An upstream failure after the first event reaches the SDK as the
// dialect's error event, which it turns into an API error.
func TestAnthropicSDKReadsAnErrorMidStream(t *testing.T) {
	srv, _ := sdkGateway(t)
	client := anthropicClient(srv, demoKey, option.WithHeader(HeaderFakeFail, "midstream"))
	stream := client.Messages.NewStreaming(context.Background(), helloClaude)
	defer func() { _ = stream.Close() }()
	events := 0
	for stream.Next() {
		events++
	}
	assert.Positive(t, events, "the stream had started")
	var apiErr *anthropic.Error
	require.True(t, errors.As(stream.Err(), &apiErr), "%v", stream.Err())
	assert.Equal(t, "overloaded_error", string(apiErr.Type()), "provider_error in the anthropic dialect")
	assert.Contains(t, apiErr.RawJSON(), `"request_id"`)
}
