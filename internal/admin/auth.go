package admin

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Errors an Authenticator wraps; Require maps them to a status.
var (
	ErrUnauthenticated = errors.New("unauthenticated") // 401: no credential, or one that does not check
	ErrForbidden       = errors.New("forbidden")       // 403: a known caller that may not do this
	ErrUnavailable     = errors.New("cannot check the credential now")
)

// Authenticator decides whether a request may do what it asks: nil, or
// an error wrapping ErrUnauthenticated, ErrForbidden or ErrUnavailable.
type Authenticator interface {
	Authenticate(r *http.Request) error
}

// Require serves h to the requests a allows; the others are answered
// 401 (with WWW-Authenticate: Bearer), 403 or 503, and reach nothing.
func Require(a Authenticator, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := a.Authenticate(r)
		switch {
		case err == nil:
			h.ServeHTTP(w, r)
			return
		case errors.Is(err, ErrUnauthenticated):
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, err.Error(), http.StatusUnauthorized)
		case errors.Is(err, ErrForbidden):
			http.Error(w, err.Error(), http.StatusForbidden)
		case errors.Is(err, ErrUnavailable):
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		default:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
}

// Bearer accepts the requests that carry "Authorization: Bearer token".
type Bearer string

// Authenticate implements Authenticator.
func (b Bearer) Authenticate(r *http.Request) error {
	got, ok := bearerToken(r)
	if !ok {
		return errNoToken
	}
	if b == "" || subtle.ConstantTimeCompare([]byte(got), []byte(b)) != 1 {
		return errWrongToken
	}
	return nil
}

var (
	errNoToken    = fmt.Errorf("%w: an Authorization: Bearer token is required", ErrUnauthenticated)
	errWrongToken = fmt.Errorf("%w: the bearer token is not valid", ErrUnauthenticated)
)

// bearerToken is the token of a request's Authorization: Bearer header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return tok, true
}
