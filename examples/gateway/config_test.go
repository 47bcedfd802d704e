package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMoney(t *testing.T) {
	good := map[string]int64{"0": 0, "5": 5_000_000, "5.00": 5_000_000, "0.000150": 150, "2.5": 2_500_000, "-1.25": -1_250_000, "0.000001": 1}
	for s, want := range good {
		got, err := parseMoney(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"", ".5", "1.0000001", "1e6", "abc", "1.2.3", "+1", "1_000", "9223372036854.775807", " 1"} {
		_, err := parseMoney(s)
		assert.Error(t, err, s)
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	cfg, err := parseConfig(defaultConfig)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8080", cfg.Listen)
	assert.Equal(t, Money(5_000_000), cfg.Accounts["acme"].Balance)
	assert.Equal(t, Money(2_500_000), cfg.Models["fake-echo"].InputPerMillion)
	assert.Len(t, cfg.Keys, 4)
}

func TestConfigErrors(t *testing.T) {
	base := string(defaultConfig)
	cases := map[string]string{
		"unknown field":   strings.Replace(base, `"listen"`, `"listne"`, 1),
		"float money":     strings.Replace(base, `"balance": "5.00"`, `"balance": 5.0`, 1),
		"bad dialect":     strings.Replace(base, `"dialect": "openai"`, `"dialect": "klingon"`, 1),
		"bad duration":    strings.Replace(base, `"keep_alive": "10s"`, `"keep_alive": "soon"`, 1),
		"unknown plan":    strings.Replace(base, `"plan": "trial",`, `"plan": "gold",`, 1),
		"bad window unit": strings.Replace(base, `"unit": "requests"`, `"unit": "apples"`, 1),
		"bad window":      strings.Replace(base, `"window": "5h"`, `"window": "fortnightly"`, 1),
		"trailing data":   base + "{}",
		"truncated":       base[:len(base)/2],
		"not json":        "\x00\xff",
		"wrong types":     `{"keys": "all of them"}`,
		"no keys":         `{"models": {"m": {}}}`,
		"negative price":  strings.Replace(base, `"input_per_million": "2.50"`, `"input_per_million": "-2.50"`, 1),
		"deep nesting":    strings.Repeat(`{"a":`, 20000),
		"too large":       `{"listen":"` + strings.Repeat("x", maxConfigBytes) + `"}`,
	}
	for name, text := range cases {
		_, err := parseConfig([]byte(text))
		assert.Error(t, err, name)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add(defaultConfig)
	f.Add([]byte(`{"keys":[{"id":"a","key":"k"}],"models":{"m":{"input_per_million":"1"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parseConfig(data)
		if err == nil && (len(cfg.Keys) == 0 || len(cfg.Models) == 0) {
			t.Fatal("accepted a config without keys or models")
		}
	})
}

func FuzzParseChatRequest(f *testing.F) {
	f.Add([]byte(chatBody("fake-echo", "hi", `"stream":true,"stream_options":{"include_usage":true}`)))
	f.Add([]byte(`{"model":"m","messages":[null]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parseChat(body)
		if err == nil && (p.model == "" || len(p.texts) == 0) {
			t.Fatalf("accepted %q without a model or messages", body)
		}
		_, _ = parseMessages(body)
	})
}
