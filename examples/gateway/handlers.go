package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/sse"
)

// fakeStart applies the fake model's knobs before its first byte: the
// delay (cut short when the client leaves) and an upstream failure. It
// reports false when the request is over.
func (g *Gateway) fakeStart(w http.ResponseWriter, r *http.Request) bool {
	delay, err := fakeDelay(r.Header.Get(HeaderFakeDelay))
	if err != nil {
		apierrors.Write(w, r, invalidParam(HeaderFakeDelay, "%s", err.Error()))
		return false
	}
	if delay > 0 {
		t := g.clock.NewTimer(delay)
		select {
		case <-t.C():
		case <-r.Context().Done():
			t.Stop()
			return false
		}
	}
	if e, failed := fakeFailure(r.Header.Get(HeaderFakeFail)); failed {
		apierrors.Write(w, r, e)
		return false
	}
	return true
}

// answer is what both routes do before they speak their format: hand
// the request to the upstream in proxy mode, or apply the fake model's
// knobs and compute its reply and usage. It reports false when the
// request has been answered already.
func (g *Gateway) answer(w http.ResponseWriter, r *http.Request) (p *parsedRequest, words []string, truncated bool, usage tollgate.Usage, ok bool) {
	if g.proxy != nil {
		g.proxy.ServeHTTP(w, r)
		return nil, nil, false, usage, false
	}
	p = parsedFrom(r.Context())
	if !g.fakeStart(w, r) {
		return nil, nil, false, usage, false
	}
	words, truncated = reply(p.lastUser, p.maxOutput)
	usage = tollgate.Usage{InputTokens: promptTokens(p.texts), OutputTokens: outputTokens(words)}
	return p, words, truncated, usage, true
}

func midStreamFailure(r *http.Request) bool {
	return strings.EqualFold(strings.TrimSpace(r.Header.Get(HeaderFakeFail)), "midstream")
}

// chat serves POST /v1/chat/completions.
func (g *Gateway) chat(w http.ResponseWriter, r *http.Request) {
	p, words, truncated, usage, ok := g.answer(w, r)
	if !ok {
		return
	}
	finish := "stop"
	if truncated {
		finish = "length"
	}
	id, created := "chatcmpl-"+tollgate.RequestIDFrom(r.Context()), g.clock.Now().Unix()
	if !p.stream {
		quota.Report(r.Context(), usage)
		writeJSON(w, http.StatusOK, map[string]any{
			"id": id, "object": "chat.completion", "created": created, "model": p.model,
			"choices": []any{map[string]any{
				"index": 0, "message": map[string]any{"role": "assistant", "content": strings.Join(words, "")}, "finish_reason": finish,
			}},
			"usage": openAIUsage(usage),
		})
		return
	}
	sw, err := sse.NewWriter(w, r)
	if err != nil {
		apierrors.Write(w, r, apierrors.New(apierrors.CodeStreamError).WithCause(err))
		return
	}
	defer sw.Close()
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": p.model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	sent := tollgate.Usage{InputTokens: usage.InputTokens}
	// Report as the stream goes, so a client that leaves is charged for what
	// it was sent.
	quota.Report(r.Context(), sent)
	if sw.SendJSON("", chunk(map[string]any{"role": "assistant", "content": ""}, nil)) != nil {
		return
	}
	for i, word := range words {
		if sw.SendJSON("", chunk(map[string]any{"content": word}, nil)) != nil {
			return
		}
		sent.OutputTokens += countTokens(word)
		quota.Report(r.Context(), sent)
		if i == 0 && midStreamFailure(r) {
			_ = sw.Error(apierrors.New(apierrors.CodeProviderError))
			return
		}
	}
	if sw.SendJSON("", chunk(map[string]any{}, finish)) != nil {
		return
	}
	if p.usage {
		_ = sw.SendJSON("", map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": p.model,
			"choices": []any{}, "usage": openAIUsage(usage)})
	}
	_ = sw.Done()
}

func openAIUsage(u tollgate.Usage) map[string]int64 {
	return map[string]int64{"prompt_tokens": u.InputTokens, "completion_tokens": u.OutputTokens, "total_tokens": u.Tokens()}
}

// messages serves POST /v1/messages, Anthropic's API.
func (g *Gateway) messages(w http.ResponseWriter, r *http.Request) {
	p, words, truncated, usage, ok := g.answer(w, r)
	if !ok {
		return
	}
	stop := "end_turn"
	if truncated {
		stop = "max_tokens"
	}
	id := "msg_" + strings.ReplaceAll(tollgate.RequestIDFrom(r.Context()), "-", "")
	if !p.stream {
		quota.Report(r.Context(), usage)
		writeJSON(w, http.StatusOK, map[string]any{
			"id": id, "type": "message", "role": "assistant", "model": p.model,
			"content":     []any{map[string]any{"type": "text", "text": strings.Join(words, "")}},
			"stop_reason": stop, "stop_sequence": nil,
			"usage": map[string]int64{"input_tokens": usage.InputTokens, "output_tokens": usage.OutputTokens},
		})
		return
	}
	sw, err := sse.NewWriter(w, r)
	if err != nil {
		apierrors.Write(w, r, apierrors.New(apierrors.CodeStreamError).WithCause(err))
		return
	}
	defer sw.Close()
	events := []struct {
		name string
		data any
	}{
		{"message_start", map[string]any{"type": "message_start", "message": map[string]any{
			"id": id, "type": "message", "role": "assistant", "model": p.model, "content": []any{},
			"stop_reason": nil, "stop_sequence": nil,
			"usage": map[string]int64{"input_tokens": usage.InputTokens, "output_tokens": 1}}}},
		{"content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}}},
	}
	for _, ev := range events {
		if sw.SendJSON(ev.name, ev.data) != nil {
			return
		}
	}
	sent := tollgate.Usage{InputTokens: usage.InputTokens}
	quota.Report(r.Context(), sent)
	for i, word := range words {
		if sw.SendJSON("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
			"delta": map[string]any{"type": "text_delta", "text": word}}) != nil {
			return
		}
		sent.OutputTokens += countTokens(word)
		quota.Report(r.Context(), sent)
		if i == 0 && midStreamFailure(r) {
			_ = sw.Error(apierrors.New(apierrors.CodeOverloaded))
			return
		}
	}
	_ = sw.SendJSON("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	_ = sw.SendJSON("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil}, "usage": map[string]int64{"output_tokens": usage.OutputTokens}})
	_ = sw.SendJSON("message_stop", map[string]any{"type": "message_stop"})
	_ = sw.Done()
}

// models serves GET /v1/models: the models the caller's key may use.
func (g *Gateway) models(w http.ResponseWriter, r *http.Request) {
	p := auth.PrincipalFrom(r.Context())
	names := make([]string, 0, len(g.cfg.Models))
	for name := range g.cfg.Models {
		if p == nil || p.AllowsModel(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	data := make([]any, 0, len(names))
	for _, name := range names {
		data = append(data, map[string]any{"id": name, "object": "model", "created": 0, "owned_by": "tollgate"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
