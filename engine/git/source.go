package git

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// Commit is one commit of the source: its identity and its whole tree.
// Files holds the tree's names and sizes in memory and reads a file's
// content from the source's cache when it is opened; it never changes,
// whatever later fetches do (a force-push followed by a compaction of the
// cache drops what the branch no longer reaches: reading such a file then
// fails).
type Commit struct {
	Hash    string
	Time    time.Time // committer time: what ledger stamps record
	Author  string    // "Name <email>"
	Message string
	Files   fs.FS
}

// Ref is what a source follows: exactly one of a branch, a tag, a
// pinned commit, or another full ref name.
type Ref struct {
	Branch string
	Tag    string
	Commit string
	// Name is any other full ref name the server advertises, such as a
	// forge's refs/pull/7/head: followed like a branch, never written.
	Name string
}

func (r Ref) String() string {
	switch {
	case r.Commit != "":
		return "commit " + r.Commit
	case r.Tag != "":
		return "tag " + r.Tag
	case r.Name != "":
		return "ref " + r.Name
	}
	return "branch " + r.Branch
}

// Signature names the author of ledger commits.
type Signature struct {
	Name, Email string
}

// Config describes one source.
type Config struct {
	URL  string // https://, http://, ssh://, user@host:path, file:// or a local path
	Ref  Ref
	Auth Auth
	// CacheDir is this source's own bare repository, created if missing
	// and reused across restarts; empty keeps objects in memory.
	CacheDir string
	// Timeout bounds each network operation (default 1 minute).
	Timeout time.Duration

	// WriteBranch, when set, receives the ledger commits instead of the
	// followed branch (which may then be any ref). ebb owns it: it is
	// created from the followed commit, then moves only by ledger
	// commits on top of itself, and Commit values take .ebb/ from its
	// head while it exists. Merge it to bring the ledger into the
	// followed branch.
	WriteBranch string

	// Author of ledger commits (default "ebb <ebb@localhost>").
	Author Signature
	// SignKey, when set, signs ledger commits with OpenPGP; Signer (for
	// example SSHSigner) takes precedence over it.
	SignKey *openpgp.Entity
	Signer  gogit.Signer
	// Verify, when set, accepts only commits signed by its trusted keys,
	// or by the signer's, which ebb's ledger commits then carry: the
	// followed ref's head and the write branch's head. An unverified head
	// is never loaded: Fetch returns its hash, time, author and message,
	// no Files, and an error wrapping ErrUnverified; WriteBack refuses to
	// commit unsigned.
	Verify *Verifier
	// MaxAttempts bounds pushes of one write-back (default 8).
	MaxAttempts int
	// Backoff is the wait before retry n (1, 2, …) after losing a push
	// race (default 50ms·2^(n-1), at most 2s).
	Backoff func(n int) time.Duration
	// When stamps write-back commits; zero: the time each is made.
	When time.Time
	// Logger hears of repairs to a cache an interrupted run left broken.
	Logger *slog.Logger
}

// Counters are monotonic counts a caller can export as metrics.
type Counters struct {
	Fetches       uint64 // fetch attempts
	FetchErrors   uint64
	Changes       uint64 // fetches that found a new head
	Unchanged     uint64 // fetches that found the head where it was
	ObjectsRead   uint64 // trees and blobs decoded into Commit values
	WriteBacks    uint64 // ledger commits pushed
	Conflicts     uint64 // pushes rejected because the branch moved
	PushErrors    uint64 // write-backs that failed
	SkippedWrites uint64 // write-backs that had nothing to change
	Compactions   uint64 // rewrites of the cache as one pack
	CompactErrors uint64 // failed rewrites (the cache stays usable)
	Unverified    uint64 // fetches whose head was refused by Config.Verify
}

// Status is a source's state for display.
type Status struct {
	URL        string // credentials redacted
	Ref        string
	Commit     string // last fetched or written commit
	CommitTime time.Time
	LastFetch  time.Time // when the last fetch attempt ended
	LastChange time.Time // when a new head was last seen
	LastError  string    // error of the last fetch or write-back, "" when it succeeded
	ErrorTime  time.Time
	NextPoll   time.Time
	Counters   Counters
}

// Source follows one repository. Its methods are safe to call from
// several goroutines; fetches and write-backs run one at a time.
type Source struct {
	cfg    Config
	auth   transport.AuthMethod
	repo   *gogit.Repository
	remote *gogit.Remote
	local  plumbing.ReferenceName // where the followed ref is kept in the cache
	write  plumbing.ReferenceName // the write branch, "" when ledger commits go to local

	mu        sync.Mutex       // serialises network operations and the cache
	fs        billy.Filesystem // the cache's files, on disk or in memory
	objects   *blobs           // the cache as Commit values read it; locked while it changes
	last      Commit
	lastWrite plumbing.Hash // write branch head behind last, zero when absent
	// refused is the head and write branch head last refused by
	// Config.Verify, zero when the last fetch was not refused.
	refused [2]plumbing.Hash
	reader  treeReader

	smu    sync.Mutex
	status Status
}

// New opens (or creates) the source's cache; it does no network I/O.
func New(cfg Config) (*Source, error) {
	if err := cfg.checkRef(); err != nil {
		return nil, err
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Source{cfg: cfg}
	s.status.URL, s.status.Ref = Redact(cfg.URL), cfg.Ref.String()
	if s.auth, err = authMethod(cfg.URL, cfg.Auth); err != nil {
		return nil, RedactError(err)
	}
	if err := s.openRepo(); err != nil {
		return nil, fmt.Errorf("source %s: cache %s: %w", Redact(cfg.URL), cfg.CacheDir, err)
	}
	s.objects = &blobs{st: s.repo.Storer}
	s.remote = gogit.NewRemote(s.repo.Storer, &config.RemoteConfig{Name: "origin", URLs: []string{cfg.URL}})
	s.local = cfg.Ref.localName()
	if cfg.WriteBranch != "" && cfg.WriteBranch != cfg.Ref.Branch {
		s.write = plumbing.NewBranchReferenceName(cfg.WriteBranch)
	}
	return s, nil
}

// checkRef checks that the config names exactly one ref, well formed.
func (cfg Config) checkRef() error {
	n := 0
	for _, v := range []string{cfg.Ref.Branch, cfg.Ref.Tag, cfg.Ref.Commit, cfg.Ref.Name} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("source %s: set exactly one of branch, tag, commit and ref name", Redact(cfg.URL))
	}
	if cfg.Ref.Name != "" && !strings.HasPrefix(cfg.Ref.Name, "refs/") {
		return fmt.Errorf("source %s: ref %q is not a full ref name", Redact(cfg.URL), cfg.Ref.Name)
	}
	if cfg.Ref.Commit != "" && !plumbing.IsHash(cfg.Ref.Commit) {
		return fmt.Errorf("source %s: commit %q is not a full hash", Redact(cfg.URL), cfg.Ref.Commit)
	}
	return nil
}

// withDefaults returns the config with its defaults filled in, its
// signer made from SignKey when only that is set, and its verifier
// trusting the signer.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	if cfg.Author.Name == "" {
		cfg.Author = Signature{Name: "ebb", Email: "ebb@localhost"}
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(n int) time.Duration { return min(50*time.Millisecond<<(n-1), 2*time.Second) }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Signer == nil && cfg.SignKey != nil {
		cfg.Signer = openPGPSigner{cfg.SignKey}
	}
	if cfg.Verify != nil && cfg.Signer != nil {
		v, err := cfg.Verify.trusting(cfg.Signer)
		if err != nil {
			return cfg, fmt.Errorf("source %s: verification: %w", Redact(cfg.URL), err)
		}
		cfg.Verify = v
	}
	return cfg, nil
}

// localName is where the followed ref is kept in the cache; "" for a
// pinned commit.
func (r Ref) localName() plumbing.ReferenceName {
	switch {
	case r.Branch != "":
		return plumbing.NewBranchReferenceName(r.Branch)
	case r.Tag != "":
		return plumbing.NewTagReferenceName(r.Tag)
	case r.Name != "":
		return plumbing.ReferenceName(r.Name)
	}
	return ""
}

// Fetch brings the followed ref (and the write branch) up to date. When
// nothing moved since the Commit it returned last, it returns that Commit
// again with changed false, having read nothing but the server's
// reference list (for a pinned commit, nothing at all); otherwise it
// fetches only the new objects (the first fetch is a depth-1 clone) and
// returns the new Commit with changed true.
func (s *Source) Fetch(ctx context.Context) (Commit, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects.mu.Lock()
	c, changed, err := s.fetch(ctx)
	s.objects.mu.Unlock()
	err = RedactError(err)
	s.record(func(st *Status) {
		st.Counters.Fetches++
		st.LastFetch = time.Now()
		switch {
		case errors.Is(err, ErrUnverified):
			st.Counters.Unverified++
		case err != nil:
			st.Counters.FetchErrors++
		case changed:
			st.Counters.Changes++
			st.LastChange = st.LastFetch
		default:
			st.Counters.Unchanged++
		}
	}, err)
	return c, changed, err
}

func (s *Source) fetch(ctx context.Context) (Commit, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	h, w, err := s.fetchHead(ctx)
	if err != nil {
		return Commit{}, false, fmt.Errorf("fetch %s %s: %w", Redact(s.cfg.URL), s.cfg.Ref, s.describe(err))
	}
	if s.last.Hash == h.String() && s.lastWrite == w {
		// Back from a refused head to the last loaded one: a change.
		back := !s.refused[0].IsZero()
		s.refused = [2]plumbing.Hash{}
		return s.last, back, nil
	}
	c, err := s.load(h, w)
	if errors.Is(err, ErrUnverified) {
		again := s.refused == [2]plumbing.Hash{h, w}
		s.refused = [2]plumbing.Hash{h, w}
		return c, !again, err
	}
	if err != nil {
		return Commit{}, false, fmt.Errorf("fetch %s %s: %w", Redact(s.cfg.URL), s.cfg.Ref, err)
	}
	s.refused = [2]plumbing.Hash{}
	s.maintain()
	return c, true, nil
}

// fetchHead updates the cache and returns the commit the ref names and
// the write branch's head (zero when there is none).
func (s *Source) fetchHead(ctx context.Context) (h, write plumbing.Hash, err error) {
	var refs []plumbing.ReferenceName
	if s.cfg.Ref.Commit != "" {
		if h, err = s.fetchPinned(ctx); err != nil {
			return h, write, err
		}
	} else {
		refs = append(refs, s.local)
	}
	if s.write != "" {
		refs = append(refs, s.write)
	}
	if len(refs) == 0 {
		return h, write, nil
	}
	got, err := s.fetchRefs(ctx, refs...)
	if err != nil {
		return h, write, err
	}
	if s.cfg.Ref.Commit == "" {
		var ok bool
		if h, ok = got[s.local]; !ok {
			return h, write, fmt.Errorf("%w: %s", ErrRefNotFound, s.local)
		}
		if h, err = s.peel(h); err != nil {
			return h, write, err
		}
	}
	return h, got[s.write], nil
}

// peel resolves an annotated tag to its commit.
func (s *Source) peel(h plumbing.Hash) (plumbing.Hash, error) {
	for range 10 {
		tag, err := object.GetTag(s.repo.Storer, h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return h, nil // not a tag object
		}
		if err != nil {
			return plumbing.ZeroHash, err
		}
		h = tag.Target
	}
	return plumbing.ZeroHash, fmt.Errorf("tag %s: too many levels", s.cfg.Ref.Tag)
}

// fetchPinned fetches a pinned commit once; afterwards it is in the cache
// and costs nothing.
func (s *Source) fetchPinned(ctx context.Context) (plumbing.Hash, error) {
	h := plumbing.NewHash(s.cfg.Ref.Commit)
	if _, err := s.repo.CommitObject(h); err == nil {
		return h, nil
	}
	pinned := plumbing.ReferenceName("refs/ebb/pinned")
	err := s.remote.FetchContext(ctx, &gogit.FetchOptions{
		RefSpecs: []config.RefSpec{config.RefSpec(h.String() + ":" + pinned.String())},
		Depth:    1, Auth: s.auth, Tags: gogit.NoTags, CABundle: s.cfg.Auth.CABundle,
		ProxyOptions: s.proxy(ctx),
	})
	if errors.Is(err, gogit.ErrExactSHA1NotSupported) {
		// The server will not send a commit by hash: fetch every branch
		// and tag in full, once.
		err = s.remote.FetchContext(ctx, &gogit.FetchOptions{
			RefSpecs: []config.RefSpec{"+refs/heads/*:refs/ebb/all/heads/*", "+refs/tags/*:refs/ebb/all/tags/*"},
			Auth:     s.auth, Tags: gogit.NoTags, Force: true, CABundle: s.cfg.Auth.CABundle,
			ProxyOptions: s.proxy(ctx),
		})
	}
	if err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return plumbing.ZeroHash, err
	}
	if _, err := s.repo.CommitObject(h); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%w: commit %s: %v", ErrRefNotFound, h, err)
	}
	return h, nil
}

// load reads commit h from the cache into a Commit and makes it the last;
// with a write branch whose head is w, .ebb/ comes from w. With
// Config.Verify, a commit of the two that does not verify is an error
// wrapping ErrUnverified, returned with h's Commit without Files.
func (s *Source) load(h, w plumbing.Hash) (Commit, error) {
	co, err := s.repo.CommitObject(h)
	if err != nil {
		return Commit{}, fmt.Errorf("read commit %s: %w", h, err)
	}
	c := Commit{
		Hash:    h.String(),
		Time:    co.Committer.When,
		Author:  co.Author.Name + " <" + co.Author.Email + ">",
		Message: co.Message,
	}
	if err := s.verify(co); err != nil {
		return c, err
	}
	var ledger *plumbing.Hash
	if !w.IsZero() {
		wc, err := s.repo.CommitObject(w)
		if err != nil {
			return Commit{}, fmt.Errorf("read write branch commit %s: %w", w, err)
		}
		if err := s.verify(wc); err != nil {
			return c, fmt.Errorf("write branch %s: %w", s.write.Short(), err)
		}
		var l plumbing.Hash // zero: w has no ledger
		if e, err := wc.Tree(); err != nil {
			return Commit{}, fmt.Errorf("read write branch tree %s: %w", w, err)
		} else if d, err := e.FindEntry(LedgerDir); err == nil {
			l = d.Hash
		}
		ledger = &l
	}
	root, st, err := s.reader.read(s.repo.Storer, co.TreeHash, ledger)
	if err != nil {
		return Commit{}, err
	}
	c.Files = treeFS{root: root, blobs: s.objects, modTime: co.Committer.When}
	s.last, s.lastWrite = c, w
	s.record(func(status *Status) {
		status.Commit, status.CommitTime = c.Hash, c.Time
		status.Counters.ObjectsRead += uint64(st.Trees + st.Blobs)
	}, nil)
	return c, nil
}

// verify checks co's signature when the source verifies.
func (s *Source) verify(co *object.Commit) error {
	if s.cfg.Verify == nil {
		return nil
	}
	who, err := s.cfg.Verify.Verify(co)
	if err == nil {
		s.cfg.Logger.Debug("commit verified", "commit", co.Hash.String(), "signer", who)
	}
	return err
}

// maintain compacts the cache when fetches have left too many packs; a
// failure is counted, and the next fetch tries again.
func (s *Source) maintain() {
	before := s.repo
	err := s.compactIfNeeded()
	s.record(func(st *Status) {
		switch {
		case err != nil:
			st.Counters.CompactErrors++
		case s.repo != before:
			st.Counters.Compactions++
		}
	}, nil)
}

// record updates the status under its own lock; err (nil or not) becomes
// the last error.
func (s *Source) record(update func(*Status), err error) {
	s.smu.Lock()
	defer s.smu.Unlock()
	if update != nil {
		update(&s.status)
	}
	if err != nil {
		s.status.LastError, s.status.ErrorTime = Redact(err.Error()), time.Now()
	} else {
		s.status.LastError = ""
	}
}

// Status returns a copy of the source's state.
func (s *Source) Status() Status {
	s.smu.Lock()
	defer s.smu.Unlock()
	return s.status
}
