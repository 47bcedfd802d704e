package demo_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/examples/internal/demo"
	"github.com/tollgate/tollgate/tollgatetest"
)

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    demo.Options
		balance int64
		wantErr bool
	}{
		{"zero value", demo.Options{}, demo.DefaultBalance, false},
		{"own balance", demo.Options{Balance: 1234}, 1234, false},
		{"negative rate", demo.Options{RequestsPerMinute: -1}, 0, true},
		{"negative balance", demo.Options{Balance: -1}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := demo.New(tt.opts)
			if tt.wantErr {
				assert.Error(t, err)
				assert.Panics(t, func() { demo.MustNew(tt.opts) })
				return
			}
			require.NoError(t, err)
			b, err := d.Balance(context.Background())
			require.NoError(t, err)
			assert.Equal(t, tt.balance, b)
		})
	}
}

func TestComplete(t *testing.T) {
	d := demo.MustNew(demo.Options{Clock: tollgatetest.NewClock(tollgatetest.Epoch)})
	tests := []struct {
		name    string
		body    string
		reply   string
		finish  string
		usage   demo.Usage
		errCode apierrors.Code
	}{
		{"echo", `{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"one two three"}]}`,
			"one two three", "stop", demo.Usage{PromptTokens: 5, CompletionTokens: 3, TotalTokens: 8}, ""},
		{"cut to max_tokens", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"one two"}]}`,
			"one", "length", demo.Usage{PromptTokens: 2, CompletionTokens: 1, TotalTokens: 3}, ""},
		{"not JSON", `{"model":`, "", "", demo.Usage{}, apierrors.CodeInvalidRequest},
		{"wrong type", `{"model":1}`, "", "", demo.Usage{}, apierrors.CodeInvalidRequest},
		{"no model", `{"messages":[{"role":"user","content":"x"}]}`, "", "", demo.Usage{}, apierrors.CodeMissingRequiredField},
		{"no messages", `{"model":"m"}`, "", "", demo.Usage{}, apierrors.CodeMissingRequiredField},
		{"stream", `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`, "", "", demo.Usage{}, apierrors.CodeInvalidParams},
		{"negative max_tokens", `{"model":"m","max_tokens":-1,"messages":[{"role":"user","content":"x"}]}`, "", "", demo.Usage{}, apierrors.CodeInvalidMaxTokens},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := d.Complete(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body)))
			if tt.errCode != "" {
				var e *apierrors.Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, tt.errCode, e.Code)
				assert.Less(t, e.Status, 500)
				return
			}
			require.NoError(t, err)
			require.Len(t, c.Choices, 1)
			assert.Equal(t, tt.reply, c.Choices[0].Message.Content)
			assert.Equal(t, tt.finish, c.Choices[0].FinishReason)
			assert.Equal(t, tt.usage, c.Usage)
			assert.Equal(t, tollgatetest.Epoch.Unix(), c.Created)
			assert.Equal(t, "chat.completion", c.Object)
		})
	}
}

func TestIdentityOfUnauthenticated(t *testing.T) {
	_, err := demo.IdentityOf(httptest.NewRequest(http.MethodGet, "/v1/me", nil))
	assert.ErrorIs(t, err, apierrors.New(apierrors.CodeMissingAPIKey))
	rec := httptest.NewRecorder()
	demo.Me().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/me", nil))
	tollgatetest.AssertRecorderError(t, rec, http.StatusUnauthorized, apierrors.CodeMissingAPIKey)
}
