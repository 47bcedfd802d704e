package demo

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
)

// maxBody bounds the request body Complete reads.
const maxBody = 1 << 20

// ChatRequest is the part of an OpenAI chat-completion request the demo
// model reads.
type ChatRequest struct {
	Model     string    `json:"model"`
	Messages  []Message `json:"messages"`
	MaxTokens int64     `json:"max_tokens,omitempty"`
	Stream    bool      `json:"stream,omitempty"`
}

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Completion is an OpenAI chat-completion response.
type Completion struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []Choice `json:"choices"`
	Usage   Usage    `json:"usage"`
}

// Choice is one answer of a Completion.
type Choice struct {
	Index        int     `json:"index"`
	Message      Message `json:"message"`
	FinishReason string  `json:"finish_reason"`
}

// Usage is a Completion's token count, in the OpenAI shape that the quota
// layer reads from the response body.
type Usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

// Complete answers the chat-completion request r with the demo model: the
// reply repeats the last message, cut to max_tokens words, and a token is a
// word. The completion's ID is derived from the request ID. A body that is
// not a valid request yields an *apierrors.Error (400) for the caller to
// write with apierrors.Write. It is safe for concurrent use.
func (d *Demo) Complete(r *http.Request) (*Completion, error) {
	var req ChatRequest
	if r.Body == nil || json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req) != nil {
		return nil, apierrors.New(apierrors.CodeInvalidRequest).WithMessage("The request body must be a JSON chat-completion request")
	}
	switch {
	case req.Model == "":
		return nil, apierrors.New(apierrors.CodeMissingRequiredField).WithMessage("Parameter model is required").WithParam("model", "required")
	case len(req.Messages) == 0:
		return nil, apierrors.New(apierrors.CodeMissingRequiredField).WithMessage("Parameter messages is required").WithParam("messages", "required")
	case req.Stream:
		return nil, apierrors.New(apierrors.CodeInvalidParams).WithMessage("This example does not stream; see examples/gateway").WithParam("stream", "unsupported")
	case req.MaxTokens < 0:
		return nil, apierrors.New(apierrors.CodeInvalidMaxTokens).WithParam("max_tokens", "negative")
	}
	var prompt int64
	for _, m := range req.Messages {
		prompt += int64(len(strings.Fields(m.Content)))
	}
	words := strings.Fields(req.Messages[len(req.Messages)-1].Content)
	finish := "stop"
	if req.MaxTokens > 0 && int64(len(words)) > req.MaxTokens {
		words, finish = words[:req.MaxTokens], "length"
	}
	return &Completion{
		ID:      "chatcmpl-" + tollgate.RequestIDFrom(r.Context()),
		Object:  "chat.completion",
		Created: d.Clock.Now().Unix(),
		Model:   req.Model,
		Choices: []Choice{{Message: Message{Role: "assistant", Content: strings.Join(words, " ")}, FinishReason: finish}},
		Usage:   Usage{PromptTokens: prompt, CompletionTokens: int64(len(words)), TotalTokens: prompt + int64(len(words))},
	}, nil
}

// Chat returns the net/http handler of POST /v1/chat/completions: Complete,
// written as JSON, or its error in the request's dialect.
func (d *Demo) Chat() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := d.Complete(r)
		if err != nil {
			apierrors.Write(w, r, err)
			return
		}
		writeJSON(w, c)
	})
}

// Identity is what GET /v1/me answers: who the caller is, as the auth layer
// found it, and the ID of this request.
type Identity struct {
	KeyID     string `json:"key_id"`
	Account   string `json:"account"`
	Plan      string `json:"plan"`
	RequestID string `json:"request_id"`
}

// IdentityOf returns the identity of an authenticated request from the
// auth.Principal in its context, or auth.ErrUnauthenticated when the request
// did not pass the auth layer.
func IdentityOf(r *http.Request) (Identity, error) {
	p := auth.PrincipalFrom(r.Context())
	if p == nil {
		return Identity{}, auth.ErrUnauthenticated
	}
	return Identity{KeyID: p.KeyID, Account: p.Account, Plan: p.Plan, RequestID: tollgate.RequestIDFrom(r.Context())}, nil
}

// Me returns the net/http handler of GET /v1/me: IdentityOf as JSON.
func Me() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := IdentityOf(r)
		if err != nil {
			apierrors.Write(w, r, err)
			return
		}
		writeJSON(w, id)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
