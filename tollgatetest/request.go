package tollgatetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	apierrors "github.com/tollgate/tollgate/errors"
)

// Request returns a server-side request (httptest.NewRequest) carrying key
// as a bearer token. body may be nil, a string, a []byte, or any value,
// which is sent as JSON with Content-Type application/json. An empty key
// sends no Authorization header.
func Request(method, target, key string, body any) *http.Request {
	var r io.Reader
	isJSON := false
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewReader([]byte(b))
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			panic(fmt.Sprintf("tollgatetest: request body: %v", err))
		}
		r, isJSON = bytes.NewReader(data), true
	}
	req := httptest.NewRequest(method, target, r)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if isJSON {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// AssertError checks that resp is an error envelope, in any dialect, with
// the given HTTP status and canonical code, and returns the parsed error
// (nil when the body could not be read). It reports through t.Errorf, so a
// test sees every mismatch, and leaves resp.Body consumed but open.
func AssertError(t testing.TB, resp *http.Response, status int, code apierrors.Code) *apierrors.Error {
	t.Helper()
	e, err := apierrors.Parse(resp)
	if err != nil {
		t.Errorf("tollgatetest: reading the error body: %v", err)
		return nil
	}
	if resp.StatusCode != status {
		t.Errorf("status = %d, want %d (body code %q, message %q)", resp.StatusCode, status, e.Code, e.Message)
	}
	if e.Code != code {
		t.Errorf("code = %q, want %q (message %q)", e.Code, code, e.Message)
	}
	return e
}

// AssertRecorderError is AssertError for an httptest.ResponseRecorder.
func AssertRecorderError(t testing.TB, rec *httptest.ResponseRecorder, status int, code apierrors.Code) *apierrors.Error {
	t.Helper()
	return AssertError(t, rec.Result(), status, code)
}
