package admin

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	gosync "sync"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"

	"github.com/ebb-dev/ebb/internal/recent"
)

// Audience is the audience of the tokens ebb's controller accepts: a
// projected ServiceAccount token (or `kubectl create token --audience
// ebb-controller`) made for it, never one made for the API server or
// anything else.
const Audience = "ebb-controller"

// How long a review's answer is kept (never past the token's expiry), and
// how many are.
const (
	ReviewTTL       = 30 * time.Second
	ReviewCacheSize = 1024
	reviewTimeout   = 10 * time.Second
)

// Reviewer asks the Kubernetes API who a token belongs to and what a user
// may do; *kube.Clients is one.
type Reviewer interface {
	ReviewToken(ctx context.Context, token string, audiences []string) (authnv1.UserInfo, bool, error)
	Allowed(ctx context.Context, user authnv1.UserInfo, attrs authzv1.ResourceAttributes) (bool, string, error)
}

// KubeConfig configures a KubeAuth.
type KubeConfig struct {
	Reviewer Reviewer
	// Identities, when set, are the only users allowed
	// ("system:serviceaccount:<namespace>:<name>").
	Identities []string
	// Access, when set, is what a SubjectAccessReview must allow the user.
	Access *authzv1.ResourceAttributes
}

// KubeAuth authenticates a request by its bearer token, which the
// Kubernetes API must authenticate for Audience (a TokenReview), and
// allows the user Identities lists or Access allows (a
// SubjectAccessReview). A token that is a JWT is first read without
// verification: one for another audience, or naming a user Identities
// does not list, is refused without asking the API.
type KubeAuth struct {
	cfg   KubeConfig
	mu    gosync.Mutex
	cache *recent.Cache[error] // by the token's SHA-256: nil when allowed
}

var _ Authenticator = (*KubeAuth)(nil)

// NewKubeAuth checks cfg and returns a KubeAuth.
func NewKubeAuth(cfg KubeConfig) (*KubeAuth, error) {
	if cfg.Reviewer == nil || (len(cfg.Identities) == 0 && cfg.Access == nil) {
		return nil, errors.New("admin: a Kubernetes authenticator needs a reviewer, and identities or an access check")
	}
	return &KubeAuth{cfg: cfg, cache: recent.New[error](ReviewCacheSize)}, nil
}

// Authenticate implements Authenticator.
func (k *KubeAuth) Authenticate(r *http.Request) error {
	tok, ok := bearerToken(r)
	if !ok {
		return errNoToken
	}
	c, isJWT := unverifiedClaims(tok)
	switch {
	case isJWT && !slices.Contains(c.Aud, Audience):
		return fmt.Errorf("%w: the token is not for audience %s", ErrUnauthenticated, Audience)
	case isJWT && len(k.cfg.Identities) > 0 && !slices.Contains(k.cfg.Identities, c.Sub):
		return fmt.Errorf("%w: %s is not among %s", ErrForbidden, c.Sub, strings.Join(k.cfg.Identities, ", "))
	case !isJWT && len(k.cfg.Identities) > 0:
		return fmt.Errorf("%w: not a ServiceAccount token", ErrUnauthenticated)
	}
	sum := sha256.Sum256([]byte(tok))
	key := string(sum[:])
	now := time.Now()
	k.mu.Lock()
	err, hit := k.cache.Get(key, now)
	k.mu.Unlock()
	if hit {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), reviewTimeout)
	defer cancel()
	err = k.review(ctx, tok)
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	expires := now.Add(ReviewTTL)
	if c.Exp > 0 && time.Unix(c.Exp, 0).Before(expires) {
		expires = time.Unix(c.Exp, 0)
	}
	k.mu.Lock()
	k.cache.Put(key, err, expires, now)
	k.mu.Unlock()
	return err
}

// review asks the API about tok.
func (k *KubeAuth) review(ctx context.Context, tok string) error {
	user, ok, err := k.cfg.Reviewer.ReviewToken(ctx, tok, []string{Audience})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if !ok {
		return fmt.Errorf("%w: the Kubernetes API does not authenticate the token for audience %s", ErrUnauthenticated, Audience)
	}
	if len(k.cfg.Identities) > 0 && !slices.Contains(k.cfg.Identities, user.Username) {
		return fmt.Errorf("%w: %s is not among %s", ErrForbidden, user.Username, strings.Join(k.cfg.Identities, ", "))
	}
	if a := k.cfg.Access; a != nil {
		allowed, reason, err := k.cfg.Reviewer.Allowed(ctx, user, *a)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		if !allowed {
			return fmt.Errorf("%w: %s may not %s %s/%s %s in namespace %s%s", ErrForbidden, user.Username,
				a.Verb, a.Resource, a.Subresource, a.Name, a.Namespace, reasonSuffix(reason))
		}
	}
	return nil
}

func reasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}

// claims are the fields of a JWT's payload ebb looks at before the API
// verified it.
type claims struct {
	Sub string   `json:"sub"`
	Aud audience `json:"aud"`
	Exp int64    `json:"exp"`
}

// audience is a JWT's aud: one string or a list of them.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

// unverifiedClaims reads tok's claims when it is a JWT, without checking
// its signature: only to refuse early what the API would refuse too.
func unverifiedClaims(tok string) (claims, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return claims{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return claims{}, false
	}
	var c claims
	if err := json.Unmarshal(b, &c); err != nil {
		return claims{}, false
	}
	return c, true
}
