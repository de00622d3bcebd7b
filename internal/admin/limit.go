package admin

import (
	"net/http"
	"strconv"
	"time"

	"golang.org/x/time/rate"
)

// How often sync requests (POST /v1/sync and webhook pushes together)
// are taken: one a second on average, up to KickBurst at once. A sync
// request only says "fetch now", and requests coalesce, so a faster
// sender gains nothing.
const (
	KickEvery = time.Second
	KickBurst = 20
)

// Limiter is a token bucket of sync requests. It is safe for concurrent
// use.
type Limiter struct{ l *rate.Limiter }

// NewLimiter returns a bucket of burst tokens refilled one every every.
func NewLimiter(every time.Duration, burst int) *Limiter {
	return &Limiter{rate.NewLimiter(rate.Every(every), burst)}
}

// Wait takes a token at now and returns 0 when there is one; otherwise it
// takes nothing and returns how long until there is.
func (l *Limiter) Wait(now time.Time) time.Duration {
	r := l.l.ReserveN(now, 1)
	if !r.OK() {
		return time.Hour
	}
	d := r.DelayFrom(now)
	if d > 0 {
		r.CancelAt(now)
	}
	return d
}

// limit serves h while l has tokens when a request arrives; otherwise it
// answers 429 with Retry-After in whole seconds.
func limit(l *Limiter, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wait := l.Wait(time.Now()); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
			http.Error(w, "too many syncs asked for; retry in "+wait.Round(time.Second).String(), http.StatusTooManyRequests)
			return
		}
		h.ServeHTTP(w, r)
	})
}
