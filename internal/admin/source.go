package admin

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/ebb-dev/ebb/engine/webhook"
)

// Source is a Git source's admin endpoints, the same in `ebb up` and in
// the controller:
//
//   - GET /v1/sources: Status, as JSON (not served when Status is nil);
//   - POST /v1/sync: Kick, for the callers Sync allows (not served when
//     Sync is nil), answered 202;
//   - POST /v1/webhook: push webhooks signed with Secret (not served when
//     Secret is empty), see webhook.Receiver.
//
// Sync requests and webhook pushes draw from one Limiter: beyond it they
// are answered 429 with Retry-After, and kick nothing.
type Source struct {
	Status  func() any
	Kick    func()
	Sync    Authenticator
	Secret  []byte
	Limiter *Limiter         // default NewLimiter(KickEvery, KickBurst)
	Now     func() time.Time // default time.Now
	Log     *slog.Logger
}

// Mount adds the source's endpoints to mux.
func (s Source) Mount(mux *http.ServeMux) error {
	if s.Kick == nil {
		return errors.New("admin: a source needs a Kick")
	}
	if s.Limiter == nil {
		s.Limiter = NewLimiter(KickEvery, KickBurst)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Status != nil {
		mux.HandleFunc("GET /v1/sources", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(s.Status())
		})
	}
	if s.Sync != nil {
		mux.Handle("POST /v1/sync", Require(s.Sync, limit(s.Limiter, s.Now, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.Kick()
			w.WriteHeader(http.StatusAccepted)
		}))))
	}
	if len(s.Secret) > 0 {
		rc, err := webhook.New(webhook.Config{Secret: s.Secret, Log: s.Log, Limit: s.Limiter.Wait,
			Trigger: func(webhook.Event) { s.Kick() }})
		if err != nil {
			return err
		}
		mux.Handle("POST /v1/webhook", rc)
	}
	return nil
}
