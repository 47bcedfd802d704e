package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
)

// parsedRequest is a validated request body, shared by the layers below
// the validation middleware through the context.
type parsedRequest struct {
	model     string
	stream    bool
	maxOutput int64
	texts     []string // every message's text, for token counting
	lastUser  string
	usage     bool // stream_options.include_usage
	raw       []byte
}

type parsedKey struct{}

func parsedFrom(ctx context.Context) *parsedRequest {
	p, _ := ctx.Value(parsedKey{}).(*parsedRequest)
	return p
}

// wantsStream selects the requests whose stream the keep-alive middleware
// may commit early: those that asked for one.
func wantsStream(r *http.Request) bool {
	p := parsedFrom(r.Context())
	return p != nil && p.stream
}

// validate reads and checks the body of a chat (OpenAI) or messages
// (Anthropic) request, refuses models that do not exist or that the key may
// not use, records the model in the State, and hands the handler the
// parsed request and an unread copy of the body.
func (g *Gateway) validate(parse func([]byte) (*parsedRequest, error)) tollgate.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := readBody(w, r)
			if err != nil {
				apierrors.Write(w, r, err)
				return
			}
			p, err := parse(body)
			if err != nil {
				apierrors.Write(w, r, err)
				return
			}
			if _, ok := g.cfg.Models[p.model]; !ok {
				apierrors.Write(w, r, invalidParam("model", "Model %s is not valid", p.model))
				return
			}
			if pr := auth.PrincipalFrom(r.Context()); pr != nil && !pr.AllowsModel(p.model) {
				apierrors.Write(w, r, apierrors.New(apierrors.CodeModelNotAllowed))
				return
			}
			// The hold covers at most the model's max_output, so a request
			// may not ask for more; one that names no maximum gets the
			// model's, written into the body the upstream sees, so that an
			// upstream's own larger default cannot outrun the hold.
			limit := g.maxOutput(p.model)
			switch {
			case p.maxOutput > limit:
				apierrors.Write(w, r, invalidParam("max_tokens", "Parameter max_tokens is not valid: at most %d for %s", limit, p.model))
				return
			case p.maxOutput == 0:
				p.maxOutput = limit
				if g.proxy != nil {
					if body, err = withMaxTokens(body, limit); err != nil {
						apierrors.Write(w, r, err)
						return
					}
				}
			}
			if st := tollgate.StateFrom(r.Context()); st != nil {
				st.Model = p.model
			}
			p.raw = body
			r = r.WithContext(context.WithValue(r.Context(), parsedKey{}, p))
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			next.ServeHTTP(w, r)
		})
	}
}

func parseChat(body []byte) (*parsedRequest, error) {
	req, err := parseChatRequest(body)
	if err != nil {
		return nil, err
	}
	p := &parsedRequest{model: *req.Model, stream: req.stream(), maxOutput: req.maxOutput(), usage: req.includeUsage()}
	for _, m := range req.messages {
		p.texts = append(p.texts, m.text)
		if m.Role == "user" {
			p.lastUser = m.text
		}
	}
	return p, nil
}

// messagesRequest is the part of an Anthropic messages body the gateway reads.
type messagesRequest struct {
	Model     *string           `json:"model"`
	MaxTokens *int64            `json:"max_tokens"`
	Messages  []json.RawMessage `json:"messages"`
	System    json.RawMessage   `json:"system"`
	Stream    *bool             `json:"stream"`
}

// parseMessages validates an Anthropic messages body, with Anthropic's
// "field: problem" messages.
func parseMessages(body []byte) (*parsedRequest, error) {
	var req messagesRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, err
	}
	switch {
	case req.Model == nil || strings.TrimSpace(*req.Model) == "":
		return nil, invalidParam("model", "model: Field required")
	case req.MaxTokens == nil:
		return nil, invalidParam("max_tokens", "max_tokens: Field required")
	case *req.MaxTokens < 1:
		return nil, invalidParam("max_tokens", "max_tokens: Input should be greater than or equal to 1")
	case req.Messages == nil:
		return nil, invalidParam("messages", "messages: Field required")
	case len(req.Messages) == 0:
		return nil, invalidParam("messages", "messages: at least one message is required")
	}
	p := &parsedRequest{model: *req.Model, maxOutput: *req.MaxTokens, stream: req.Stream != nil && *req.Stream}
	if len(req.System) > 0 {
		text, err := contentText(req.System)
		if err != nil {
			return nil, invalidParam("system", "system: Input should be a valid string or list of content blocks")
		}
		p.texts = append(p.texts, text)
	}
	for i, raw := range req.Messages {
		var m chatMessage
		if err := json.Unmarshal(raw, &m); err != nil || (m.Role != "user" && m.Role != "assistant") {
			return nil, invalidParam("messages", "messages.%d: each message needs a role of user or assistant", i)
		}
		if len(m.Content) == 0 {
			return nil, invalidParam("messages", "messages.%d.content: Field required", i)
		}
		text, err := contentText(m.Content)
		if err != nil {
			return nil, invalidParam("messages", "messages.%d.content: Input should be a valid string or list of content blocks", i)
		}
		p.texts = append(p.texts, text)
		if m.Role == "user" {
			p.lastUser = text
		}
	}
	return p, nil
}

// withMaxTokens returns the JSON object body with "max_tokens" set to n,
// every other member kept as it was.
func withMaxTokens(body []byte, n int64) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, apierrors.New(apierrors.CodeBadRequestBody).WithMessage("Request body is not valid JSON").WithCause(err)
	}
	fields["max_tokens"] = json.RawMessage(strconv.FormatInt(n, 10))
	out, err := json.Marshal(fields)
	if err != nil {
		return nil, apierrors.New(apierrors.CodeBadRequestBody).WithCause(err)
	}
	return out, nil
}
