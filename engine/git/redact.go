package git

import (
	"regexp"
	"strings"
)

// userinfo finds the credentials of a URL anywhere in a text: the part
// between "scheme://" and the last "@" before the host.
var userinfo = regexp.MustCompile(`\b([a-zA-Z][a-zA-Z0-9+.-]*)://([^/?#\s"'<>]*)@`)

// Redact returns s, a URL or any text that may hold URLs (an error from
// the transport, say), with their credentials replaced: the password of
// user:password@ becomes "redacted", and so does the user of an http(s)
// URL that has no password, which is how a token is given
// (https://TOKEN@host/…). The user of an SSH URL (git@) stays. It is the
// one redaction ebb applies to everything it prints, logs, publishes or
// returns about a source.
func Redact(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return userinfo.ReplaceAllStringFunc(s, func(m string) string {
		sub := userinfo.FindStringSubmatch(m)
		scheme, info := strings.ToLower(sub[1]), sub[2]
		user, _, hasPassword := strings.Cut(info, ":")
		switch {
		case hasPassword:
			info = user + ":redacted"
		case scheme == "http" || scheme == "https":
			info = "redacted"
		}
		return sub[1] + "://" + info + "@"
	})
}

// redacted is an error whose text is redacted; errors.Is and errors.As
// still see what it wraps.
type redacted struct{ err error }

func (e redacted) Error() string { return Redact(e.err.Error()) }
func (e redacted) Unwrap() error { return e.err }

// RedactError is err with its text redacted as Redact does (nil stays
// nil); errors.Is and errors.As still see err.
func RedactError(err error) error {
	if err == nil {
		return nil
	}
	return redacted{err}
}
