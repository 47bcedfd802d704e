// Package sse streams Server-Sent Events the way AI-API clients expect
// them, and reads them back exactly as a browser does.
//
// A handler starts a stream with NewWriter (or Streams.Writer, for
// keep-alive and other settings chosen once at start-up):
//
//	sw, err := sse.NewWriter(w, r)
//	if err != nil {
//		apierrors.Write(w, r, err) // the writer cannot flush: nothing was sent
//		return
//	}
//	defer sw.Close()
//	for chunk := range upstream {
//		if err := sw.SendJSON("", chunk); err != nil {
//			return // the client left
//		}
//	}
//	sw.Done() // "data: [DONE]" for OpenAI-style streams
//
// The Writer sets the headers that keep proxies from buffering
// (Cache-Control no-cache, X-Accel-Buffering no), sends the status at once,
// flushes every event, refuses fields the wire format cannot carry, and
// reports a failure mid-stream with Writer.Error in the request's error
// dialect (see the errors package): the only way left once the status has
// gone out.
//
// Keep-alive comments (": keep-alive", or ": ZENMUX PROCESSING" with
// KeepAliveComment) are written only when a stream has been silent for an
// interval, so they cost nothing on a busy stream and keep idle ones from
// being cut by proxies and load balancers. A Writer can send them itself;
// the KeepAlive middleware adds them to any streaming handler, a reverse
// proxy included, without the handler knowing, and can commit the stream
// before a slow upstream's first byte (CommitEarly). Both take the time from
// a tollgate.Clock, so tests drive them with tollgatetest.Clock.
//
// Reader is the other side: a parser that follows the WHATWG HTML
// standard's event-stream algorithm to the letter, with a bound on line
// length, for Go clients and for tests.
//
// Every ResponseWriter wrapper here implements Unwrap, Flush and Hijack, so
// http.ResponseController (deadlines, full duplex) works through it.
package sse
