package auth_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/auth"
)

func TestGenerateKeyShape(t *testing.T) {
	seen := map[string]bool{}
	for _, prefix := range []string{"", "sk-", "tg_live_", strings.Repeat("p", 32)} {
		key, err := auth.GenerateKey(prefix)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(key, prefix))
		assert.Len(t, key, len(prefix)+auth.GeneratedKeyLen)
		for _, c := range key[len(prefix):] {
			assert.True(t, c < 128 && (c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'), "base62: %q", c)
		}
		assert.True(t, auth.CheckKey(key))
		assert.False(t, seen[key])
		seen[key] = true
	}
}

func TestGenerateKeyFromIsDeterministic(t *testing.T) {
	zeros := bytes.NewReader(make([]byte, 32))
	key, err := auth.GenerateKeyFrom(zeros, "tg_")
	require.NoError(t, err)
	assert.Equal(t, "tg_"+strings.Repeat("0", 43), key[:len(key)-6], "32 zero bytes are 43 zero digits")
	assert.True(t, auth.CheckKey(key))

	ones := bytes.NewReader(bytes.Repeat([]byte{0xff}, 32))
	key, err = auth.GenerateKeyFrom(ones, "")
	require.NoError(t, err)
	assert.Len(t, key, auth.GeneratedKeyLen, "the largest value still fits 43 digits")
	assert.True(t, auth.CheckKey(key))
}

func TestGenerateKeyErrors(t *testing.T) {
	_, err := auth.GenerateKey(strings.Repeat("p", 33))
	assert.Error(t, err)
	_, err = auth.GenerateKey("sk live")
	assert.Error(t, err)
	_, err = auth.GenerateKeyFrom(bytes.NewReader(make([]byte, 10)), "sk-")
	assert.Error(t, err, "a short random source is an error")
	_, err = auth.GenerateKeyFrom(failingReader{}, "sk-")
	assert.ErrorIs(t, err, errNoEntropy)
}

var errNoEntropy = errors.New("no entropy")

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errNoEntropy }

func TestCheckKeyCatchesTypos(t *testing.T) {
	key, err := auth.GenerateKey("tg_")
	require.NoError(t, err)
	body := len(key) - auth.GeneratedKeyLen
	flip := func(i int) string {
		b := []byte(key)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	tests := []struct {
		name string
		key  string
		want bool
	}{
		{"intact", key, true},
		{"first body character changed", flip(body), false},
		{"last body character changed", flip(len(key) - 7), false},
		{"checksum changed", flip(len(key) - 1), false},
		{"swapped neighbours", key[:body] + key[body+1:body+2] + key[body:body+1] + key[body+2:], key[body] == key[body+1]},
		{"truncated", key[:len(key)-1], false},
		{"extended", key + "0", false},
		{"non-base62 tail", key[:len(key)-1] + "-", false},
		{"empty", "", false},
		{"not generated", "sk-" + strings.Repeat("a", 60), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, auth.CheckKey(tt.key))
		})
	}
}

func TestCheckKeyDoesNotAllocate(t *testing.T) {
	key, err := auth.GenerateKey("tg_live_")
	require.NoError(t, err)
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = auth.CheckKey(key) }))
}
