package quota_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/quota"
)

// sseWrite writes one event and flushes it.
func sseWrite(w http.ResponseWriter, event, data string) {
	if event != "" {
		_, _ = fmt.Fprintf(w, "event: %s\n", event)
	}
	_, _ = fmt.Fprintf(w, "data: %s\n\n", data)
	_ = http.NewResponseController(w).Flush()
}

// streamRequest starts a streamed chat request against srv.
func streamRequest(t *testing.T, ctx context.Context, srv *httptest.Server, account string) (*http.Response, *bufio.Reader) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-test","max_tokens":200,"stream":true,"messages":[{"role":"user","content":"Hi"}]}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Account", account)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	return resp, bufio.NewReader(resp.Body)
}

// readData returns the data of the next event, skipping event lines.
func readData(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	for {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		if data, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "data: "); ok {
			return data
		}
	}
}

// An OpenAI-style stream whose last chunk carries the usage: each chunk
// reaches the client before the next is written (nothing is buffered), and
// the final usage is what is charged.
func TestStreamSettlesFinalUsageChunk(t *testing.T) {
	hs := newHarness(t)
	hs.credit("acct", 1_000_000)
	next := make(chan struct{})
	srv := httptest.NewServer(hs.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		sseWrite(w, "", `{"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"}}],"usage":null}`)
		<-next // the client has the first chunk while we hold the second
		sseWrite(w, "", `{"id":"c1","choices":[{"index":0,"delta":{"content":"lo"}}],"usage":null}`)
		sseWrite(w, "", `{"id":"c1","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":7,"total_tokens":27}}`)
		sseWrite(w, "", `[DONE]`)
	})))
	defer srv.Close()

	resp, br := streamRequest(t, t.Context(), srv, "acct")
	defer resp.Body.Close()
	assert.Contains(t, readData(t, br), `"Hel"`)
	close(next)
	assert.Contains(t, readData(t, br), `"lo"`)
	assert.Contains(t, readData(t, br), `"usage":{"prompt_tokens":20`)
	assert.Equal(t, "[DONE]", readData(t, br))

	c := hs.waitCharge()
	assert.Equal(t, quota.Observed, c.Basis)
	assert.Equal(t, int64(20), c.Usage.InputTokens)
	assert.Equal(t, int64(7), c.Usage.OutputTokens)
	assert.Equal(t, int64(20*10+7*30), c.Cost)
	assert.Equal(t, quota.Funds{Balance: 1_000_000 - 410}, hs.funds("acct"))
}

// anthropicStream emits message_start, then a delta and the cumulative
// message_delta usage per chunk, waiting for proceed between chunks and
// returning when the client is gone.
func anthropicStream(chunks int, proceed <-chan struct{}, done chan<- int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		sseWrite(w, "message_start", `{"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":20,"output_tokens":1}}}`)
		sent := 0
		defer func() { done <- sent }()
		for k := 1; k <= chunks; k++ {
			sseWrite(w, "content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"word "}}`)
			sseWrite(w, "message_delta", fmt.Sprintf(`{"type":"message_delta","delta":{},"usage":{"output_tokens":%d}}`, 5*k))
			sent = k
			select {
			case <-proceed:
			case <-r.Context().Done():
				return
			}
		}
	}
}

// The client cancels after n chunks: the handler stops, and the request is
// settled exactly once, for the usage the stream showed so far, on a
// context the cancellation does not reach.
func TestStreamClientDisconnectSettlesOnce(t *testing.T) {
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprint(n, " chunks"), func(t *testing.T) {
			hs := newHarness(t)
			hs.credit("acct", 1_000_000)
			cl := &countingLedger{Ledger: hs.ledger}
			hs.use = cl
			proceed, done := make(chan struct{}), make(chan int, 1)
			srv := httptest.NewServer(hs.handler(anthropicStream(10, proceed, done)))
			defer srv.Close()

			ctx, cancel := context.WithCancel(t.Context())
			resp, br := streamRequest(t, ctx, srv, "acct")
			assert.Contains(t, readData(t, br), "message_start")
			for k := 1; k <= n; k++ {
				readData(t, br)
				assert.Contains(t, readData(t, br), fmt.Sprintf(`"output_tokens":%d`, 5*k))
				if k < n {
					proceed <- struct{}{}
				}
			}
			cancel()
			_ = resp.Body.Close()
			assert.Equal(t, n, <-done, "the handler stopped after the client left")

			c := hs.waitCharge()
			assert.Equal(t, quota.Observed, c.Basis)
			assert.Equal(t, int64(20*10+5*int64(n)*30), c.Cost)
			assert.Equal(t, int64(1), cl.settles.Load(), "settled exactly once")
			assert.Zero(t, cl.releases.Load())
			assert.Equal(t, "", cl.settleCtxErr.Load(), "settled on a detached context")
			assert.Equal(t, 1, hs.chargeCount())
			assert.Equal(t, quota.Funds{Balance: 1_000_000 - c.Cost}, hs.funds("acct"))
		})
	}
}

// A stream without any usage, cut by the client: the MissingUsage policy
// decides, once.
func TestStreamDisconnectWithoutUsage(t *testing.T) {
	body := `{"model":"gpt-test","max_tokens":200,"stream":true,"messages":[{"role":"user","content":"Hi"}]}`
	input := inputEstimate(body)
	for _, c := range []struct {
		policy quota.MissingUsage
		basis  quota.Basis
		cost   int64
	}{
		{quota.ChargeEstimate, quota.Estimated, input*10 + 200*30},
		{quota.ChargeInput, quota.InputOnly, input * 10},
	} {
		t.Run(c.basis.String(), func(t *testing.T) {
			hs := newHarness(t)
			hs.credit("acct", 1_000_000)
			cl := &countingLedger{Ledger: hs.ledger}
			hs.use = cl
			done := make(chan struct{})
			srv := httptest.NewServer(hs.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(done)
				w.Header().Set("Content-Type", "text/event-stream")
				sseWrite(w, "", `{"choices":[{"delta":{"content":"Hi"}}]}`)
				<-r.Context().Done()
			}), quota.WithMissingUsage(c.policy)))
			defer srv.Close()
			ctx, cancel := context.WithCancel(t.Context())
			resp, br := streamRequest(t, ctx, srv, "acct")
			readData(t, br)
			cancel()
			_ = resp.Body.Close()
			<-done
			ch := hs.waitCharge()
			assert.Equal(t, c.basis, ch.Basis)
			assert.Equal(t, c.cost, ch.Cost)
			assert.Equal(t, int64(1), cl.settles.Load())
			assert.Equal(t, 1_000_000-c.cost, hs.funds("acct").Balance)
		})
	}
}

// An Anthropic stream cut after message_start, before any message_delta:
// the input it reported is exact, its output count (1) only provisional.
// The request is charged the observed input and, for output, what the
// MissingUsage policy says, never less than the count seen.
func TestStreamCutBeforeFinalUsage(t *testing.T) {
	for _, c := range []struct {
		name   string
		policy quota.MissingUsage
		output int64
	}{
		{"charge estimate", quota.ChargeEstimate, 200}, // the request's max_tokens
		{"charge input", quota.ChargeInput, 1},         // the provisional count
	} {
		t.Run(c.name, func(t *testing.T) {
			hs := newHarness(t)
			hs.credit("acct", 1_000_000)
			cl := &countingLedger{Ledger: hs.ledger}
			hs.use = cl
			done := make(chan struct{})
			srv := httptest.NewServer(hs.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(done)
				w.Header().Set("Content-Type", "text/event-stream")
				sseWrite(w, "message_start", `{"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":20,"output_tokens":1}}}`)
				sseWrite(w, "content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"word "}}`)
				<-r.Context().Done()
			}), quota.WithMissingUsage(c.policy)))
			defer srv.Close()
			ctx, cancel := context.WithCancel(t.Context())
			resp, br := streamRequest(t, ctx, srv, "acct")
			assert.Contains(t, readData(t, br), "message_start")
			readData(t, br)
			cancel()
			_ = resp.Body.Close()
			<-done

			ch := hs.waitCharge()
			assert.Equal(t, quota.Partial, ch.Basis)
			assert.Equal(t, "partial", ch.Basis.String())
			assert.Equal(t, int64(20), ch.Usage.InputTokens)
			assert.Equal(t, c.output, ch.Usage.OutputTokens)
			assert.Equal(t, 20*10+c.output*30, ch.Cost)
			assert.Equal(t, int64(1), cl.settles.Load(), "settled exactly once")
			assert.Equal(t, quota.Funds{Balance: 1_000_000 - ch.Cost}, hs.funds("acct"))
		})
	}
}
