package engine

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ebb-dev/ebb/engine/gitdir"
	"github.com/ebb-dev/ebb/serving"
)

// Steering a rollout by hand (`ebb rollout promote|abort`): the decision
// is a ledger change like ebb's own, committed to the serving repository,
// and ebb follows it like any other commit.

// Steered is what SteerRollout did.
type Steered struct {
	// Ledger is the Service's ledger as written.
	Ledger *serving.Ledger
	// Changes are the decision, then the traffic and retirements it
	// resolves to.
	Changes []serving.Change
	// File is the ledger file, relative to the repository's root.
	File string
	// Message is the commit message.
	Message string
	// Commit is the ledger commit; "" when the directory is not a Git
	// work tree, where the file is only written.
	Commit string
}

// SteerRollout applies s, decided by author, to the progressing rollout
// of the Service namespace/name of the serving repository dir at now (see
// serving.Tree.Steer), and writes the Service's ledger file. When dir is
// the root of a Git work tree, that file alone is committed on top of
// HEAD, as author, with the subject "ebb: <namespace>/<name>: promote
// <canary> (by <author>)" or "…: rollback <canary>: aborted by <author>";
// a ledger file that differs from HEAD's is refused. ebb up on dir picks
// the change up at its next pass; ebb controller once it is pushed.
func SteerRollout(dir, namespace, name string, s serving.Steer, author Signature, now time.Time) (*Steered, error) {
	root, err := OpenDir(dir)
	if err != nil {
		return nil, err
	}
	file := serving.LedgerPath(namespace, name)
	base, err := root.ReadFile(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		root.Close()
		return nil, err
	}
	tree, err := serving.Load(root)
	if err == nil {
		// The Service's revision covers its ko:// code, as ebb up plans it.
		DigestDirCode(dir, root, tree)
	}
	root.Close()
	if err != nil {
		return nil, err
	}
	l, changes, err := tree.Steer(namespace, name, s, author.Name, DirStamp(dir, now))
	if err != nil {
		return nil, err
	}
	// The decision is the subject; the body lists every change.
	_, body, _ := strings.Cut(CommitMessage(changes), "\n\n")
	out := &Steered{Ledger: l, Changes: changes, File: file, Message: "ebb: " + changes[0].String() + "\n\n" + body}
	if !IsWorktreeRoot(dir) {
		_, err := DirWriter{Dir: dir}.Store([]*serving.Ledger{l}, nil)
		return out, err
	}
	out.Commit, err = WorktreeWriter{Dir: dir, Author: author, When: now}.CommitLedger(l, base, out.Message)
	if errors.Is(err, ErrLedgerMoved) {
		return nil, fmt.Errorf("%s in the work tree is not HEAD's (ebb may have committed meanwhile, or it was edited): "+
			"commit or restore it, then run this again: %w", file, err)
	}
	return out, err
}

// ReadRollout reads the rollout of the Service namespace/name from its
// ledger in the serving repository dir: nil when it never rolled out
// analysed. A Service with no ledger is an error.
func ReadRollout(dir, namespace, name string) (*RolloutStatus, error) {
	root, err := OpenDir(dir)
	if err != nil {
		return nil, err
	}
	tree, err := serving.Load(root)
	root.Close()
	if err != nil {
		return nil, err
	}
	var annotations map[string]string
	for _, s := range tree.Services {
		if s.Namespace == namespace && s.Name == name {
			annotations = s.Annotations
		}
	}
	for _, l := range tree.Ledgers {
		if l.Namespace == namespace && l.Service == name {
			return RolloutOf(l, annotations, tree.Config), nil
		}
	}
	return nil, fmt.Errorf("%s/%s: no ledger in %s (%s): has ebb planned the Service?", namespace, name, dir, serving.LedgerPath(namespace, name))
}

// DirStamp is the state of the serving repository dir to plan at: its
// HEAD when it is the root of a Git work tree (marked -dirty when files
// other than the ledger differ from it), else "uncommitted"; now, to the
// second, is the time.
func DirStamp(dir string, now time.Time) serving.Stamp {
	s := serving.Stamp{Commit: "uncommitted"}
	if head, dirty, ok := WorktreeHead(dir); ok {
		s.Commit = head
		if dirty {
			s.Commit += "-dirty"
		}
	}
	s.Time.Time = now.UTC().Truncate(time.Second)
	return s
}

// GitAuthor is who commits in dir as git would name them:
// $GIT_AUTHOR_NAME and $GIT_AUTHOR_EMAIL, else author.* or user.* of the
// repository's and the user's git configuration; else $USER, with no
// email.
func GitAuthor(dir string, getenv func(string) string) Signature {
	var cfg *config.Config
	if repo, err := gogit.PlainOpen(dir); err == nil {
		cfg, _ = repo.ConfigScoped(config.GlobalScope)
	}
	if cfg == nil {
		cfg, _ = config.LoadConfig(config.GlobalScope)
	}
	if cfg == nil {
		cfg = config.NewConfig()
	}
	return Signature{
		Name:  cmp.Or(getenv("GIT_AUTHOR_NAME"), cfg.Author.Name, cfg.User.Name, getenv("USER"), "unknown"),
		Email: cmp.Or(getenv("GIT_AUTHOR_EMAIL"), cfg.Author.Email, cfg.User.Email),
	}
}

// ErrLedgerMoved is CommitLedger's error when HEAD's ledger file is not
// the one the ledger was planned from.
var ErrLedgerMoved = errors.New("HEAD's ledger file is not the one planned from")

// CommitLedger commits l's ledger file alone on top of HEAD with message,
// provided HEAD's file holds base, the bytes l was planned from (nil:
// HEAD has no such file); else it changes nothing and returns
// ErrLedgerMoved. Then it writes the file into the work tree and brings
// the index's .ebb/ entries up to date: whatever else the user has
// staged stays staged. It returns the commit.
func (w WorktreeWriter) CommitLedger(l *serving.Ledger, base []byte, message string) (string, error) {
	file := serving.LedgerPath(l.Namespace, l.Service)
	b, err := serving.MarshalLedger(l)
	if err != nil {
		return "", err
	}
	repo, err := gitdir.Open(w.Dir)
	if err != nil {
		return "", fmt.Errorf("commit %s: %w", file, err)
	}
	st := newSyncedObjects(repo.CommonDir)
	head, committed, err := w.commitOnHead(repo, st, message, func(head plumbing.Hash) (map[string][]byte, error) {
		committed, err := headLedger(st, head)
		if err != nil {
			return nil, err
		}
		f, ok := committed[file]
		if ok != (base != nil) || (ok && f.hash != plumbing.ComputeHash(plumbing.BlobObject, base)) {
			return nil, ErrLedgerMoved
		}
		return map[string][]byte{file: b}, nil
	})
	if err != nil {
		return "", fmt.Errorf("commit %s: %w", file, err)
	}
	if !committed {
		return "", fmt.Errorf("commit %s: HEAD holds it already", file)
	}
	if _, err := (DirWriter{Dir: w.Dir}).Store([]*serving.Ledger{l}, nil); err != nil {
		return head.String(), fmt.Errorf("committed %s as %s, but the work tree's file is not: %w", file, head, err)
	}
	w.refreshIndex(repo, st, head)
	return head.String(), nil
}
