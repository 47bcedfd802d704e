package main

import (
	"bufio"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/tollgatetest"
)

// TestBinaryEndToEnd builds the gateway, starts it on a free port exactly
// as the README does (plus a short keep-alive), and walks the README's curl
// transcript: success, a stream with keep-alives, 401, 429 with headers,
// 402 — every answer carrying a request ID — then stops it with SIGTERM.
func TestBinaryEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "gateway")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	cmd := exec.Command(bin, "-listen", "127.0.0.1:0", "-keepalive", "100ms")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	banner := bufio.NewReader(stdout)
	line, err := banner.ReadString('\n')
	require.NoError(t, err)
	m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(line)
	require.NotNil(t, m, line)
	base := m[1]
	go func() { _, _ = io.Copy(io.Discard, banner) }()

	do := func(key, body string, header ...string) *http.Response {
		req, err := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", strings.NewReader(body))
		require.NoError(t, err)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		assert.Regexp(t, `^[0-9a-f-]{36}$`, resp.Header.Get("X-Request-ID"))
		return resp
	}

	resp := do(demoKey, chatBody("fake-echo", "hello"))
	require.Equal(t, 200, resp.StatusCode)
	body, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(body), `"content":"You said: hello"`)

	resp = do(demoKey, chatBody("fake-echo", "stream please", `"stream":true`), HeaderFakeDelay, "1s") // ten keep-alive intervals: slack for a loaded machine
	require.Equal(t, 200, resp.StatusCode)
	body, _ = io.ReadAll(resp.Body)
	stream := string(body)
	assert.True(t, strings.HasPrefix(stream, ": PROCESSING\n\n"), "keep-alive before the first byte: %q", stream)
	assert.Contains(t, stream, `"content":"please"`)
	assert.True(t, strings.HasSuffix(stream, "data: [DONE]\n\n"))

	tollgatetest.AssertError(t, do("", chatBody("fake-echo", "hi")), 401, apierrors.CodeMissingAPIKey)

	for i := 0; i < 5; i++ {
		require.Equal(t, 200, do(trialKey, chatBody("fake-mini", "hi")).StatusCode)
	}
	resp = do(trialKey, chatBody("fake-mini", "hi"))
	tollgatetest.AssertError(t, resp, 429, apierrors.CodeRateLimitExceeded)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	assert.Equal(t, "5", resp.Header.Get("X-RateLimit-Limit"))
	assert.Equal(t, "0", resp.Header.Get("X-RateLimit-Remaining"))

	tollgatetest.AssertError(t, do(brokeKey, chatBody("fake-echo", "hi")), 402, apierrors.CodeInsufficientQuota)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		assert.NoError(t, err, "graceful shutdown exits 0")
		exited <- err
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway did not stop on SIGTERM")
	}
	assert.Contains(t, stderr.String(), `"msg":"stopped"`)
	assert.NotContains(t, stderr.String(), demoKey, "keys never reach the logs")
}
