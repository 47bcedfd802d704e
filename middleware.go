package tollgate

import "net/http"

// Middleware wraps a handler in another. Every layer tollgate offers has
// this type, so it fits net/http, chi and anything else that speaks
// func(http.Handler) http.Handler.
type Middleware func(http.Handler) http.Handler

// Stack is an immutable, ordered list of middleware. The zero value is an
// empty stack whose Then returns its handler unchanged. A Stack is a value:
// Append and Extend return new stacks and never change the receiver, so one
// Stack may be shared and reused by many goroutines and routes.
type Stack struct {
	layers []Middleware
}

// Chain returns the stack a, b, c…: Chain(a, b, c).Then(h) is a(b(c(h))),
// so the first middleware named is the outermost and sees the request
// first. Nil entries are skipped.
func Chain(layers ...Middleware) Stack {
	return Stack{}.Append(layers...)
}

// Append returns a new stack with layers added inside the existing ones:
// Chain(a).Append(b).Then(h) is a(b(h)). Nil entries are skipped.
func (s Stack) Append(layers ...Middleware) Stack {
	out := make([]Middleware, 0, len(s.layers)+len(layers))
	out = append(out, s.layers...)
	for _, m := range layers {
		if m != nil {
			out = append(out, m)
		}
	}
	return Stack{layers: out}
}

// Extend returns a new stack with every layer of other added inside the
// existing ones: Chain(a).Extend(Chain(b, c)) is Chain(a, b, c).
func (s Stack) Extend(other Stack) Stack {
	return s.Append(other.layers...)
}

// Len reports how many layers the stack holds.
func (s Stack) Len() int { return len(s.layers) }

// Then wraps h in every layer of the stack and returns the result. A nil h
// is taken as http.DefaultServeMux, as net/http does for a nil handler.
func (s Stack) Then(h http.Handler) http.Handler {
	if h == nil {
		h = http.DefaultServeMux
	}
	for i := len(s.layers) - 1; i >= 0; i-- {
		h = s.layers[i](h)
	}
	return h
}

// ThenFunc is Then for a handler function. A nil f is taken as
// http.DefaultServeMux.
func (s Stack) ThenFunc(f http.HandlerFunc) http.Handler {
	if f == nil {
		return s.Then(nil)
	}
	return s.Then(f)
}
