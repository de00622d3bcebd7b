package webhook

import (
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
	"strings"
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

// DefaultMaxBody bounds a request body unless Config says otherwise.
const DefaultMaxBody = 1 << 20

// Event is a verified push.
type Event struct {
	Provider string
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
}

// Receiver is the net/http handler for push webhooks. It answers
// 202 Accepted when it triggered a sync, 204 No Content for verified
// events it ignores (other refs, other event types, pings), 401 for a
// missing or wrong signature, and causes nothing but the answer
// unless the signature checks.
type Receiver struct {
	cfg Config
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
	return &Receiver{cfg: cfg}, nil
}

var (
	errUnauthorized = errors.New("missing or invalid signature")
	errTooLarge     = errors.New("request body too large")
	errBadPayload   = errors.New("payload is not a push event")
)

// ServeHTTP implements http.Handler.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ev, triggered, err := rc.handle(r)
	code := http.StatusNoContent
	switch {
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
	rc.cfg.Log.Info("webhook", "provider", ev.Provider, "ref", ev.Ref, "status", code, "err", err)
	if err != nil {
		http.Error(w, err.Error(), code)
		return
	}
	w.WriteHeader(code)
}

// handle verifies the request and triggers; the error decides the status.
func (rc *Receiver) handle(r *http.Request) (Event, bool, error) {
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
	if !push {
		return ev, false, nil
	}
	var p struct {
		Ref   string `json:"ref"`
		After string `json:"after"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Ref == "" {
		return ev, false, errBadPayload
	}
	ev.Ref, ev.After = p.Ref, p.After
	if len(rc.cfg.Refs) > 0 && !slices.Contains(rc.cfg.Refs, p.Ref) {
		return ev, false, nil
	}
	rc.cfg.Trigger(ev)
	return ev, true, nil
}

// verify finds the sender by its proof header and checks the proof
// before looking at anything else; push says whether the event is a push.
func (rc *Receiver) verify(h http.Header, body []byte) (ev Event, push bool, err error) {
	switch {
	case h.Get(HeaderGitHubSignature) != "":
		ev.Provider = GitHub
		if !rc.validHMAC(h.Get(HeaderGitHubSignature), "sha256=", body) {
			return ev, false, errUnauthorized
		}
		return ev, h.Get("X-GitHub-Event") == "push", nil
	case h.Get(HeaderGitLabToken) != "":
		ev.Provider = GitLab
		if subtle.ConstantTimeCompare([]byte(h.Get(HeaderGitLabToken)), rc.cfg.Secret) != 1 {
			return ev, false, errUnauthorized
		}
		e := h.Get("X-Gitlab-Event")
		return ev, e == "Push Hook" || e == "Tag Push Hook", nil
	case h.Get(HeaderGiteaSignature) != "":
		ev.Provider = Gitea
		if !rc.validHMAC(h.Get(HeaderGiteaSignature), "", body) {
			return ev, false, errUnauthorized
		}
		return ev, h.Get("X-Gitea-Event") == "push", nil
	case h.Get(HeaderGenericSignature) != "":
		ev.Provider = Generic
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
