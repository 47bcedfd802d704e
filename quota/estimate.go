package quota

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/tollgate/tollgate"
)

// Estimate is what a request is expected to consume, before it runs. The
// zero value is a request for no model with no tokens.
type Estimate struct {
	// Model is the model the request asked for; it selects the price.
	Model string
	// Usage holds the expected tokens: InputTokens for the prompt and
	// OutputTokens for the most the request allows the model to write
	// (max_tokens times n), zero when the request sets no maximum. The
	// middleware caps OutputTokens with the model's Price.MaxOutput and
	// fills a zero with it. A positive Cost is taken as the exact price.
	Usage tollgate.Usage
}

// Estimator estimates a request before it runs. It may read the body but
// must leave r.Body readable from the start for the handler. An error
// refuses the request; return an *apierrors.Error to choose the response.
type Estimator func(r *http.Request) (Estimate, error)

// EstimatorOption configures BodyEstimator.
type EstimatorOption func(*bodyEstimator)

// BytesPerToken sets the body bytes counted as one input token (default
// 4, a common rule of thumb for English prose; lower is more cautious for
// other scripts).
func BytesPerToken(n int64) EstimatorOption {
	return func(e *bodyEstimator) { e.bytesPerToken = n }
}

// MaxEstimatedBody sets the largest body that is parsed for its model and
// maximums (default 8 MiB). A larger body is still passed through whole;
// its input is estimated from its length and its model taken from the
// State.
func MaxEstimatedBody(n int64) EstimatorOption {
	return func(e *bodyEstimator) { e.maxBody = n }
}

type bodyEstimator struct {
	bytesPerToken int64
	maxBody       int64
}

// BodyEstimator returns the default Estimator. For a JSON body it reads
// "model" and the first output maximum present among "max_completion_tokens",
// "max_tokens", "max_output_tokens" (OpenAI, Anthropic, Responses) and
// "generationConfig.maxOutputTokens" (Gemini), multiplied by "n" when above
// one; the input is the body's length over BytesPerToken, rounded up, so
// JSON punctuation makes it an overestimate. Without a model in the body it
// uses State.Model, and it fills State.Model when that is empty. Bodies
// that are not JSON are not read: their estimate is State.Model and no
// tokens. It reports invalid options by panicking, at construction.
func BodyEstimator(opts ...EstimatorOption) Estimator {
	e := &bodyEstimator{bytesPerToken: 4, maxBody: 8 << 20}
	for _, o := range opts {
		o(e)
	}
	if e.bytesPerToken <= 0 || e.maxBody <= 0 {
		panic(fmt.Sprintf("quota: BodyEstimator needs positive BytesPerToken (%d) and MaxEstimatedBody (%d)", e.bytesPerToken, e.maxBody))
	}
	return e.estimate
}

// requestFields are the members the estimator reads; encoding/json skips
// the rest without allocating for them.
type requestFields struct {
	Model               string `json:"model"`
	MaxCompletionTokens int64  `json:"max_completion_tokens"`
	MaxTokens           int64  `json:"max_tokens"`
	MaxOutputTokens     int64  `json:"max_output_tokens"`
	N                   int64  `json:"n"`
	GenerationConfig    *struct {
		MaxOutputTokens int64 `json:"maxOutputTokens"`
	} `json:"generationConfig"`
}

// maxChoices bounds the "n" multiplier, so that a hostile n cannot make the
// estimate overflow.
const maxChoices = 128

func (e *bodyEstimator) estimate(r *http.Request) (Estimate, error) {
	st := tollgate.StateFrom(r.Context())
	est := Estimate{}
	if st != nil {
		est.Model = st.Model
	}
	if r.Body == nil || r.Body == http.NoBody || !isJSON(r.Header.Get("Content-Type")) {
		return est, nil
	}
	buf, err := readBody(r, e.maxBody)
	if err != nil {
		return est, fmt.Errorf("quota: reading the request body: %w", err)
	}
	size := int64(len(buf))
	if size > e.maxBody {
		r.Body = readCloser{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
		size = max(size, r.ContentLength)
		est.Usage.InputTokens = ceilDiv(size, e.bytesPerToken)
		return est, nil
	}
	r.Body = readCloser{bytes.NewReader(buf), r.Body}
	est.Usage.InputTokens = ceilDiv(size, e.bytesPerToken)
	var f requestFields
	if json.Unmarshal(buf, &f) != nil {
		return est, nil
	}
	if f.Model != "" {
		est.Model = f.Model
		if st != nil && st.Model == "" {
			st.Model = f.Model
		}
	}
	est.Usage.OutputTokens = f.outputMax()
	return est, nil
}

// readBody reads up to limit+1 bytes of the body, in one allocation when
// the length is declared.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if n := r.ContentLength; n > 0 && n <= limit {
		buf := make([]byte, n, n+1)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			return nil, err
		}
		// net/http never delivers more than the declared length.
		return buf, nil
	}
	return io.ReadAll(io.LimitReader(r.Body, limit+1))
}

// outputMax returns the requested output maximum times the choice count.
func (f requestFields) outputMax() int64 {
	out := f.MaxCompletionTokens
	for _, v := range []int64{f.MaxTokens, f.MaxOutputTokens} {
		if out <= 0 {
			out = v
		}
	}
	if out <= 0 && f.GenerationConfig != nil {
		out = f.GenerationConfig.MaxOutputTokens
	}
	if out <= 0 {
		return 0
	}
	if n := min(f.N, maxChoices); n > 1 {
		if out > (1<<63-1)/n {
			return 1<<63 - 1
		}
		out *= n
	}
	return out
}

func isJSON(contentType string) bool {
	if contentType == "" {
		// Clients often omit it on JSON APIs; the parse decides.
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	// curl -d sends JSON as a form; no real form starts with '{', and a
	// body that is not JSON simply fails the parse.
	return err == nil && (mt == "application/json" || len(mt) > 5 && mt[len(mt)-5:] == "+json" ||
		mt == "application/x-www-form-urlencoded" || mt == "text/plain")
}

// ceilDiv returns ⌈a ÷ b⌉ for a ≥ 0 and b > 0, without overflowing.
func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}

// readCloser reads from the buffered body and closes the original one.
type readCloser struct {
	io.Reader
	io.Closer
}
