package git

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// AllowedSigner is one line of an allowed signers file, the format of
// git's gpg.ssh.allowedSignersFile and ssh-keygen's ALLOWED SIGNERS: who
// may sign, with which key, for which namespaces and when.
type AllowedSigner struct {
	// Principals are the comma-separated identities of the line
	// ("alice@example.com,*@example.org"); git reports them, and, as
	// git does, ebb trusts the key whatever principal the committer claims.
	Principals string
	Key        ssh.PublicKey
	// Namespaces is the namespaces="…" option's pattern list; "" allows
	// every namespace.
	Namespaces string
	// ValidAfter and ValidBefore bound the signing time (git: the
	// committer time); zero when the line sets none.
	ValidAfter, ValidBefore time.Time
	// Line is where the entry was read, file:line.
	Line string
}

// ParseAllowedSigners reads an allowed signers file named name: one
// "principals [options] keytype base64-key [comment]" per line, blank
// lines and # comments skipped. The options are namespaces="…",
// valid-after="…" and valid-before="…" (YYYYMMDD[HHMM[SS]], Z for UTC,
// else local time). cert-authority lines are refused: ebb verifies plain
// keys, not SSH certificates. Errors name name:line.
func ParseAllowedSigners(name string, b []byte) ([]AllowedSigner, error) {
	var out []AllowedSigner
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		where := fmt.Sprintf("%s:%d", name, n)
		s, err := parseAllowedSigner(line)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		s.Line = where
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

func parseAllowedSigner(line string) (AllowedSigner, error) {
	var s AllowedSigner
	var rest string
	if strings.HasPrefix(line, `"`) {
		end := strings.IndexByte(line[1:], '"')
		if end < 0 {
			return s, fmt.Errorf("principals: unterminated quote")
		}
		s.Principals, rest = line[1:end+1], line[end+2:]
	} else {
		i := strings.IndexAny(line, " \t")
		if i < 0 {
			return s, fmt.Errorf("want principals, then a key")
		}
		s.Principals, rest = line[:i], line[i:]
	}
	if s.Principals == "" {
		return s, fmt.Errorf("empty principals")
	}
	// The rest is an authorized_keys line: [options] keytype base64 [comment].
	key, _, options, _, err := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(rest)))
	if err != nil {
		return s, fmt.Errorf("key: %w", err)
	}
	if _, ok := key.(*ssh.Certificate); ok {
		return s, fmt.Errorf("key: an SSH certificate, not a key")
	}
	s.Key = key
	for _, o := range options {
		name, value, _ := strings.Cut(o, "=")
		value = strings.Trim(value, `"`)
		switch strings.ToLower(name) {
		case "namespaces":
			s.Namespaces = value
		case "valid-after":
			s.ValidAfter, err = parseSSHTime(value)
		case "valid-before":
			s.ValidBefore, err = parseSSHTime(value)
		case "cert-authority":
			err = fmt.Errorf("SSH certificates are not supported")
		default:
			err = fmt.Errorf("unsupported option")
		}
		if err != nil {
			return s, fmt.Errorf("option %s: %w", o, err)
		}
	}
	return s, nil
}

// parseSSHTime reads ssh-keygen's absolute time: YYYYMMDD, YYYYMMDDHHMM or
// YYYYMMDDHHMMSS, in UTC with a final Z, else in local time.
func parseSSHTime(v string) (time.Time, error) {
	loc := time.Local
	if s, ok := strings.CutSuffix(v, "Z"); ok {
		v, loc = s, time.UTC
	}
	layouts := map[int]string{8: "20060102", 12: "200601021504", 14: "20060102150405"}
	layout, ok := layouts[len(v)]
	if !ok {
		return time.Time{}, fmt.Errorf("want YYYYMMDD[HHMM[SS]][Z], got %q", v)
	}
	return time.ParseInLocation(layout, v, loc)
}

// allows reports whether s lets its key sign in namespace at time at;
// when not, it says why.
func (s AllowedSigner) allows(namespace string, at time.Time) error {
	if s.Namespaces != "" && !matchPatternList(namespace, s.Namespaces) {
		return fmt.Errorf("%s: namespace %q is not in namespaces=%q", s.Line, namespace, s.Namespaces)
	}
	if !s.ValidAfter.IsZero() && at.Before(s.ValidAfter) {
		return fmt.Errorf("%s: signed at %s, before valid-after %s", s.Line, at.UTC().Format(time.RFC3339), s.ValidAfter.UTC().Format(time.RFC3339))
	}
	if !s.ValidBefore.IsZero() && at.After(s.ValidBefore) {
		return fmt.Errorf("%s: signed at %s, after valid-before %s", s.Line, at.UTC().Format(time.RFC3339), s.ValidBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

// matchPatternList is OpenSSH's match_pattern_list: s matches list (comma-
// separated patterns with * and ?) when a pattern matches it and no
// negated one (!pattern) does.
func matchPatternList(s, list string) bool {
	found := false
	for _, p := range strings.Split(list, ",") {
		neg := strings.HasPrefix(p, "!")
		if matchPattern(s, strings.TrimPrefix(p, "!")) {
			if neg {
				return false
			}
			found = true
		}
	}
	return found
}

// matchPattern matches s against p, where * is any run of characters and
// ? any one character.
func matchPattern(s, p string) bool {
	for p != "" {
		switch p[0] {
		case '*':
			for i := 0; i <= len(s); i++ {
				if matchPattern(s[i:], p[1:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != p[0] {
				return false
			}
		}
		s, p = s[1:], p[1:]
	}
	return s == ""
}
