package auth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestModelScanner(t *testing.T) {
	long := strings.Repeat("x", maxModelCapture+1)
	tests := []struct {
		name   string
		body   string
		status modelStatus
		model  string
	}{
		{"first member", `{"model":"gpt-4o","messages":[]}`, modelFound, "gpt-4o"},
		{"after messages", `{"messages":[{"role":"user","content":"say \"model\": \"x\""}],"model":"gpt-4o"}`, modelFound, "gpt-4o"},
		{"whitespace everywhere", " \n{ \"model\" \t:\r\n \"gpt-4o\" } ", modelFound, "gpt-4o"},
		{"escaped value", `{"model":"gpt\u002d4o\/x"}`, modelFound, "gpt-4o/x"},
		{"escaped key", `{"mod\u0065l":"gpt-4o"}`, modelFound, "gpt-4o"},
		{"upper-case key", `{"MODEL":"gpt-4o"}`, modelFound, "gpt-4o"},
		{"nested model ignored", `{"metadata":{"model":"fake"},"tools":[{"model":"x"}],"model":"real"}`, modelFound, "real"},
		{"model as a value is not a key", `{"name":"model","x":"model"}`, modelAbsent, ""},
		{"escaped quote in key", `{"a\"model":"x","model":"m"}`, modelFound, "m"},
		{"backslash before quote in value", `{"a":"x\\","model":"m"}`, modelFound, "m"},
		{"similar keys", `{"models":"a","model_id":"b","mode":"c"}`, modelAbsent, ""},
		{"no model", `{"messages":[]}`, modelAbsent, ""},
		{"empty object", `{}`, modelAbsent, ""},
		{"empty model", `{"model":""}`, modelFound, ""},
		{"duplicate", `{"model":"a","model":"b"}`, modelDuplicate, ""},
		{"duplicate in another case", `{"model":"a","Model":"b"}`, modelDuplicate, ""},
		{"duplicate escaped", `{"model":"a","\u006dodel":"b"}`, modelDuplicate, ""},
		{"null model", `{"model":null}`, modelInvalid, ""},
		{"number model", `{"model":4}`, modelInvalid, ""},
		{"object model", `{"model":{"id":"x"}}`, modelInvalid, ""},
		{"overlong model", `{"model":"` + long + `"}`, modelInvalid, ""},
		{"bad escape", `{"model":"a\x"}`, modelInvalid, ""},
		{"array body", `[{"model":"x"}]`, modelInvalid, ""},
		{"form body", `model=gpt-4o`, modelInvalid, ""},
		{"truncated", `{"messages":[`, modelPending, ""},
		{"truncated value", `{"model":"gpt`, modelPending, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var whole modelScanner
			whole.feed([]byte(tt.body))
			assert.Equal(t, tt.status, whole.status)
			if tt.status == modelFound {
				assert.Equal(t, tt.model, whole.model)
			}

			var bytewise modelScanner
			for i := 0; i < len(tt.body); i++ {
				bytewise.feed([]byte{tt.body[i]})
			}
			assert.Equal(t, whole.status, bytewise.status, "byte by byte")
			assert.Equal(t, whole.model, bytewise.model, "byte by byte")
		})
	}
}

func FuzzModelScanner(f *testing.F) {
	f.Add(`{"model":"gpt-4o","messages":[]}`, 3)
	f.Add(`{"mod\u0065l":"a","MODEL":"b"}`, 1)
	f.Add(`{"a":"\\\"","model":"m"}`, 7)
	f.Fuzz(func(t *testing.T, body string, split int) {
		var whole, parts modelScanner
		whole.feed([]byte(body))
		if split < 0 {
			split = -split
		}
		if len(body) > 0 {
			split %= len(body) + 1
		} else {
			split = 0
		}
		parts.feed([]byte(body[:split]))
		parts.feed([]byte(body[split:]))
		assert.Equal(t, whole.status, parts.status)
		assert.Equal(t, whole.model, parts.model)
		assert.LessOrEqual(t, len(whole.model), maxModelCapture*3)
	})
}
