package errors

// Code is a canonical catalogue code. Each dialect spells it its own way
// (see Dialect); Parse maps every spelling back to the canonical code.
type Code string

// The catalogue's codes. The comment after each names the seed platforms'
// spellings where they differ from the canonical one.
const (
	// Request and validation errors (400 unless noted).
	CodeInvalidRequest         Code = "invalid_request"          // meta INVALID_REQUEST; zenmux invalid_params
	CodeInvalidParams          Code = "invalid_params"           // zenmux invalid_params; agents INVALID_PARAMS
	CodeBadRequestBody         Code = "bad_request_body"         // one-api
	CodeReadRequestBodyFailed  Code = "read_request_body_failed" // one-api
	CodeConvertRequestFailed   Code = "convert_request_failed"   // one-api
	CodeSensitiveWordsDetected Code = "sensitive_words_detected" // one-api
	CodePromptBlocked          Code = "prompt_blocked"           // one-api
	CodeInvalidAPIType         Code = "invalid_api_type"         // one-api
	CodeMissingRequiredField   Code = "missing_required_field"   // meta MISSING_REQUIRED_FIELD
	CodeInvalidFieldValue      Code = "invalid_field_value"      // meta INVALID_FIELD_VALUE
	CodeUnsupportedModel       Code = "unsupported_model"        // meta UNSUPPORTED_MODEL
	CodeInvalidFileFormat      Code = "invalid_file_format"      // meta INVALID_FILE_FORMAT
	CodeFileTooLarge           Code = "file_too_large"           // meta FILE_TOO_LARGE
	CodePromptTooLong          Code = "prompt_too_long"          // meta PROMPT_TOO_LONG; zenmux 413 invalid_params; openai context_length_exceeded
	CodeInvalidTemperature     Code = "invalid_temperature"      // meta INVALID_TEMPERATURE
	CodeInvalidMaxTokens       Code = "invalid_max_tokens"       // meta INVALID_MAX_TOKENS
	CodeInvalidImageSize       Code = "invalid_image_size"       // meta INVALID_IMAGE_SIZE
	CodeInvalidImageQuality    Code = "invalid_image_quality"    // meta INVALID_IMAGE_QUALITY
	CodePromptViolation        Code = "prompt_violation"         // meta PROMPT_VIOLATION
	CodeRequestTooLarge        Code = "request_too_large"        // 413; anthropic request_too_large
	CodeConflict               Code = "conflict"                 // 409; typed conflict
	CodeUnprocessableEntity    Code = "unprocessable_entity"     // 422; typed unprocessable_entity
	CodeMethodNotAllowed       Code = "method_not_allowed"       // 405

	// Authentication (401).
	CodeAuthenticationError Code = "authentication_error" // typed authentication_error
	CodeMissingAPIKey       Code = "missing_api_key"      // meta MISSING_API_KEY; zenmux 403 access_denied
	CodeInvalidAPIKey       Code = "invalid_api_key"      // meta INVALID_API_KEY; zenmux 403 access_denied
	CodeExpiredAPIKey       Code = "expired_api_key"      // meta EXPIRED_API_KEY; zenmux 403 access_denied
	CodeRevokedAPIKey       Code = "revoked_api_key"      // meta REVOKED_API_KEY; zenmux 403 access_denied

	// Permissions (403).
	CodeAccessDenied            Code = "access_denied"            // zenmux, one-api
	CodePermissionError         Code = "permission_error"         // typed permission_error
	CodeInsufficientPermissions Code = "insufficient_permissions" // meta INSUFFICIENT_PERMISSIONS
	CodeAccountSuspended        Code = "account_suspended"        // meta ACCOUNT_SUSPENDED
	CodeModelNotAllowed         Code = "model_not_allowed"        // this key may not use the model
	CodeIPNotAllowed            Code = "ip_not_allowed"           // the client IP is outside the key's allow-list
	CodeSafetyCheckFailed       Code = "safety_check_failed"      // zenmux

	// Billing and quota (402 unless noted).
	CodeAccountOverdue             Code = "account_overdue"                // zenmux insufficient_credit
	CodeCreditRequired             Code = "credit_required"                // zenmux reject_no_credit
	CodeInsufficientBalance        Code = "insufficient_balance"           // agents 403 "Insufficient balance"; typed insufficient_quota
	CodeInsufficientQuota          Code = "insufficient_quota"             // typed insufficient_quota
	CodeQuotaExceeded              Code = "quota_exceeded"                 // zenmux quote_exceeded; meta 403 QUOTA_EXCEEDED
	CodeInsufficientUserQuota      Code = "insufficient_user_quota"        // one-api, 403
	CodePreConsumeTokenQuotaFailed Code = "pre_consume_token_quota_failed" // one-api, 403

	// Not found (404).
	CodeNotFound          Code = "not_found"           // typed not_found; agents "Not Found"
	CodeResourceNotFound  Code = "resource_not_found"  // meta RESOURCE_NOT_FOUND
	CodeEndpointNotFound  Code = "endpoint_not_found"  // meta ENDPOINT_NOT_FOUND
	CodeModelNotFound     Code = "model_not_found"     // meta MODEL_NOT_FOUND; one-api; zenmux invalid_model
	CodeInvalidModel      Code = "invalid_model"       // zenmux
	CodeModelNotAvailable Code = "model_not_available" // zenmux: not in the subscription plan
	CodeModelNotSupported Code = "model_not_supported" // zenmux: the model lacks this API
	CodeSessionNotFound   Code = "session_not_found"   // agents SESSION_NOT_FOUND

	// Rate limits (429).
	CodeRateLimitExceeded       Code = "rate_limit_exceeded"       // zenmux rate_limit; meta RATE_LIMIT_EXCEEDED; typed rate_limit_error
	CodeConcurrentLimitExceeded Code = "concurrent_limit_exceeded" // meta CONCURRENT_LIMIT_EXCEEDED
	CodeTokenLimitExceeded      Code = "token_limit_exceeded"      // tokens-per-minute limit
	CodeTooManyFailures         Code = "too_many_failures"         // the key is blocked after repeated failures
	CodeUpstreamRateLimited     Code = "upstream_rate_limited"     // agents task RATE_LIMIT

	// Server and upstream errors (5xx).
	CodeInternalError          Code = "internal_error"                 // meta INTERNAL_ERROR; zenmux internal_server_error
	CodeServerError            Code = "server_error"                   // typed server_error
	CodeModelUnavailable       Code = "model_unavailable"              // meta MODEL_UNAVAILABLE
	CodeProcessingError        Code = "processing_error"               // meta PROCESSING_ERROR
	CodeProviderAPIError       Code = "provider_api_error"             // zenmux
	CodeProviderError          Code = "provider_error"                 // zenmux
	CodeModelPriceError        Code = "model_price_error"              // one-api
	CodeCountTokenFailed       Code = "count_token_failed"             // one-api
	CodeJSONMarshalFailed      Code = "json_marshal_failed"            // one-api
	CodeQueryDataError         Code = "query_data_error"               // one-api
	CodeUpdateDataError        Code = "update_data_error"              // one-api
	CodeChannelInvalidKey      Code = "channel:invalid_key"            // one-api
	CodeChannelModelMapped     Code = "channel:model_mapped_error"     // one-api
	CodeAgentError             Code = "agent_error"                    // agents AGENT_ERROR
	CodeStreamError            Code = "stream_error"                   // agents STREAM_ERROR
	CodeBadGateway             Code = "bad_gateway"                    // 502; typed bad_gateway
	CodeNoProviderAvailable    Code = "no_provider_available"          // 502; zenmux
	CodeDoRequestFailed        Code = "do_request_failed"              // 502; one-api
	CodeBadResponse            Code = "bad_response"                   // 502; one-api
	CodeBadResponseStatusCode  Code = "bad_response_status_code"       // 502; one-api
	CodeEmptyResponse          Code = "empty_response"                 // 502; one-api
	CodeReadResponseBodyFailed Code = "read_response_body_failed"      // 502; one-api
	CodeConnectorError         Code = "connector_error"                // 502; agents CONNECTOR_ERROR
	CodeProviderUnprocessable  Code = "provider_unprocessable_entity"  // 422; zenmux provider_unprocessable_entity_error
	CodeServiceUnavailable     Code = "service_unavailable"            // 503; meta SERVICE_UNAVAILABLE
	CodeOverloaded             Code = "overloaded"                     // 503; meta OVERLOADED; anthropic 529 overloaded_error
	CodeGetChannelFailed       Code = "get_channel_failed"             // 503; one-api
	CodeChannelNoAvailableKey  Code = "channel:no_available_key"       // 503; one-api
	CodeGatewayTimeout         Code = "gateway_timeout"                // 504; typed gateway_timeout
	CodeChannelResponseTimeout Code = "channel:response_time_exceeded" // 504; one-api
	CodeTimeout                Code = "timeout"                        // 504; agents TIMEOUT
	CodeProviderUnreachable    Code = "provider_unreachable"           // 520; zenmux provider_internal_server_error
	CodeProviderTimeout        Code = "provider_timeout"               // 524; zenmux provider_internal_server_error
)
