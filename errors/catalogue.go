package errors

import "strings"

// spelling is how one dialect writes one code: the code and type fields of
// its envelope and, where the platform uses a different status for the same
// condition, that status. Empty fields fall back to the dialect's defaults.
type spelling struct {
	code   string
	kind   string
	status int
}

// row is one line of the catalogue: a canonical code, its status and default
// message, and a cell per dialect.
type row struct {
	code    Code
	status  int
	message string
	param   string
	spell   [numDialects]spelling
}

type cell func(*row)

func oa(code, kind string) cell {
	return func(r *row) { r.spell[OpenAI] = spelling{code: code, kind: kind} }
}
func an(kind string, status int) cell {
	return func(r *row) { r.spell[Anthropic] = spelling{kind: kind, status: status} }
}
func zm(kind string, status int) cell {
	return func(r *row) { r.spell[ZenMux] = spelling{kind: kind, status: status} }
}
func mt(code string, status int) cell {
	return func(r *row) { r.spell[Meta] = spelling{code: code, status: status} }
}
func ty(code, kind string) cell {
	return func(r *row) { r.spell[Typed] = spelling{code: code, kind: kind} }
}
func fl(title string, status int) cell {
	return func(r *row) { r.spell[Flat] = spelling{kind: title, status: status} }
}
func param(p string) cell { return func(r *row) { r.param = p } }

func def(code Code, status int, message string, cells ...cell) row {
	r := row{code: code, status: status, message: message}
	for _, c := range cells {
		c(&r)
	}
	return r
}

// catalogue is the table: a row per canonical code, a cell per dialect.
// Adding a code is adding a row; adding a dialect is adding a cell type and
// an encoder.
var catalogue = []row{
	// 400
	def(CodeInvalidRequest, 400, "The request was invalid", zm("invalid_params", 0), ty("invalid_request", "invalid_request_error")),
	def(CodeInvalidParams, 400, "Invalid request parameters", zm("invalid_params", 0), mt("INVALID_PARAMS", 0)),
	def(CodeBadRequestBody, 400, "Malformed request body", zm("invalid_params", 0)),
	def(CodeReadRequestBodyFailed, 400, "Failed to read request body", zm("invalid_params", 0)),
	def(CodeConvertRequestFailed, 400, "Request conversion failed", zm("invalid_params", 0)),
	def(CodeSensitiveWordsDetected, 400, "Sensitive content detected", zm("safety_check_failed", 403)),
	def(CodePromptBlocked, 400, "Prompt was blocked", zm("safety_check_failed", 403)),
	def(CodeInvalidAPIType, 400, "Unsupported API type", zm("model_not_supported", 404)),
	def(CodeMissingRequiredField, 400, "Required field is missing", zm("invalid_params", 0)),
	def(CodeInvalidFieldValue, 400, "Field value is invalid", zm("invalid_params", 0)),
	def(CodeUnsupportedModel, 400, "Model is not supported", zm("model_not_supported", 404), param("model")),
	def(CodeInvalidFileFormat, 400, "File format is not supported", zm("invalid_params", 0)),
	def(CodeFileTooLarge, 400, "File size exceeds limit", zm("invalid_params", 0)),
	def(CodePromptTooLong, 400, "Prompt exceeds maximum length", param("prompt"),
		zm("invalid_params", 413), oa("context_length_exceeded", ""), an("request_too_large", 413)),
	def(CodeInvalidTemperature, 400, "Temperature must be between 0 and 2", param("temperature"), zm("invalid_params", 0)),
	def(CodeInvalidMaxTokens, 400, "Max tokens must be positive", param("max_tokens"), zm("invalid_params", 0)),
	def(CodeInvalidImageSize, 400, "Image size is not supported", param("size"), zm("invalid_params", 0)),
	def(CodeInvalidImageQuality, 400, "Image quality is not supported", param("quality"), zm("invalid_params", 0)),
	def(CodePromptViolation, 400, "Prompt violates content policy", param("prompt"), zm("safety_check_failed", 403)),
	def(CodeRequestTooLarge, 413, "Request body is too large", zm("invalid_params", 0)),
	def(CodeMethodNotAllowed, 405, "Method not allowed"),
	def(CodeConflict, 409, "Resource conflict"),
	def(CodeUnprocessableEntity, 422, "Invalid request parameters"),

	// 401
	def(CodeAuthenticationError, 401, "API key invalid or missing", zm("access_denied", 403)),
	def(CodeMissingAPIKey, 401, "API key is required", zm("access_denied", 403)),
	def(CodeInvalidAPIKey, 401, "The provided API key is invalid", zm("access_denied", 403)),
	def(CodeExpiredAPIKey, 401, "The API key has expired", zm("access_denied", 403)),
	def(CodeRevokedAPIKey, 401, "The API key has been revoked", zm("access_denied", 403)),

	// 403
	def(CodeAccessDenied, 403, "You have no permission to access this resource"),
	def(CodePermissionError, 403, "Insufficient API key permissions", zm("access_denied", 0)),
	def(CodeInsufficientPermissions, 403, "Insufficient permissions for this operation", zm("access_denied", 0)),
	def(CodeAccountSuspended, 403, "Account has been suspended", zm("access_denied", 0)),
	def(CodeModelNotAllowed, 403, "This API key is not allowed to use the requested model", param("model"), zm("access_denied", 0)),
	def(CodeIPNotAllowed, 403, "Requests from this IP address are not allowed for this API key", zm("access_denied", 0)),
	def(CodeSafetyCheckFailed, 403, "Upstream safety policy triggered", zm("safety_check_failed", 0)),

	// 402
	def(CodeAccountOverdue, 402, "Account overdue. To prevent abuse, a non-negative balance is required for all models (including free tiers).",
		zm("insufficient_credit", 0), ty("insufficient_quota", ""), fl("Insufficient balance", 403)),
	def(CodeCreditRequired, 402, "Credit required. To prevent abuse, a positive balance is required for this model.",
		zm("reject_no_credit", 0), ty("insufficient_quota", ""), fl("Insufficient balance", 403)),
	def(CodeInsufficientBalance, 402, "Insufficient balance to complete this request",
		zm("reject_no_credit", 0), ty("insufficient_quota", ""), fl("Insufficient balance", 403), oa("insufficient_quota", "insufficient_quota")),
	def(CodeInsufficientQuota, 402, "Account balance is insufficient to complete the request", zm("reject_no_credit", 0), fl("Insufficient balance", 403)),
	def(CodeQuotaExceeded, 402, "You have reached your subscription quota limit. Please wait for the quota to refresh, upgrade your plan, or use a pay-as-you-go key.",
		zm("quote_exceeded", 0), mt("QUOTA_EXCEEDED", 403)),
	def(CodeInsufficientUserQuota, 403, "Insufficient quota", zm("reject_no_credit", 402)),
	def(CodePreConsumeTokenQuotaFailed, 403, "Quota pre-deduction failed", zm("reject_no_credit", 402)),

	// 404
	def(CodeNotFound, 404, "Resource not found"),
	def(CodeResourceNotFound, 404, "Resource not found"),
	def(CodeEndpointNotFound, 404, "Endpoint not found"),
	def(CodeModelNotFound, 404, "Model not found", param("model"), zm("invalid_model", 0)),
	def(CodeInvalidModel, 404, "Model does not exist", param("model")),
	def(CodeModelNotAvailable, 404, "The requested model is not included in your subscription plan.", param("model"), zm("model_not_available", 0)),
	def(CodeModelNotSupported, 404, "Model does not support this API", param("model"), zm("model_not_supported", 0)),
	def(CodeSessionNotFound, 404, "Session doesn't exist or expired"),

	// 429
	def(CodeRateLimitExceeded, 429, "Rate limit exceeded", zm("rate_limit", 0), ty("rate_limit_error", "")),
	def(CodeConcurrentLimitExceeded, 429, "Too many concurrent requests", zm("rate_limit", 0)),
	def(CodeTokenLimitExceeded, 429, "Token rate limit exceeded", zm("rate_limit", 0)),
	def(CodeTooManyFailures, 429, "Too many failed requests; this key is temporarily blocked", zm("rate_limit", 0)),
	def(CodeUpstreamRateLimited, 429, "Upstream rate limit reached", zm("rate_limit", 0), mt("RATE_LIMIT", 0)),

	// 5xx
	def(CodeInternalError, 500, "Internal server error", zm("internal_server_error", 0), ty("server_error", ""), oa("internal_error", "server_error")),
	def(CodeServerError, 500, "Internal server error"),
	def(CodeModelUnavailable, 500, "Model is temporarily unavailable"),
	def(CodeProcessingError, 500, "Error processing request"),
	def(CodeProviderAPIError, 500, "Upstream provider API returned an error", zm("provider_api_error", 0)),
	def(CodeProviderError, 500, "Upstream provider service error", zm("provider_error", 0)),
	def(CodeModelPriceError, 500, "Model pricing error"),
	def(CodeCountTokenFailed, 500, "Token counting failed"),
	def(CodeJSONMarshalFailed, 500, "Serialization failed"),
	def(CodeQueryDataError, 500, "Data query error"),
	def(CodeUpdateDataError, 500, "Data write error"),
	def(CodeChannelInvalidKey, 500, "Invalid channel key"),
	def(CodeChannelModelMapped, 500, "Model mapping error"),
	def(CodeAgentError, 500, "Agent execution failed"),
	def(CodeStreamError, 500, "Streaming connection failed"),
	def(CodeBadGateway, 502, "Gateway error", zm("provider_error", 0)),
	def(CodeNoProviderAvailable, 502, "No upstream provider available"),
	def(CodeDoRequestFailed, 502, "Upstream request failed", zm("provider_error", 0)),
	def(CodeBadResponse, 502, "Bad upstream response", zm("provider_api_error", 0)),
	def(CodeBadResponseStatusCode, 502, "Bad upstream status code", zm("provider_api_error", 0)),
	def(CodeEmptyResponse, 502, "Empty upstream response", zm("provider_error", 0)),
	def(CodeReadResponseBodyFailed, 502, "Failed to read upstream response", zm("provider_error", 0)),
	def(CodeConnectorError, 502, "Connector connection failed", zm("provider_error", 0)),
	def(CodeProviderUnprocessable, 422, "Upstream cannot process the request", zm("provider_unprocessable_entity_error", 0)),
	def(CodeServiceUnavailable, 503, "Service is temporarily unavailable"),
	def(CodeOverloaded, 503, "Service is overloaded", an("overloaded_error", 529)),
	def(CodeGetChannelFailed, 503, "No available channel", zm("no_provider_available", 502)),
	def(CodeChannelNoAvailableKey, 503, "No available channel key", zm("no_provider_available", 502)),
	def(CodeGatewayTimeout, 504, "Gateway timeout"),
	def(CodeChannelResponseTimeout, 504, "Upstream timeout"),
	def(CodeTimeout, 504, "Request timed out"),
	def(CodeProviderUnreachable, 520, "Unable to communicate with provider", zm("provider_internal_server_error", 0)),
	def(CodeProviderTimeout, 524, "Provider timed out", zm("provider_internal_server_error", 0)),
}

var byCode = func() map[Code]*row {
	m := make(map[Code]*row, len(catalogue))
	for i := range catalogue {
		r := &catalogue[i]
		if _, dup := m[r.code]; dup {
			panic("errors: duplicate catalogue code " + string(r.code))
		}
		m[r.code] = r
	}
	return m
}()

func lookup(code Code) (*row, bool) {
	r, ok := byCode[code]
	return r, ok
}

// Codes returns every canonical code in the catalogue, in table order.
func Codes() []Code {
	out := make([]Code, len(catalogue))
	for i := range catalogue {
		out[i] = catalogue[i].code
	}
	return out
}

// upperSnake turns a canonical code into the UPPER_SNAKE spelling of the
// meta and flat dialects: "rate_limit_exceeded" → "RATE_LIMIT_EXCEEDED",
// "channel:no_available_key" → "CHANNEL_NO_AVAILABLE_KEY".
func upperSnake(c Code) string {
	return strings.ToUpper(strings.ReplaceAll(string(c), ":", "_"))
}
