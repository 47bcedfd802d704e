package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
)

const slowKey = "sk-tollgate-slow-0000000000000000"

// sdkGateway runs the gateway on the real clock, with a key whose plan
// allows one request per second, so the SDK's retry can be watched.
func sdkGateway(t *testing.T) (*httptest.Server, *strings.Builder) {
	t.Helper()
	cfg, err := parseConfig(defaultConfig)
	require.NoError(t, err)
	cfg.KeepAlive = Duration(50 * time.Millisecond)
	cfg.Plans["slow"] = PlanConfig{RPM: 60, Burst: 1}
	cfg.Keys = append(cfg.Keys, auth.StaticKey{Key: slowKey, Principal: auth.Principal{KeyID: "slow", Account: "acme", Plan: "slow"}})
	require.NoError(t, cfg.validate())
	stores, err := memoryStores(nil, time.Hour)
	require.NoError(t, err)
	logs := &strings.Builder{}
	gw, err := NewGateway(cfg, stores, nil, slog.New(tollgate.LogHandler(slog.NewJSONHandler(&lockedWriter{b: logs}, nil))), nil)
	require.NoError(t, err)
	require.NoError(t, gw.Fund(context.Background()))
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return srv, logs
}

func sdkClient(srv *httptest.Server, key string, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(srv.URL + "/v1/"), option.WithAPIKey(key), option.WithMaxRetries(2),
	}, opts...)...)
}

var hello = openai.ChatCompletionNewParams{
	Model:    "fake-echo",
	Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello sdk")},
}

func TestOpenAISDKReadsOurErrors(t *testing.T) {
	srv, _ := sdkGateway(t)
	bad := sdkClient(srv, "sk-wrong")
	_, err := bad.Chat.Completions.New(context.Background(), hello)
	var apiErr *openai.Error
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, 401, apiErr.StatusCode)
	assert.Equal(t, "invalid_api_key", apiErr.Code)
	assert.Equal(t, "authentication_error", apiErr.Type)
	assert.Equal(t, "The provided API key is invalid", apiErr.Message)

	params := hello
	params.Messages = nil
	good := sdkClient(srv, demoKey)
	_, err = good.Chat.Completions.New(context.Background(), params)
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, 400, apiErr.StatusCode)
	assert.Equal(t, "invalid_params", apiErr.Code)
	assert.Equal(t, "Parameter messages is required", apiErr.Message)
}

// The second call is refused with 429 and Retry-After: 1; the SDK waits
// that long, retries on its own, and succeeds.
func TestOpenAISDKHonoursRetryAfter(t *testing.T) {
	srv, logs := sdkGateway(t)
	client := sdkClient(srv, slowKey)
	_, err := client.Chat.Completions.New(context.Background(), hello)
	require.NoError(t, err)
	start := time.Now()
	resp, err := client.Chat.Completions.New(context.Background(), hello)
	require.NoError(t, err)
	assert.Equal(t, "You said: hello sdk", resp.Choices[0].Message.Content)
	assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "the SDK waited for Retry-After")
	assert.Equal(t, 1, strings.Count(logs.String(), `"status":429`), "exactly one refusal before the retry")
}

// A streamed completion whose model is slow to start arrives whole: the
// SDK's stream reader skips the keep-alive comments.
func TestOpenAISDKStreamsThroughKeepAlives(t *testing.T) {
	srv, _ := sdkGateway(t)
	client := sdkClient(srv, demoKey, option.WithHeader(HeaderFakeDelay, "300ms"))
	params := hello
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := client.Chat.Completions.NewStreaming(context.Background(), params)
	defer func() { _ = stream.Close() }()
	var text strings.Builder
	var usage openai.CompletionUsage
	for stream.Next() {
		chunk := stream.Current()
		for _, c := range chunk.Choices {
			text.WriteString(c.Delta.Content)
		}
		if chunk.Usage.TotalTokens > 0 {
			usage = chunk.Usage
		}
	}
	require.NoError(t, stream.Err())
	assert.Equal(t, "You said: hello sdk", text.String())
	assert.Equal(t, int64(15), usage.TotalTokens) // 9 prompt + 6 completion
}
