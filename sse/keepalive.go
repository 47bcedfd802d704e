package sse

import (
	"sync"
	"time"

	"github.com/tollgate/tollgate"
)

// keeper is the background half of keep-alive: one goroutine that sleeps on
// a timer of the injected clock and, each time it fires, calls tick. tick
// runs with the owner's lock held, decides whether the stream has been
// silent long enough, writes the comment if so, and re-arms the timer as
// its last step; it returns false to end the goroutine. The timer is created
// before the goroutine starts, so a test that advances a manual clock right
// after the owner was set up never misses it.
type keeper struct {
	timer tollgate.Timer
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

// startKeeper arms a timer of d on clock and starts the goroutine. It ends
// when tick returns false, when halt is called, or when gone is closed (the
// request's context ended).
func startKeeper(clock tollgate.Clock, d time.Duration, gone <-chan struct{}, tick func(tollgate.Timer) bool) *keeper {
	k := &keeper{
		timer: clock.NewTimer(d),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go k.loop(gone, tick)
	return k
}

func (k *keeper) loop(gone <-chan struct{}, tick func(tollgate.Timer) bool) {
	defer close(k.done)
	defer k.timer.Stop()
	for {
		select {
		case <-k.stop:
			return
		case <-gone:
			return
		case <-k.timer.C():
			if !tick(k.timer) {
				return
			}
		}
	}
}

// halt stops the goroutine and waits until it has returned, so nothing is
// written once halt returns. The caller must not hold the lock tick takes.
// It is safe to call more than once.
func (k *keeper) halt() {
	k.once.Do(func() { close(k.stop) })
	<-k.done
}

// idleCheck is the timing rule both keep-alive owners share: given when the
// stream last carried bytes, it reports whether a comment is due now and,
// if not, how long until it may be.
func idleCheck(clock tollgate.Clock, last time.Time, interval time.Duration) (due bool, wait time.Duration) {
	idle := clock.Now().Sub(last)
	if idle >= interval {
		return true, interval
	}
	return false, interval - idle
}

// eventEnd follows the bytes of a stream written by someone else (the
// handler below KeepAlive) just closely enough to tell whether they stop
// between two events, where a comment may go, or inside one, where a
// comment's blank line would dispatch half an event. Only the run of line
// breaks at the end of each write matters, so tracking costs a few bytes
// of work per write, not a scan of the body.
type eventEnd struct {
	lineStart bool // the last byte ended a line (or nothing was written)
	boundary  bool // the last line was blank: no event is pending
	afterCR   bool // the last byte was CR, so an LF next is part of it
}

// track updates the state after p was written.
func (e *eventEnd) track(p []byte) {
	i := len(p) - 1
	for i >= 0 && (p[i] == '\r' || p[i] == '\n') {
		i--
	}
	if i >= 0 {
		e.lineStart, e.boundary, e.afterCR = false, false, false
	}
	for _, c := range p[i+1:] {
		switch {
		case c == '\n' && e.afterCR:
			e.afterCR = false // the LF of a CRLF ends no second line
		case e.lineStart:
			e.boundary, e.afterCR = true, c == '\r'
		default:
			e.lineStart, e.afterCR = true, c == '\r'
		}
	}
}
