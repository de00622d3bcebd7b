package git

import (
	"bytes"
	"context"
	"errors"

	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// LedgerDir is the only directory write-back may change.
const LedgerDir = ".ebb"

// Replan is called when a write-back lost the race for the branch: given
// the branch's new head, it returns the ledger files to write on top of it
// (nil or unchanged contents: nothing to write) and the commit message.
type Replan func(ctx context.Context, head Commit) (files map[string][]byte, message string, err error)

// WriteBack commits files on top of base (with a write branch: on top of
// that branch's head) and pushes the commit to the followed branch (or the
// write branch). Keys of files are slash paths under .ebb/; a nil value
// deletes the file. When the files change nothing, nothing is committed
// and base comes back with written false.
//
// The push never forces. When the branch moved since base, WriteBack
// fetches the new head, calls replan on it and tries again, waiting
// Config.Backoff between attempts, at most Config.MaxAttempts pushes; the
// result is then ErrConflict. It returns the commit the branch now holds
// (the new ledger commit, or the head replan found nothing to add to),
// which the next Fetch reports as unchanged.
func (s *Source) WriteBack(ctx context.Context, base Commit, files map[string][]byte, message string, replan Replan) (Commit, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects.mu.Lock()
	c, written, err := s.writeBack(ctx, base, files, message, replan)
	s.objects.mu.Unlock()
	err = RedactError(err)
	s.record(func(st *Status) {
		switch {
		case err != nil:
			st.Counters.PushErrors++
		case written:
			st.Counters.WriteBacks++
		default:
			st.Counters.SkippedWrites++
		}
	}, err)
	if err != nil {
		return Commit{}, false, fmt.Errorf("write back to %s %s: %w", Redact(s.cfg.URL), s.cfg.Ref, err)
	}
	return c, written, nil
}

// writeBack runs with s.objects locked, and lets go of it while replan
// reads the files of the new head.
func (s *Source) writeBack(ctx context.Context, base Commit, files map[string][]byte, message string, replan Replan) (Commit, bool, error) {
	if s.cfg.Verify != nil && s.cfg.Signer == nil {
		return Commit{}, false, errors.New("the source verifies commits, and ledger commits would not be signed: configure a signing key")
	}
	target := s.write
	if target == "" {
		if s.cfg.Ref.Branch == "" {
			return Commit{}, false, fmt.Errorf("write-back needs a branch or a write branch, the source follows %s", s.cfg.Ref)
		}
		target = s.local
	}
	for attempt := 1; ; attempt++ {
		if err := checkLedgerPaths(files); err != nil {
			return Commit{}, false, err
		}
		// old is where the target branch is; the commit goes on top of
		// it, or on base when the write branch does not exist yet.
		old := plumbing.NewHash(base.Hash)
		if s.write != "" {
			old = s.lastWrite
		}
		parent := old
		if parent.IsZero() {
			parent = plumbing.NewHash(base.Hash)
		}
		h, err := s.commitOn(parent, files, message)
		if err != nil {
			return Commit{}, false, err
		}
		if h.IsZero() {
			c, err := s.adopt(base)
			return c, false, err
		}
		pushErr := s.push(ctx, h, old, target)
		if pushErr == nil {
			c, err := s.loadWritten(base, h)
			return c, true, err
		}
		// Where is the branch now? Only a moved branch is a conflict.
		head, _, err := s.fetch(ctx)
		if err != nil {
			return Commit{}, false, fmt.Errorf("push: %w; then %w", s.describe(pushErr), err)
		}
		now := plumbing.NewHash(head.Hash)
		if s.write != "" {
			now = s.lastWrite
		}
		switch now {
		case h: // the push landed, its report was lost
			return head, true, nil
		case old:
			return Commit{}, false, fmt.Errorf("push: %w", s.describe(pushErr))
		}
		s.record(func(st *Status) { st.Counters.Conflicts++ }, nil)
		if attempt >= s.cfg.MaxAttempts {
			return Commit{}, false, fmt.Errorf("%w: branch %s moved %d times", ErrConflict, target.Short(), attempt)
		}
		if err := sleep(ctx, s.cfg.Backoff(attempt)); err != nil {
			return Commit{}, false, err
		}
		s.objects.mu.Unlock()
		files, message, err = replan(ctx, head)
		s.objects.mu.Lock()
		if err != nil {
			return Commit{}, false, fmt.Errorf("replan on %s: %w", head.Hash, err)
		}
		base = head
	}
}

// loadWritten makes the pushed ledger commit h the last Commit: itself,
// or with a write branch, base with h's ledger.
func (s *Source) loadWritten(base Commit, h plumbing.Hash) (Commit, error) {
	if s.write == "" {
		return s.load(h, plumbing.ZeroHash)
	}
	return s.load(plumbing.NewHash(base.Hash), h)
}

// adopt makes c (already on the branch) the last commit without a fetch.
func (s *Source) adopt(c Commit) (Commit, error) {
	if s.last.Hash == c.Hash {
		return s.last, nil
	}
	return s.load(plumbing.NewHash(c.Hash), s.lastWrite)
}

func checkLedgerPaths(files map[string][]byte) error {
	for p := range files {
		if !strings.HasPrefix(p, LedgerDir+"/") || path.Clean(p) != p || strings.Contains(p, "/../") {
			return fmt.Errorf("write-back may change only %s/, not %q", LedgerDir, p)
		}
	}
	return nil
}

// commitOn writes a commit of parent's tree with files applied; the zero
// hash means the tree would not change.
func (s *Source) commitOn(parent plumbing.Hash, files map[string][]byte, message string) (plumbing.Hash, error) {
	when := s.cfg.When
	if when.IsZero() {
		when = time.Now() // the commit's own time, as git stamps one
	}
	sig := object.Signature{Name: s.cfg.Author.Name, Email: s.cfg.Author.Email, When: when}
	return CommitFiles(s.repo.Storer, parent, files, message, sig, s.cfg.Signer)
}

// CommitFiles stores a commit, by sig as author and committer, of
// parent's tree with files applied (slash paths from the root; a nil
// value deletes the file), signed by signer when it is set. A zero
// parent makes a root commit on the empty tree. It returns the zero hash,
// and stores nothing but blobs and trees, when the tree would not change.
// Only new objects are written, never a reference.
func CommitFiles(st storer.EncodedObjectStorer, parent plumbing.Hash, files map[string][]byte, message string, sig object.Signature, signer gogit.Signer) (plumbing.Hash, error) {
	var base plumbing.Hash
	var parents []plumbing.Hash
	if !parent.IsZero() {
		pc, err := object.GetCommit(st, parent)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("parent commit %s: %w", parent, err)
		}
		base, parents = pc.TreeHash, []plumbing.Hash{parent}
	}
	tree, err := writeTree(st, base, files)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if tree == base {
		return plumbing.ZeroHash, nil
	}
	if tree.IsZero() {
		if tree, err = storeTree(st, nil); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	c := &object.Commit{
		Author:       sig,
		Committer:    sig,
		Message:      strings.TrimRight(message, "\n") + "\n",
		TreeHash:     tree,
		ParentHashes: parents,
	}
	if signer != nil {
		unsigned := &plumbing.MemoryObject{}
		if err := c.EncodeWithoutSignature(unsigned); err != nil {
			return plumbing.ZeroHash, err
		}
		r, err := unsigned.Reader()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		signature, err := signer.Sign(r)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("sign ledger commit: %w", err)
		}
		c.PGPSignature = string(signature)
	}
	obj := st.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return st.SetEncodedObject(obj)
}

// writeTree stores the tree at base (zero: empty) with changes (paths
// relative to it) applied and returns its hash, zero for an empty tree.
func writeTree(st storer.EncodedObjectStorer, base plumbing.Hash, changes map[string][]byte) (plumbing.Hash, error) {
	var entries []object.TreeEntry
	if !base.IsZero() {
		t, err := object.GetTree(st, base)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("read tree %s: %w", base, err)
		}
		entries = append(entries, t.Entries...)
	}
	index := func(name string) int {
		for i, e := range entries {
			if e.Name == name {
				return i
			}
		}
		return -1
	}
	set := func(name string, e *object.TreeEntry) {
		i := index(name)
		switch {
		case e == nil && i >= 0:
			entries = append(entries[:i], entries[i+1:]...)
		case e != nil && i >= 0:
			entries[i] = *e
		case e != nil:
			entries = append(entries, *e)
		}
	}
	subdirs := map[string]map[string][]byte{}
	for p, data := range changes {
		name, rest, isDir := strings.Cut(p, "/")
		if isDir {
			if subdirs[name] == nil {
				subdirs[name] = map[string][]byte{}
			}
			subdirs[name][rest] = data
			continue
		}
		if data == nil {
			set(name, nil)
			continue
		}
		h, err := storeBlob(st, data)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		mode := filemode.Regular
		if i := index(name); i >= 0 && entries[i].Mode == filemode.Executable {
			mode = filemode.Executable
		}
		set(name, &object.TreeEntry{Name: name, Mode: mode, Hash: h})
	}
	for name, sub := range subdirs {
		var subBase plumbing.Hash
		if i := index(name); i >= 0 {
			if entries[i].Mode != filemode.Dir {
				return plumbing.ZeroHash, fmt.Errorf("%s is a file, not a directory", name)
			}
			subBase = entries[i].Hash
		}
		h, err := writeTree(st, subBase, sub)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if h.IsZero() {
			set(name, nil)
		} else {
			set(name, &object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
		}
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, nil
	}
	return storeTree(st, entries)
}

func storeTree(st storer.EncodedObjectStorer, entries []object.TreeEntry) (plumbing.Hash, error) {
	// Git sorts a directory "a" as if it were named "a/".
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(entries, func(i, j int) bool { return key(entries[i]) < key(entries[j]) })
	obj := st.NewEncodedObject()
	if err := (&object.Tree{Entries: entries}).Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return st.SetEncodedObject(obj)
}

func storeBlob(st storer.EncodedObjectStorer, data []byte) (plumbing.Hash, error) {
	obj := st.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(data)))
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(data); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return st.SetEncodedObject(obj)
}

// push moves branch target from old (zero: absent) to h. It is a
// compare-and-swap: the client refuses when the advertised branch is not
// old, and the server's receive-pack refuses when the branch is not old at
// the moment it locks it, so a concurrent push is never overwritten.
func (s *Source) push(ctx context.Context, h, old plumbing.Hash, target plumbing.ReferenceName) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	src := plumbing.ReferenceName("refs/ebb/write")
	if err := s.repo.Storer.SetReference(plumbing.NewHashReference(src, h)); err != nil {
		return err
	}
	o := &gogit.PushOptions{
		RemoteName:   "origin",
		RefSpecs:     []config.RefSpec{config.RefSpec(src.String() + ":" + target.String())},
		Auth:         s.auth,
		CABundle:     s.cfg.Auth.CABundle,
		ProxyOptions: s.proxy(ctx),
	}
	if !old.IsZero() {
		o.RequireRemoteRefs = []config.RefSpec{config.RefSpec(old.String() + ":" + target.String())}
	}
	if err := s.remote.PushContext(ctx, o); err != nil {
		return err
	}
	return s.repo.Storer.SetReference(plumbing.NewHashReference(target, h))
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// openPGPSigner signs commits with an OpenPGP key (armored detached
// signature, as git's gpg format).
type openPGPSigner struct{ key *openpgp.Entity }

func (o openPGPSigner) Sign(message io.Reader) ([]byte, error) {
	var b bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&b, o.key, message, nil); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var _ gogit.Signer = openPGPSigner{}
