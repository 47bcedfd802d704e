package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	apierrors "github.com/tollgate/tollgate/errors"
)

// maxBodyBytes bounds a request body; larger bodies get a 413.
const maxBodyBytes = 4 << 20

// chatRequest is the part of an OpenAI chat-completions body the gateway
// reads. Pointers tell "absent" from "zero".
type chatRequest struct {
	Model               *string         `json:"model"`
	Messages            json.RawMessage `json:"messages"`
	Stream              *bool           `json:"stream"`
	StreamOptions       *streamOptions  `json:"stream_options"`
	N                   *int64          `json:"n"`
	Temperature         *float64        `json:"temperature"`
	MaxTokens           *int64          `json:"max_tokens"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens"`
	Usage               *struct {
		Include *bool `json:"include"`
	} `json:"usage"`
	IncludeReasoning *bool `json:"include_reasoning"`
	Reasoning        *struct {
		Exclude *bool `json:"exclude"`
	} `json:"reasoning"`

	messages []chatMessage
}

type streamOptions struct {
	IncludeUsage *bool `json:"include_usage"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	text    string
}

func (c *chatRequest) stream() bool { return c.Stream != nil && *c.Stream }
func (c *chatRequest) includeUsage() bool {
	return c.StreamOptions != nil && c.StreamOptions.IncludeUsage != nil && *c.StreamOptions.IncludeUsage
}

// maxOutput returns the requested output cap, or 0 for none.
func (c *chatRequest) maxOutput() int64 {
	switch {
	case c.MaxCompletionTokens != nil:
		return *c.MaxCompletionTokens
	case c.MaxTokens != nil:
		return *c.MaxTokens
	}
	return 0
}

func invalidParam(param, format string, args ...any) *apierrors.Error {
	return apierrors.Newf(apierrors.CodeInvalidParams, format, args...).WithParam(param, "")
}

// readBody reads a bounded JSON body: too large is a 413, unreadable a 400.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, apierrors.New(apierrors.CodeRequestTooLarge).WithMessage(fmt.Sprintf("Request body exceeds %d bytes", maxBodyBytes))
	case err != nil:
		return nil, apierrors.New(apierrors.CodeReadRequestBodyFailed).WithCause(err)
	}
	return body, nil
}

// decodeJSON decodes body into v and turns every failure into a clear 400:
// malformed JSON into bad_request_body, a field of the wrong type into
// invalid_params naming the field.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the JSON object")
	}
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return invalidParam(typeErr.Field, "Parameter %s is not valid", typeErr.Field).WithCause(err)
	}
	return apierrors.New(apierrors.CodeBadRequestBody).WithMessage("Request body is not valid JSON").WithCause(err)
}

// parseChatRequest decodes and validates a chat-completions body with the
// messages ZenMux uses for invalid_params.
func parseChatRequest(body []byte) (*chatRequest, error) {
	var req chatRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, err
	}
	if req.Model == nil || strings.TrimSpace(*req.Model) == "" {
		return nil, invalidParam("model", "Parameter model is required")
	}
	if err := req.parseMessages(); err != nil {
		return nil, err
	}
	switch {
	case req.StreamOptions != nil && !req.stream():
		return nil, invalidParam("stream_options", "Parameter stream_options is not supported while stream is false")
	case req.N != nil && *req.N > 1:
		return nil, invalidParam("n", "Parameter n grater than 1 is not supported")
	case req.Temperature != nil && *req.Temperature < 0:
		return nil, invalidParam("temperature", "Parameter temperature is not valid")
	case req.maxOutput() < 0:
		return nil, invalidParam("max_tokens", "Parameter max_tokens is not valid")
	case req.includeUsage() && req.Usage != nil && req.Usage.Include != nil:
		return nil, invalidParam("stream_options.include_usage", "Parameter stream_options.include_usage conflict with usage.include")
	case req.IncludeReasoning != nil && req.Reasoning != nil && req.Reasoning.Exclude != nil:
		return nil, invalidParam("include_reasoning", "Parameter include_reasoning conflict with reasoning.exclude")
	}
	return &req, nil
}

func (c *chatRequest) parseMessages() error {
	raw := bytes.TrimSpace(c.Messages)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return invalidParam("messages", "Parameter messages is required")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return invalidParam("messages", "Parameter messages is not valid").WithCause(err)
	}
	if len(items) == 0 {
		return invalidParam("messages", "Parameter messages can not be empty")
	}
	c.messages = make([]chatMessage, 0, len(items))
	for _, item := range items {
		if bytes.Equal(bytes.TrimSpace(item), []byte("null")) {
			return invalidParam("messages", "Parameter messages can not contain null elements")
		}
		var m chatMessage
		if err := json.Unmarshal(item, &m); err != nil {
			return invalidParam("messages", "Parameter messages is not valid").WithCause(err)
		}
		if len(m.Content) == 0 {
			return invalidParam("messages", "Parameter messages can not contain elements without content")
		}
		text, err := contentText(m.Content)
		if err != nil {
			return invalidParam("messages", "Parameter messages is not valid").WithCause(err)
		}
		m.text = text
		c.messages = append(c.messages, m)
	}
	return nil
}

// contentText flattens a message's content: a string, null, or an array of
// parts of which the text parts count.
func contentText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" || p.Type == "input_text" {
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}
