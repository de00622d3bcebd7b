package webhook

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/ebb-dev/ebb/internal/recent"
)

// Providers, as Event.Provider names them.
const (
	GitHub  = "github"
	GitLab  = "gitlab"
	Gitea   = "gitea"
	Generic = "generic"
)

// Headers that carry the proof a request came from the configured sender.
const (
	HeaderGitHubSignature  = "X-Hub-Signature-256" // "sha256=" + hex HMAC-SHA256 of the body
	HeaderGitLabToken      = "X-Gitlab-Token"      // the secret itself
	HeaderGiteaSignature   = "X-Gitea-Signature"   // hex HMAC-SHA256 of the body
	HeaderGenericSignature = "X-Ebb-Signature-256" // "sha256=" + hex HMAC-SHA256 of the body
)

// Headers that name a delivery; a sender repeats the same value when it
// delivers the same event again. None of them is covered by a signature.
const (
	HeaderGitHubDelivery  = "X-GitHub-Delivery"
	HeaderGitLabIdempo    = "Idempotency-Key" // GitLab: the same across retries
	HeaderGitLabEventUUID = "X-Gitlab-Event-UUID"
	HeaderGiteaDelivery   = "X-Gitea-Delivery"
	HeaderGenericDelivery = "X-Ebb-Delivery"
)

// Defaults unless Config says otherwise.
const (
	DefaultMaxBody     = 1 << 20
	DefaultDedupWindow = time.Hour
	DefaultDedupSize   = 4096
)

// Event is a verified push.
type Event struct {
	Provider string
	Delivery string // the sender's delivery ID, when it sends one
	Ref      string // e.g. refs/heads/main
	After    string // the pushed commit, when the sender says
}

// Config configures a Receiver.
type Config struct {
	// Secret is the shared secret: the HMAC key for GitHub, Gitea and
	// generic senders, the token for GitLab. It must not be empty.
	Secret []byte
	// Refs are the full ref names whose pushes trigger a sync
	// (refs/heads/main, refs/tags/v1); empty means every ref.
	Refs []string
	// MaxBody bounds the request body (default DefaultMaxBody).
	MaxBody int64
	// Trigger is called for every verified push to one of Refs. It must
	// not block (see git.Kicks).
	Trigger func(Event)
	// Log receives one line per request; nil discards.
	Log *slog.Logger
	// DedupWindow is how long a delivery ID is remembered (default
	// DefaultDedupWindow), DedupSize how many are (default
	// DefaultDedupSize): a verified delivery whose ID was answered 2xx
	// within the window is answered 200 "duplicate delivery" and triggers
	// nothing.
	DedupWindow time.Duration
	DedupSize   int
	// Limit, when set, is asked before a verified push triggers: a
	// positive answer is how long the sender should wait, and the request
	// is answered 429 with Retry-After and triggers nothing (nor is its
	// delivery ID remembered, so a retry is not a duplicate).
	Limit func(now time.Time) time.Duration
}

// Receiver is the net/http handler for push webhooks. It answers
// 202 Accepted when it triggered a sync, 204 No Content for verified
// events it ignores (other refs, other event types, pings), 200 for a
// delivery it already answered, 429 when Limit says so, 401 for a
// missing or wrong signature, and causes nothing but the answer unless
// the signature checks.
type Receiver struct {
	cfg Config

	mu   gosync.Mutex // held from the duplicate check to remembering the delivery
	seen *recent.Cache[struct{}]
}

// New checks cfg and returns a Receiver.
func New(cfg Config) (*Receiver, error) {
	if len(cfg.Secret) == 0 {
		return nil, errors.New("webhook: a secret is required")
	}
	if cfg.Trigger == nil {
		return nil, errors.New("webhook: a trigger is required")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.DedupWindow <= 0 {
		cfg.DedupWindow = DefaultDedupWindow
	}
	if cfg.DedupSize <= 0 {
		cfg.DedupSize = DefaultDedupSize
	}
	return &Receiver{cfg: cfg, seen: recent.New[struct{}](cfg.DedupSize)}, nil
}

var (
	errUnauthorized = errors.New("missing or invalid signature")
	errTooLarge     = errors.New("request body too large")
	errBadPayload   = errors.New("payload is not a push event")
	errDuplicate    = errors.New("duplicate delivery")
)

// limitedError says a push was refused by Config.Limit for wait.
type limitedError struct{ wait time.Duration }

func (e limitedError) Error() string {
	return fmt.Sprintf("too many syncs asked for; retry in %s", e.wait.Round(time.Second))
}

// ServeHTTP implements http.Handler: ServeAt when the request arrives.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.ServeAt(w, r, time.Now())
}

// ServeAt serves r at now: the duplicate window and Limit count to now.
func (rc *Receiver) ServeAt(w http.ResponseWriter, r *http.Request, now time.Time) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ev, triggered, err := rc.handle(r, now)
	code := http.StatusNoContent
	var limited limitedError
	switch {
	case errors.Is(err, errDuplicate):
		code = http.StatusOK
	case errors.As(err, &limited):
		code = http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.Itoa(int((limited.wait+time.Second-1)/time.Second)))
	case errors.Is(err, errUnauthorized):
		code = http.StatusUnauthorized
	case errors.Is(err, errTooLarge):
		code = http.StatusRequestEntityTooLarge
	case errors.Is(err, errBadPayload):
		code = http.StatusBadRequest
	case err != nil:
		code = http.StatusInternalServerError
	case triggered:
		code = http.StatusAccepted
	}
	rc.cfg.Log.Info("webhook", "provider", ev.Provider, "delivery", ev.Delivery, "ref", ev.Ref, "status", code, "err", err)
	if err != nil {
		http.Error(w, err.Error(), code)
		return
	}
	w.WriteHeader(code)
}

// handle verifies the request and triggers; the error decides the status.
func (rc *Receiver) handle(r *http.Request, now time.Time) (Event, bool, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, rc.cfg.MaxBody+1))
	if err != nil {
		return Event{}, false, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > rc.cfg.MaxBody {
		return Event{}, false, errTooLarge
	}
	ev, push, err := rc.verify(r.Header, body)
	if err != nil {
		return ev, false, err
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	key := ev.Provider + "\x00" + ev.Delivery
	if ev.Delivery != "" {
		if _, dup := rc.seen.Get(key, now); dup {
			return ev, false, errDuplicate
		}
	}
	triggered, err := rc.push(&ev, push, body, now)
	if err == nil && ev.Delivery != "" {
		rc.seen.Put(key, struct{}{}, now.Add(rc.cfg.DedupWindow), now)
	}
	return ev, triggered, err
}

// push triggers for a verified event that is a push to one of the refs,
// when the limit allows.
func (rc *Receiver) push(ev *Event, push bool, body []byte, now time.Time) (bool, error) {
	if !push {
		return false, nil
	}
	var p struct {
		Ref   string `json:"ref"`
		After string `json:"after"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Ref == "" {
		return false, errBadPayload
	}
	ev.Ref, ev.After = p.Ref, p.After
	if len(rc.cfg.Refs) > 0 && !slices.Contains(rc.cfg.Refs, p.Ref) {
		return false, nil
	}
	if rc.cfg.Limit != nil {
		if wait := rc.cfg.Limit(now); wait > 0 {
			return false, limitedError{wait}
		}
	}
	rc.cfg.Trigger(*ev)
	return true, nil
}

// verify finds the sender by its proof header and checks the proof
// before looking at anything else; push says whether the event is a push.
func (rc *Receiver) verify(h http.Header, body []byte) (ev Event, push bool, err error) {
	switch {
	case h.Get(HeaderGitHubSignature) != "":
		ev.Provider, ev.Delivery = GitHub, h.Get(HeaderGitHubDelivery)
		if !rc.validHMAC(h.Get(HeaderGitHubSignature), "sha256=", body) {
			return ev, false, errUnauthorized
		}
		return ev, h.Get("X-GitHub-Event") == "push", nil
	case h.Get(HeaderGitLabToken) != "":
		ev.Provider, ev.Delivery = GitLab, cmp.Or(h.Get(HeaderGitLabIdempo), h.Get(HeaderGitLabEventUUID))
		if subtle.ConstantTimeCompare([]byte(h.Get(HeaderGitLabToken)), rc.cfg.Secret) != 1 {
			return ev, false, errUnauthorized
		}
		e := h.Get("X-Gitlab-Event")
		return ev, e == "Push Hook" || e == "Tag Push Hook", nil
	case h.Get(HeaderGiteaSignature) != "":
		ev.Provider, ev.Delivery = Gitea, h.Get(HeaderGiteaDelivery)
		if !rc.validHMAC(h.Get(HeaderGiteaSignature), "", body) {
			return ev, false, errUnauthorized
		}
		return ev, h.Get("X-Gitea-Event") == "push", nil
	case h.Get(HeaderGenericSignature) != "":
		ev.Provider, ev.Delivery = Generic, h.Get(HeaderGenericDelivery)
		if !rc.validHMAC(h.Get(HeaderGenericSignature), "sha256=", body) {
			return ev, false, errUnauthorized
		}
		return ev, true, nil
	}
	return ev, false, errUnauthorized
}

func (rc *Receiver) validHMAC(header, prefix string, body []byte) bool {
	got, ok := strings.CutPrefix(header, prefix)
	if !ok {
		return false
	}
	sig, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	return hmac.Equal(sig, Sign(rc.cfg.Secret, body))
}

// Sign is the HMAC-SHA256 of body under secret, as the senders compute it.
func Sign(secret, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return m.Sum(nil)
}

// For returns the builder admin.Source.Webhook takes: a Receiver of pushes
// signed with secret, limited by limit, each calling kick. With no secret
// it returns nil, and no webhook is served.
func For(secret []byte, log *slog.Logger) func(limit func(now time.Time) time.Duration, kick func()) (http.Handler, error) {
	if len(secret) == 0 {
		return nil
	}
	return func(limit func(time.Time) time.Duration, kick func()) (http.Handler, error) {
		return New(Config{Secret: secret, Log: log, Limit: limit, Trigger: func(Event) { kick() }})
	}
}
