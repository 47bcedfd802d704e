package auth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	apierrors "github.com/tollgate/tollgate/errors"
)

func mustExtractor(t testing.TB, sources ...Source) *extractor {
	t.Helper()
	if len(sources) == 0 {
		sources = DefaultSources()
	}
	e, err := newExtractor(sources, 64)
	require.NoError(t, err)
	return e
}

func TestExtract(t *testing.T) {
	const key = "sk-abc_DEF-123"
	tests := []struct {
		name    string
		header  http.Header
		query   string
		want    string
		code    apierrors.Code
		message string // a fragment of the rejection's message
	}{
		{name: "bearer", header: http.Header{"Authorization": {"Bearer " + key}}, want: key},
		{name: "bearer lower case", header: http.Header{"Authorization": {"bearer " + key}}, want: key},
		{name: "bearer upper case", header: http.Header{"Authorization": {"BEARER " + key}}, want: key},
		{name: "tab after scheme", header: http.Header{"Authorization": {"Bearer\t" + key}}, want: key},
		{name: "pasted spaces and newline", header: http.Header{"Authorization": {" Bearer   " + key + "\r\n"}}, want: key},
		{name: "x-api-key", header: http.Header{"X-Api-Key": {key}}, want: key},
		{name: "x-api-key trailing newline", header: http.Header{"X-Api-Key": {key + "\n"}}, want: key},
		{name: "x-goog-api-key", header: http.Header{"X-Goog-Api-Key": {key}}, want: key},
		{name: "same key in three places", header: http.Header{"Authorization": {"Bearer " + key}, "X-Api-Key": {key}, "X-Goog-Api-Key": {" " + key}}, want: key},
		{name: "same key on two lines", header: http.Header{"X-Api-Key": {key, key}}, want: key},
		{name: "other scheme ignored", header: http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}, "X-Api-Key": {key}}, want: key},
		{name: "nothing", code: apierrors.CodeMissingAPIKey, message: "send it as 'Authorization: Bearer <key>', in the X-Api-Key header or in the X-Goog-Api-Key header"},
		{name: "other scheme only", header: http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, code: apierrors.CodeMissingAPIKey},
		{name: "query ignored unless enabled", query: "key=" + key, code: apierrors.CodeMissingAPIKey},
		{name: "empty bearer", header: http.Header{"Authorization": {"Bearer"}}, code: apierrors.CodeInvalidAPIKey, message: "empty Bearer token"},
		{name: "bearer of spaces", header: http.Header{"Authorization": {"Bearer    "}}, code: apierrors.CodeInvalidAPIKey, message: "empty Bearer token"},
		{name: "blank headers say nothing", header: http.Header{"Authorization": {""}, "X-Api-Key": {"  "}}, code: apierrors.CodeMissingAPIKey},
		{name: "blank header beside a key", header: http.Header{"X-Api-Key": {"\r\n"}, "X-Goog-Api-Key": {key}}, want: key},
		{name: "missing scheme", header: http.Header{"Authorization": {key}}, code: apierrors.CodeInvalidAPIKey, message: "'Bearer <key>'"},
		{name: "space inside key", header: http.Header{"Authorization": {"Bearer sk-abc def"}}, code: apierrors.CodeInvalidAPIKey, message: "not allowed"},
		{name: "control character", header: http.Header{"X-Api-Key": {"sk-\x00abc"}}, code: apierrors.CodeInvalidAPIKey, message: "not allowed"},
		{name: "newline inside key", header: http.Header{"X-Api-Key": {"sk-abc\ndef"}}, code: apierrors.CodeInvalidAPIKey, message: "not allowed"},
		{name: "non-ascii", header: http.Header{"X-Api-Key": {"sk-abcé"}}, code: apierrors.CodeInvalidAPIKey, message: "not allowed"},
		{name: "too long", header: http.Header{"X-Api-Key": {strings.Repeat("k", 65)}}, code: apierrors.CodeInvalidAPIKey, message: "longer than 64"},
		{name: "longest accepted", header: http.Header{"X-Api-Key": {strings.Repeat("k", 64)}}, want: strings.Repeat("k", 64)},
		{name: "two different keys", header: http.Header{"Authorization": {"Bearer " + key}, "X-Api-Key": {key + "x"}}, code: apierrors.CodeInvalidAPIKey, message: "two different API keys"},
		{name: "two different lines", header: http.Header{"X-Api-Key": {key, key + "x"}}, code: apierrors.CodeInvalidAPIKey, message: "two different API keys"},
		{name: "malformed beside a good key", header: http.Header{"Authorization": {"Bearer " + key}, "X-Api-Key": {"bad key"}}, code: apierrors.CodeInvalidAPIKey, message: "not allowed"},
	}
	e := mustExtractor(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/?"+tt.query, nil)
			for k, v := range tt.header {
				r.Header[k] = v
			}
			got, rej := e.extract(r)
			if tt.code == "" {
				require.Nil(t, rej)
				assert.Equal(t, tt.want, got)
				return
			}
			require.NotNil(t, rej)
			assert.Equal(t, tt.code, rej.Code)
			assert.Contains(t, rej.Message, tt.message)
			assert.Empty(t, got)
		})
	}
}

func TestExtractQueryAndCustomSources(t *testing.T) {
	e := mustExtractor(t, Scheme("Authorization", "Token"), Header("X-Custom-Key"), Query("key"))
	tests := []struct {
		name   string
		target string
		header http.Header
		want   string
		code   apierrors.Code
	}{
		{name: "query", target: "/?key=sk-q", want: "sk-q"},
		{name: "query escaped", target: "/?alt=json&key=sk%2Dq", want: "sk-q"},
		{name: "query empty", target: "/?key=", code: apierrors.CodeMissingAPIKey},
		{name: "query with space", target: "/?key=sk+q", code: apierrors.CodeInvalidAPIKey},
		{name: "custom scheme", target: "/", header: http.Header{"Authorization": {"token sk-t"}}, want: "sk-t"},
		{name: "bearer is another scheme here", target: "/", header: http.Header{"Authorization": {"Bearer sk-t"}}, code: apierrors.CodeMissingAPIKey},
		{name: "custom header", target: "/", header: http.Header{"X-Custom-Key": {"sk-c"}}, want: "sk-c"},
		{name: "header and query disagree", target: "/?key=sk-q", header: http.Header{"X-Custom-Key": {"sk-c"}}, code: apierrors.CodeInvalidAPIKey},
		{name: "x-api-key not configured", target: "/", header: http.Header{"X-Api-Key": {"sk-c"}}, code: apierrors.CodeMissingAPIKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			for k, v := range tt.header {
				r.Header[k] = v
			}
			got, rej := e.extract(r)
			if tt.code != "" {
				require.NotNil(t, rej)
				assert.Equal(t, tt.code, rej.Code)
				return
			}
			require.Nil(t, rej)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestNewExtractorValidates(t *testing.T) {
	tests := []struct {
		name    string
		sources []Source
	}{
		{"none", nil},
		{"zero source", []Source{{}}},
		{"bad header", []Source{Header("X Api Key")}},
		{"empty header", []Source{Header("")}},
		{"bad scheme", []Source{Scheme("Authorization", "Bear er")}},
		{"empty query", []Source{Query("")}},
		{"duplicate", []Source{Bearer(), Header("x-api-key"), Header("X-API-KEY")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newExtractor(tt.sources, 64)
			assert.Error(t, err)
		})
	}
}

func TestSourceString(t *testing.T) {
	assert.Equal(t, "Authorization: Bearer <key>", Bearer().String())
	assert.Equal(t, "the X-Api-Key header", Header("x-api-key").String())
	assert.Equal(t, "the key query parameter", Query("key").String())
	assert.Equal(t, "an invalid source", Source{}.String())
}

func TestExtractDoesNotAllocate(t *testing.T) {
	e := mustExtractor(t)
	ok := httptest.NewRequest(http.MethodGet, "/", nil)
	ok.Header.Set("Authorization", "Bearer sk-abc")
	ok.Header.Set("X-Api-Key", "sk-abc")
	bad := httptest.NewRequest(http.MethodGet, "/", nil)
	bad.Header.Set("Authorization", "Bearer ")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = e.extract(ok) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = e.extract(bad) }))
}

// FuzzExtract checks that no header value makes extraction panic, and that
// an accepted key is bounded, printable ASCII and taken verbatim from the
// request, while a rejection never quotes the request.
func FuzzExtract(f *testing.F) {
	f.Add("Bearer sk-abc", "", "")
	f.Add("bearer  sk-abc \r\n", "sk-abc", "")
	f.Add("Bearer", "", "")
	f.Add("Basic dXNlcjpwYXNz", "sk-x", "sk-y")
	f.Add("sk-abc", "", "")
	f.Add("Bearer sk-\x00abc", "", "")
	f.Add("", "\t", "é")
	e := mustExtractor(f)
	f.Fuzz(func(t *testing.T, authorization, apiKey, googKey string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Authorization"] = []string{authorization}
		r.Header["X-Api-Key"] = []string{apiKey}
		r.Header["X-Goog-Api-Key"] = []string{googKey}
		key, rej := e.extract(r)
		if rej != nil {
			assert.Empty(t, key)
			assert.True(t, rej.Code == apierrors.CodeInvalidAPIKey || rej.Code == apierrors.CodeMissingAPIKey)
			for _, in := range []string{authorization, apiKey, googKey} {
				if v := trimPasted(in); len(v) > 12 {
					assert.NotContains(t, rej.Message, v)
				}
			}
			return
		}
		assert.NotEmpty(t, key)
		assert.LessOrEqual(t, len(key), 64)
		assert.True(t, printableASCII(key))
		assert.True(t, strings.Contains(authorization, key) || strings.Contains(apiKey, key) || strings.Contains(googKey, key))
	})
}
