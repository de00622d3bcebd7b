package gitdir

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// ErrRefChanged is returned by UpdateRef when the reference no longer
// holds the value the caller read: someone else moved it.
var ErrRefChanged = errors.New("reference changed since it was read")

// Head reads HEAD: the reference it names ("HEAD" itself when detached)
// and the commit that reference holds (zero on an unborn branch).
func (r *Repo) Head() (string, plumbing.Hash, error) {
	name := "HEAD"
	for range 5 {
		h, target, err := r.readLoose(name)
		if err != nil {
			return "", plumbing.ZeroHash, err
		}
		if target == "" {
			if h.IsZero() {
				h, err = r.packed(name)
			}
			return name, h, err
		}
		name = target
	}
	return "", plumbing.ZeroHash, fmt.Errorf("HEAD: too many levels of symbolic references")
}

// Ref returns the commit a reference holds, zero when it does not exist.
func (r *Repo) Ref(name string) (plumbing.Hash, error) {
	h, target, err := r.readLoose(name)
	switch {
	case err != nil:
		return plumbing.ZeroHash, err
	case target != "":
		return plumbing.ZeroHash, fmt.Errorf("%s is a symbolic reference to %s", name, target)
	case h.IsZero():
		return r.packed(name)
	}
	return h, nil
}

// readLoose reads a loose reference file: a hash, or the target of a
// symbolic reference; both empty when there is no such file.
func (r *Repo) readLoose(name string) (plumbing.Hash, string, error) {
	b, err := os.ReadFile(r.refPath(name))
	if errors.Is(err, os.ErrNotExist) {
		return plumbing.ZeroHash, "", nil
	}
	if err != nil {
		return plumbing.ZeroHash, "", err
	}
	s := strings.TrimSpace(string(b))
	if target, ok := strings.CutPrefix(s, "ref: "); ok {
		return plumbing.ZeroHash, target, nil
	}
	if !plumbing.IsHash(s) {
		return plumbing.ZeroHash, "", fmt.Errorf("reference %s: %q is not a hash", name, s)
	}
	return plumbing.NewHash(s), "", nil
}

// packed looks a reference up in packed-refs.
func (r *Repo) packed(name string) (plumbing.Hash, error) {
	f, err := os.Open(filepath.Join(r.CommonDir, "packed-refs"))
	if errors.Is(err, os.ErrNotExist) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		h, ref, ok := strings.Cut(sc.Text(), " ")
		if ok && ref == name && plumbing.IsHash(h) {
			return plumbing.NewHash(h), nil
		}
	}
	return plumbing.ZeroHash, sc.Err()
}

// Who is the identity and time of a reflog entry.
type Who struct {
	Name, Email string
	When        time.Time
}

// UpdateRef moves reference name from old (zero: it must not exist) to
// new, as git does: under <ref>.lock (ErrLocked when another process
// holds it), after reading the reference again (ErrRefChanged when it
// is no longer old), appending the reflog entry message to the
// reference's reflog and, when HEAD names it, to HEAD's; the new value is
// synced and renamed into place.
func (r *Repo) UpdateRef(name string, old, new plumbing.Hash, who Who, message string) error {
	l, err := r.lock(r.refPath(name))
	if err != nil {
		return fmt.Errorf("update %s: %w", name, err)
	}
	defer l.rollback()
	cur, err := r.Ref(name)
	if err != nil {
		return fmt.Errorf("update %s: %w", name, err)
	}
	if cur != old {
		return fmt.Errorf("update %s: %w: it is at %s, not %s", name, ErrRefChanged, cur, old)
	}
	entry := fmt.Sprintf("%s %s %s <%s> %d %s\t%s\n", old, new, who.Name, who.Email,
		who.When.Unix(), who.When.Format("-0700"), strings.ReplaceAll(message, "\n", " "))
	logs := []string{name}
	if _, target, err := r.readLoose("HEAD"); err == nil && target == name {
		logs = append(logs, "HEAD")
	}
	for _, n := range logs {
		if err := r.appendLog(n, entry); err != nil {
			return fmt.Errorf("update %s: reflog: %w", name, err)
		}
	}
	if err := l.commit([]byte(new.String() + "\n")); err != nil {
		return fmt.Errorf("update %s: %w", name, err)
	}
	return nil
}

// appendLog appends one line to a reflog with one write, so that a kill
// leaves the line whole or absent.
func (r *Repo) appendLog(name, entry string) error {
	p := r.logPath(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte(entry)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
