package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// Source is a Git source's admin endpoints, the same in `ebb up` and in
// the controller:
//
//   - GET /v1/sources: Status, as JSON (not served when Status is nil);
//   - POST /v1/sync: Kick, for the callers Sync allows (not served when
//     Sync is nil), answered 202;
//   - POST /v1/webhook: the handler Webhook builds (not served when
//     Webhook is nil), see engine/webhook.For.
//
// Sync requests and webhook pushes draw from one Limiter: beyond it they
// are answered 429 with Retry-After, and kick nothing.
type Source struct {
	Status func() any
	Kick   func()
	Sync   Authenticator
	// Webhook builds the push webhook's handler, given the limit it shares
	// with sync requests and Kick (engine/webhook.For). The admin package
	// knows no webhook format, so the gateway, which serves admin
	// endpoints too, links none.
	Webhook func(limit func(now time.Time) time.Duration, kick func()) (http.Handler, error)
	Limiter *Limiter // default NewLimiter(KickEvery, KickBurst)
}

// Mount adds the source's endpoints to mux.
func (s Source) Mount(mux *http.ServeMux) error {
	if s.Kick == nil {
		return errors.New("admin: a source needs a Kick")
	}
	if s.Limiter == nil {
		s.Limiter = NewLimiter(KickEvery, KickBurst)
	}
	if s.Status != nil {
		mux.HandleFunc("GET /v1/sources", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(s.Status())
		})
	}
	if s.Sync != nil {
		mux.Handle("POST /v1/sync", Require(s.Sync, limit(s.Limiter, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.Kick()
			w.WriteHeader(http.StatusAccepted)
		}))))
	}
	if s.Webhook != nil {
		rc, err := s.Webhook(s.Limiter.Wait, s.Kick)
		if err != nil {
			return err
		}
		mux.Handle("POST /v1/webhook", rc)
	}
	return nil
}
