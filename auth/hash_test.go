package auth_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/auth"
)

func TestHashKey(t *testing.T) {
	// printf 'sk-live-example-file-key-1' | sha256sum
	const want = "e9f81b6a5390ca6036309a1c4266b5f9531e04b8022b6866d31b67c990b052db"
	assert.Equal(t, want, auth.HashKey("sk-live-example-file-key-1").String())
	long := strings.Repeat("k", 1000)
	assert.Equal(t, auth.HashKey(long), auth.HashKey(long), "long keys hash too")
	assert.NotEqual(t, auth.HashKey(long), auth.HashKey(long[:999]))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = auth.HashKey("sk-live-example-file-key-1-and-some-more-characters") }))
}

func TestKeyHashText(t *testing.T) {
	h := auth.HashKey("sk-1")
	for _, s := range []string{h.String(), "sha256:" + h.String(), strings.ToUpper(h.String())} {
		got, err := auth.ParseKeyHash(s)
		require.NoError(t, err, s)
		assert.Equal(t, h, got)
	}
	for _, s := range []string{"", "abc", h.String()[:63] + "g", h.String() + "00"} {
		_, err := auth.ParseKeyHash(s)
		assert.Error(t, err, s)
	}
	b, err := json.Marshal(struct {
		H auth.KeyHash `json:"h"`
	}{h})
	require.NoError(t, err)
	assert.JSONEq(t, `{"h":"`+h.String()+`"}`, string(b))
	assert.True(t, auth.KeyHash{}.IsZero())
	assert.False(t, h.IsZero())
}

func TestEqualHash(t *testing.T) {
	assert.True(t, auth.EqualHash(auth.HashKey("a"), auth.HashKey("a")))
	assert.False(t, auth.EqualHash(auth.HashKey("a"), auth.HashKey("b")))
}

func TestFingerprint(t *testing.T) {
	tests := []struct{ key, want string }{
		{"sk-abcdefghijklmnopa1b2", "sk-…a1b2"},
		{"tg_live_0123456789abcdefXYZW", "tg_…XYZW"},
		{"0123456789abcdefghij", "…ghij"},
		{"sk-short", "sk-…"},
		{"short", "…"},
		{"", "…"},
		{"verylongprefix-0123456789abcd", "…abcd"},
		{"sk-\x00\x01bcdefghijklm\n\tz", "sk-…m??z"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, auth.Fingerprint(tt.key))
		})
	}
}
