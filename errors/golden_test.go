package errors_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	apierrors "github.com/tollgate/tollgate/errors"
)

// seedExamples is every JSON example in ../shared/seeds, with the *Error
// that must render to it.
var seedExamples = []struct {
	name    string
	dialect apierrors.Dialect
	err     *apierrors.Error
	ctx     apierrors.Context
	status  int
	want    string
}{
	// 000 ZenMux.
	{"zenmux/format", apierrors.ZenMux, apierrors.New(apierrors.CodeRateLimitExceeded), apierrors.Context{}, 429,
		`{"error":{"code":"429","type":"rate_limit","message":"Rate limit exceeded"}}`},
	{"zenmux/access_denied", apierrors.ZenMux, apierrors.New(apierrors.CodeAccessDenied), apierrors.Context{}, 403,
		`{"error":{"code":"403","type":"access_denied","message":"You have no permission to access this resource"}}`},
	{"zenmux/prompt_too_long", apierrors.ZenMux, apierrors.New(apierrors.CodePromptTooLong).WithMessage("Prompt is too long"), apierrors.Context{}, 413,
		`{"error":{"code":"413","type":"invalid_params","message":"Prompt is too long"}}`},
	{"zenmux/insufficient_credit", apierrors.ZenMux, apierrors.New(apierrors.CodeAccountOverdue), apierrors.Context{}, 402,
		`{"error":{"code":"402","type":"insufficient_credit","message":"Account overdue. To prevent abuse, a non-negative balance is required for all models (including free tiers)."}}`},
	{"zenmux/reject_no_credit", apierrors.ZenMux, apierrors.New(apierrors.CodeCreditRequired), apierrors.Context{}, 402,
		`{"error":{"code":"402","type":"reject_no_credit","message":"Credit required. To prevent abuse, a positive balance is required for this model."}}`},
	{"zenmux/quote_exceeded", apierrors.ZenMux, apierrors.New(apierrors.CodeQuotaExceeded).WithMessage(zenMuxQuotaMessage), apierrors.Context{}, 402,
		`{"error":{"code":"402","type":"quote_exceeded","message":"` + zenMuxQuotaMessage + `"}}`},
	{"zenmux/model_not_available", apierrors.ZenMux, apierrors.New(apierrors.CodeModelNotAvailable).WithMessage(zenMuxModelMessage), apierrors.Context{}, 404,
		`{"error":{"code":"404","type":"model_not_available","message":"` + zenMuxModelMessage + `"}}`},
	{"zenmux/rate_limit", apierrors.ZenMux, apierrors.New(apierrors.CodeRateLimitExceeded), apierrors.Context{}, 429,
		`{"error":{"code":"429","type":"rate_limit","message":"Rate limit exceeded"}}`},

	// 002 success/meta.
	{"meta/format", apierrors.Meta,
		(&apierrors.Error{Status: 400, Code: "error_code", Message: "Human-readable error message"}).WithParam("specific_field_name", "detailed_issue_description"),
		apierrors.Context{RequestID: "req_1234567890", Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}, 400,
		`{"success":false,"error":{"code":"ERROR_CODE","message":"Human-readable error message","details":{"field":"specific_field_name","issue":"detailed_issue_description"}},"meta":{"request_id":"req_1234567890","timestamp":"2024-01-01T00:00:00Z"}}`},

	// 003 typed.
	{"typed/format", apierrors.Typed, apierrors.New(apierrors.CodeInvalidRequest).WithMessage("Request body is malformed"),
		apierrors.Context{RequestID: "req_abc123xyz"}, 400,
		`{"error":{"code":"invalid_request","message":"Request body is malformed","type":"invalid_request_error","request_id":"req_abc123xyz"}}`},

	// 004 flat (agents API).
	{"flat/400", apierrors.Flat, apierrors.New(apierrors.CodeMissingRequiredField).WithMessage("Missing required field: endpointId"), apierrors.Context{}, 400,
		`{"error":"Bad Request","message":"Missing required field: endpointId","statusCode":400}`},
	{"flat/401", apierrors.Flat, apierrors.New(apierrors.CodeMissingAPIKey).WithMessage("No authorization header provided"), apierrors.Context{}, 401,
		`{"error":"Unauthorized","message":"No authorization header provided","statusCode":401}`},
	{"flat/403", apierrors.Flat, apierrors.New(apierrors.CodeInsufficientBalance).WithMessage("Your balance ($5.00) is insufficient for this task ($10.00). Please add credits."), apierrors.Context{}, 403,
		`{"error":"Insufficient balance","message":"Your balance ($5.00) is insufficient for this task ($10.00). Please add credits.","statusCode":403}`},
	{"flat/404", apierrors.Flat, apierrors.New(apierrors.CodeNotFound).WithMessage("Agent endpoint not found"), apierrors.Context{}, 404,
		`{"error":"Not Found","message":"Agent endpoint not found","statusCode":404}`},
	{"flat/429", apierrors.Flat, apierrors.New(apierrors.CodeRateLimitExceeded).WithMessage("You have exceeded the rate limit of 10 requests per minute").WithRetryAfter(45 * time.Second), apierrors.Context{}, 429,
		`{"error":"Rate limit exceeded","message":"You have exceeded the rate limit of 10 requests per minute","statusCode":429,"details":{"retryAfter":45}}`},
	{"flat/500", apierrors.Flat, apierrors.New(apierrors.CodeInternalError).WithMessage("An unexpected error occurred. Please try again."), apierrors.Context{}, 500,
		`{"error":"Internal Server Error","message":"An unexpected error occurred. Please try again.","statusCode":500}`},
	{"flat/503", apierrors.Flat, apierrors.New(apierrors.CodeServiceUnavailable).WithMessage("Service is temporarily unavailable. Please try again later."), apierrors.Context{}, 503,
		`{"error":"Service Unavailable","message":"Service is temporarily unavailable. Please try again later.","statusCode":503}`},
	{"flat/format", apierrors.Flat, (&apierrors.Error{Status: 400, Code: apierrors.CodeInvalidRequest, Message: "Detailed human-readable error message"}).WithDetail("field", "Additional context"), apierrors.Context{}, 400,
		`{"error":"Bad Request","message":"Detailed human-readable error message","statusCode":400,"details":{"field":"Additional context"}}`},
}

const (
	zenMuxQuotaMessage = "You have reached your subscription quota limit. Please wait for automatic quota refresh in the rolling time window, upgrade to a higher plan, or use a Pay-As-You-Go API Key for unlimited access. Learn more: https://zenmux.ai/docs/guide/subscription.html"
	zenMuxModelMessage = "The requested model is not included in your subscription plan. Please create a Pay-As-You-Go API Key to access this model, or check available models for your plan at https://zenmux.ai/docs/guide/subscription.html"
)

func TestSeedExamplesRenderExactly(t *testing.T) {
	for _, tc := range seedExamples {
		t.Run(tc.name, func(t *testing.T) {
			out := apierrors.Encode(tc.dialect, tc.err, tc.ctx)
			assert.Equal(t, tc.status, out.Status)
			assert.JSONEq(t, tc.want, string(out.Body))
			assert.Equal(t, "application/json", out.ContentType)
		})
	}
}

// The seed's stream examples: the agents API's chat stream error event and
// the task object's error member.
func TestSeedStreamExamples(t *testing.T) {
	at := time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)
	event, data := apierrors.EncodeStream(apierrors.Flat, apierrors.New(apierrors.CodeInsufficientBalance), apierrors.Context{Time: at})
	assert.Empty(t, event)
	assert.JSONEq(t, `{"type":"error","error":{"code":"INSUFFICIENT_BALANCE","message":"Insufficient balance to complete this request"},"timestamp":"2024-01-15T10:30:00.000Z"}`, string(data))

	event, data = apierrors.EncodeStream(apierrors.Anthropic, apierrors.New(apierrors.CodeOverloaded).WithMessage("Overloaded"), apierrors.Context{})
	assert.Equal(t, "error", event)
	assert.JSONEq(t, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, string(data))

	event, data = apierrors.EncodeStream(apierrors.OpenAI, apierrors.New(apierrors.CodeInternalError), apierrors.Context{})
	assert.Empty(t, event)
	assert.JSONEq(t, `{"error":{"message":"Internal server error","type":"server_error","param":null,"code":"internal_error"}}`, string(data))
}

func TestTaskErrorObject(t *testing.T) {
	e := apierrors.New(apierrors.CodeAgentError).WithMessage("Agent execution failed: Connection timeout").
		WithDetail("timeout", 30000).WithDetail("attemptedAt", "2024-01-15T10:30:00.000Z")
	b, err := apierrors.TaskError(e)
	require.NoError(t, err)
	assert.JSONEq(t, `{"code":"AGENT_ERROR","message":"Agent execution failed: Connection timeout","details":{"timeout":30000,"attemptedAt":"2024-01-15T10:30:00.000Z"}}`, string(b))
}

// Every code that appears in a seed document is spelled by some row of the
// catalogue in that seed's dialect.
func TestEverySeedCodeIsInTheCatalogue(t *testing.T) {
	seeds := map[apierrors.Dialect][]string{
		apierrors.ZenMux: {"invalid_params", "insufficient_credit", "reject_no_credit", "quote_exceeded", "access_denied",
			"safety_check_failed", "model_not_available", "invalid_model", "model_not_supported",
			"provider_unprocessable_entity_error", "rate_limit", "internal_server_error", "provider_api_error",
			"provider_error", "no_provider_available", "provider_internal_server_error"},
		apierrors.OpenAI: {"invalid_request", "bad_request_body", "read_request_body_failed", "convert_request_failed",
			"sensitive_words_detected", "prompt_blocked", "access_denied", "model_not_found", "invalid_api_type",
			"get_channel_failed", "channel:no_available_key", "channel:invalid_key", "channel:model_mapped_error",
			"channel:response_time_exceeded", "insufficient_user_quota", "pre_consume_token_quota_failed",
			"model_price_error", "count_token_failed", "do_request_failed", "bad_response", "bad_response_status_code",
			"empty_response", "read_response_body_failed", "json_marshal_failed", "query_data_error", "update_data_error"},
		apierrors.Meta: {"MISSING_API_KEY", "INVALID_API_KEY", "EXPIRED_API_KEY", "REVOKED_API_KEY", "INSUFFICIENT_PERMISSIONS",
			"ACCOUNT_SUSPENDED", "QUOTA_EXCEEDED", "INVALID_REQUEST", "MISSING_REQUIRED_FIELD", "INVALID_FIELD_VALUE",
			"UNSUPPORTED_MODEL", "INVALID_FILE_FORMAT", "FILE_TOO_LARGE", "RESOURCE_NOT_FOUND", "ENDPOINT_NOT_FOUND",
			"MODEL_NOT_FOUND", "RATE_LIMIT_EXCEEDED", "CONCURRENT_LIMIT_EXCEEDED", "INTERNAL_ERROR", "MODEL_UNAVAILABLE",
			"PROCESSING_ERROR", "SERVICE_UNAVAILABLE", "OVERLOADED", "PROMPT_TOO_LONG", "INVALID_TEMPERATURE",
			"INVALID_MAX_TOKENS", "INVALID_IMAGE_SIZE", "INVALID_IMAGE_QUALITY", "PROMPT_VIOLATION",
			// 004's task and chat-stream codes share the UPPER_SNAKE form.
			"AGENT_ERROR", "TIMEOUT", "INVALID_PARAMS", "CONNECTOR_ERROR", "RATE_LIMIT",
			"SESSION_NOT_FOUND", "INSUFFICIENT_BALANCE", "STREAM_ERROR"},
		apierrors.Typed: {"invalid_request", "authentication_error", "permission_error", "not_found", "conflict",
			"unprocessable_entity", "rate_limit_error", "insufficient_quota", "server_error", "bad_gateway",
			"service_unavailable", "gateway_timeout"},
		apierrors.Flat: {"Bad Request", "Unauthorized", "Insufficient balance", "Not Found", "Rate limit exceeded",
			"Internal Server Error", "Service Unavailable"},
	}
	for d, codes := range seeds {
		spelled := map[string]bool{}
		for _, c := range apierrors.Codes() {
			sp := apierrors.Spelling(d, apierrors.New(c))
			spelled[sp] = true
		}
		for _, c := range codes {
			assert.True(t, spelled[c], "%s: no catalogue row spells %q", d, c)
		}
	}
}
