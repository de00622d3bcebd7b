package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/engine/forge"
	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/internal/admin"
	"github.com/ebb-dev/ebb/runtime/local"
	"github.com/ebb-dev/ebb/serving"
)

const upGitUsage = `
Following Git (ebb up URL):
  URL is https://, http://, ssh://, user@host:path, file:// or a bare
  repository on this machine. ebb fetches it, runs what its head renders,
  and pushes every ledger change back as a commit (never forced).
  --ref REF             what to follow: refs/heads/NAME, refs/tags/NAME, a
                        full commit hash, or a branch name
  --branch NAME         branch to follow (default main)
  --tag NAME            follow a tag instead
  --commit HASH         pin one commit instead
  --write-branch NAME   push ledger commits to NAME instead of the followed branch
  --read-only           never push: keep the ledger in memory
  --poll DURATION       how often to fetch (default 1m, ±10% jitter)
  --webhook-secret-file FILE  accept pushes signed with the secret in FILE
                        (or $EBB_WEBHOOK_SECRET) at POST /v1/webhook on --admin
  --preview GLOB        run the refs matching GLOB as previews (repeatable, e.g.
                        'refs/heads/preview/*', 'refs/pull/*/head'); default none
  --forge KIND[=API]    github, gitlab or gitea: read each pull request from the
                        forge's API (token in $EBB_FORGE_TOKEN, else the Git token)
  --commit-statuses     set commit statuses on the forge (needs --forge): ebb/apply,
                        ebb/preview/<service>, ebb/rollout/<service>
  --pr-comment          with --commit-statuses: keep one comment on each previewed pull
                        request (service, preview URL, canary weight, success rate, p99)
  --preview-author LOGIN  run pull requests of this author, even from forks (repeatable)
  --preview-label NAME  run pull requests carrying this label (repeatable)
  --preview-forks       run every pull request, forks included
  --preview-image PAT   images a preview may run ('*' matches anything; repeatable;
                        default: the images the branch runs, and ko:// paths)
  --preview-namespace NS  run each preview as a Service <service>-<tag> of its own
                        in NS (which must exist) instead of a tagged revision
  --preview-ttl D       drop a preview TTL after its head was fetched (default 72h)
  --preview-user U[:G]  with ebb up as root, previews' processes run as this user
                        (default 65534:65534, nobody)
  --username NAME       HTTP(S) user; the password or token comes from
                        $EBB_GIT_PASSWORD, a bearer token from $EBB_GIT_TOKEN
  --ssh-key FILE        SSH private key ($EBB_GIT_SSH_PASSPHRASE unlocks it)
  --known-hosts FILE    SSH known_hosts (default ~/.ssh/known_hosts)
` + verifyUsage

// gitFlags are the flags of `ebb up URL`.
type gitFlags struct {
	ref, branch, tag, commit, writeBranch *string
	readOnly                              *bool
	poll, previewTTL                      *time.Duration
	secretFile, username, sshKey, known   *string
	previews                              stringList
	forge, previewUser, previewNamespace  *string
	previewForks, commitStatuses          *bool
	prComment                             *bool
	previewAuthors, previewLabels         stringList
	previewImages                         stringList
	verify                                *verifyFlags

	// secretOnCommandLine is --webhook-secret, refused: its value would
	// be visible to every user of the machine (ps, /proc/PID/cmdline).
	secretOnCommandLine refusedFlag

	// limits bound what is read of each commit (and of DIR).
	limits serving.Limits
}

// refusedFlag is a flag that may not be given; it records that it was,
// never its value.
type refusedFlag bool

func (f *refusedFlag) String() string     { return "" }
func (f *refusedFlag) Set(v string) error { *f = true; return nil }

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func addGitFlags(fs *flag.FlagSet) *gitFlags {
	g := &gitFlags{
		ref:              fs.String("ref", "", "ref to follow"),
		branch:           fs.String("branch", "", "branch to follow"),
		tag:              fs.String("tag", "", "tag to follow"),
		commit:           fs.String("commit", "", "commit to pin"),
		writeBranch:      fs.String("write-branch", "", "branch for ledger commits"),
		readOnly:         fs.Bool("read-only", false, "keep the ledger in memory"),
		poll:             fs.Duration("poll", time.Minute, "fetch interval"),
		previewTTL:       fs.Duration("preview-ttl", 72*time.Hour, "preview lifetime"),
		secretFile:       fs.String("webhook-secret-file", "", "file holding the webhook secret"),
		username:         fs.String("username", "", "HTTP(S) user"),
		sshKey:           fs.String("ssh-key", "", "SSH private key file"),
		known:            fs.String("known-hosts", "", "known_hosts file"),
		forge:            fs.String("forge", "", "forge kind and API URL"),
		previewForks:     fs.Bool("preview-forks", false, "run every pull request"),
		commitStatuses:   fs.Bool("commit-statuses", false, "set commit statuses on the forge"),
		prComment:        fs.Bool("pr-comment", false, "keep a comment on each previewed pull request"),
		previewUser:      fs.String("preview-user", "65534:65534", "uid[:gid] previews run as"),
		previewNamespace: fs.String("preview-namespace", "", "namespace previews run in"),
	}
	fs.Var(&g.previews, "preview", "preview ref glob")
	fs.Var(&g.previewAuthors, "preview-author", "trusted pull request author")
	fs.Var(&g.previewLabels, "preview-label", "trusted pull request label")
	fs.Var(&g.previewImages, "preview-image", "image pattern a preview may run")
	fs.Var(&g.secretOnCommandLine, "webhook-secret", "refused: use --webhook-secret-file")
	fs.Var(&g.limits, "limits", "limits on what is read")
	g.verify = addVerifyFlags(fs)
	return g
}

// webhookSecret is the secret of POST /v1/webhook: the content of
// --webhook-secret-file (without its final newline), else
// $EBB_WEBHOOK_SECRET; "" when neither is given. A secret given on the
// command line is an error.
func (g *gitFlags) webhookSecret(e *env) (string, error) {
	if g.secretOnCommandLine {
		return "", errors.New("--webhook-secret: a secret on the command line is visible to every user of this machine; " +
			"give --webhook-secret-file FILE or $EBB_WEBHOOK_SECRET")
	}
	if *g.secretFile == "" {
		return e.getenv("EBB_WEBHOOK_SECRET"), nil
	}
	b, err := os.ReadFile(*g.secretFile)
	if err != nil {
		return "", fmt.Errorf("--webhook-secret-file: %w", err)
	}
	secret := strings.TrimRight(string(b), "\r\n")
	if secret == "" {
		return "", fmt.Errorf("--webhook-secret-file %s: empty", *g.secretFile)
	}
	return secret, nil
}

// isGitSource reports whether arg names a Git repository to follow
// rather than a directory to run: a URL, the scp form user@host:path, or
// a bare repository on this machine. A Git work tree is a directory.
func isGitSource(arg string) bool {
	for _, p := range []string{"https://", "http://", "ssh://", "file://", "git://"} {
		if strings.HasPrefix(arg, p) {
			return true
		}
	}
	if at, colon := strings.Index(arg, "@"), strings.Index(arg, ":"); at > 0 && colon > at && !strings.Contains(arg[:colon], "/") {
		return true
	}
	for _, f := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(arg, f)); err != nil {
			return false
		}
	}
	return true
}

// parseRef reads --ref: a full ref name, a full commit hash, or a
// branch name.
func parseRef(ref string) git.Ref {
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		return git.Ref{Branch: b}
	}
	if t, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		return git.Ref{Tag: t}
	}
	if len(ref) == 40 && strings.Trim(ref, "0123456789abcdef") == "" {
		return git.Ref{Commit: ref}
	}
	return git.Ref{Branch: ref}
}

// isSSH reports whether url is reached over SSH.
func isSSH(url string) bool {
	return strings.HasPrefix(url, "ssh://") || (!strings.Contains(url, "://") && strings.Contains(url, "@"))
}

// sourceConfig turns the flags into a source configuration.
func (g *gitFlags) sourceConfig(e *env, url, cacheRoot string) (git.Config, error) {
	cfg := git.Config{URL: url, Ref: git.Ref{Branch: *g.branch, Tag: *g.tag, Commit: *g.commit},
		WriteBranch: *g.writeBranch, Author: git.Signature{Name: "ebb", Email: "ebb@localhost"}}
	if *g.ref != "" {
		if cfg.Ref != (git.Ref{}) {
			return cfg, fmt.Errorf("--ref and --branch/--tag/--commit: give one")
		}
		cfg.Ref = parseRef(*g.ref)
	}
	if cfg.Ref == (git.Ref{}) {
		cfg.Ref.Branch = "main"
	}
	if !strings.Contains(url, "://") && !strings.Contains(url, "@") {
		abs, err := filepath.Abs(url)
		if err != nil {
			return cfg, err
		}
		cfg.URL = abs
	}
	cfg.Auth = git.Auth{Username: *g.username, Password: e.getenv("EBB_GIT_PASSWORD"), BearerToken: e.getenv("EBB_GIT_TOKEN"),
		SSHKeyPassphrase: e.getenv("EBB_GIT_SSH_PASSPHRASE")}
	if *g.sshKey != "" {
		b, err := os.ReadFile(*g.sshKey)
		if err != nil {
			return cfg, fmt.Errorf("--ssh-key: %w", err)
		}
		cfg.Auth.SSHKey = b
		known := *g.known
		if known == "" {
			if home, err := os.UserHomeDir(); err == nil {
				known = filepath.Join(home, ".ssh", "known_hosts")
			}
		}
		if cfg.Auth.KnownHosts, err = os.ReadFile(known); err != nil {
			return cfg, fmt.Errorf("known_hosts: %w", err)
		}
	}
	if err := g.verify.configure(e, &cfg, *g.readOnly); err != nil {
		return cfg, err
	}
	sum := sha256.Sum256([]byte(cfg.URL + "\x00" + cfg.Ref.String()))
	cfg.CacheDir = filepath.Join(cacheRoot, hex.EncodeToString(sum[:8]), "repo.git")
	return cfg, nil
}

// previewsFor makes the previews of the repository cfg follows: nil
// unless --preview names refs.
func (g *gitFlags) previewsFor(e *env, cfg git.Config, log *slog.Logger) (*engine.Previews, error) {
	patterns := slices.DeleteFunc(slices.Clone(g.previews), func(p string) bool { return p == "none" })
	if len(patterns) == 0 {
		return nil, nil
	}
	if isSSH(cfg.URL) {
		return nil, fmt.Errorf("--preview: preview refs are listed over HTTP(S) and local paths only")
	}
	if ns := *g.previewNamespace; ns != "" {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			return nil, fmt.Errorf("--preview-namespace %q: %s", ns, strings.Join(msgs, "; "))
		}
	}
	p := &engine.Previews{Patterns: patterns, TTL: *g.previewTTL, Logger: log,
		Trust:  engine.PreviewTrust{Forks: *g.previewForks, Authors: g.previewAuthors, Labels: g.previewLabels},
		Policy: engine.PreviewPolicy{Untrusted: serving.Untrusted{Images: g.previewImages}, Namespace: *g.previewNamespace},
		List:   func(ctx context.Context) (map[string]string, error) { return engine.ListRefs(ctx, cfg.URL, cfg.Auth) },
		Open:   func(ref, hash string) (engine.Fetcher, error) { return engine.OpenPreview(cfg, ref, hash) },
	}
	client, err := g.forgeClient(e, cfg, nil)
	if err != nil {
		return nil, err
	}
	if client != nil {
		p.PullRequest = client.PullRequest
	}
	if err := p.Check(); err != nil {
		return nil, fmt.Errorf("--preview: %w (--forge, or --preview-forks)", err)
	}
	return p, nil
}

// forgeClient is the client of --forge for the repository cfg follows,
// with the token of $EBB_FORGE_TOKEN, else the Git token or password;
// nil without --forge. observe, when set, is told of every request.
func (g *gitFlags) forgeClient(e *env, cfg git.Config, observe func(method string, code int)) (*forge.Client, error) {
	if *g.forge == "" {
		return nil, nil
	}
	kind, api, err := forge.ParseKind(*g.forge)
	if err != nil {
		return nil, fmt.Errorf("--forge: %w", err)
	}
	token := cmp.Or(e.getenv("EBB_FORGE_TOKEN"), cfg.Auth.BearerToken, cfg.Auth.Password)
	client, err := forge.New(kind, api, cfg.URL, token)
	if err != nil {
		return nil, fmt.Errorf("--forge: %w", err)
	}
	client.Observe = observe
	return client, nil
}

// statusPoster posts the commit statuses of loop's state, services
// giving the Status of what it applied, with requests counted in reg:
// nil without --commit-statuses.
func (g *gitFlags) statusPoster(e *env, cfg git.Config, reg prometheus.Registerer, loop *engine.Loop,
	services func() []engine.ServiceStatus, log *slog.Logger) (*engine.StatusPoster, error) {
	if !*g.commitStatuses {
		if *g.prComment {
			return nil, errors.New("--pr-comment: give --commit-statuses too")
		}
		return nil, nil
	}
	if *g.forge == "" {
		return nil, errors.New("--commit-statuses: give the forge the repository lives on with --forge")
	}
	kind, _, _ := forge.ParseKind(*g.forge)
	observe, err := engine.ForgeRequests(reg, cmp.Or(loop.Name, "main"), string(kind))
	if err != nil {
		return nil, err
	}
	client, err := g.forgeClient(e, cfg, observe)
	if err != nil {
		return nil, err
	}
	p := &engine.StatusPoster{Forge: string(kind), Client: client, Logger: log,
		Want: func() []engine.CommitStatus { return loop.CommitStatuses(services()) }}
	if *g.prComment {
		p.Comments = client
		p.WantComments = func() map[int]string { return loop.PullRequestComments(services()) }
	}
	return p, nil
}

// isolatePreviews keeps ebb's credentials from the previews' processes:
// ebb becomes undumpable, so its environment and memory in /proc are
// closed to them, and when ebb runs as root they run as --preview-user in
// a sandbox. Without root they run as ebb's user, which ebb says.
func (g *gitFlags) isolatePreviews(e *env) (*local.Sandbox, error) {
	if err := local.Undumpable(); err != nil {
		return nil, fmt.Errorf("previews: make ebb undumpable: %w", err)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintf(e.stderr, "ebb: previews run as uid %d, ebb's own user, and can read its files (not its environment); run ebb as root to run them as --preview-user\n", os.Geteuid())
		return nil, nil
	}
	uid, gid, err := local.ParseUser(*g.previewUser)
	if err != nil {
		return nil, fmt.Errorf("--preview-user: %w", err)
	}
	sb, err := local.NewSandbox(uid, gid)
	if err != nil {
		return nil, fmt.Errorf("previews: %w", err)
	}
	fmt.Fprintf(e.stdout, "ebb: previews run as uid %d, gid %d\n", uid, gid)
	return sb, nil
}

// runUpGit is `ebb up URL`.
func runUpGit(ctx context.Context, e *env, url string, g *gitFlags, addr, admin string, log *slog.Logger) int {
	secret, err := g.webhookSecret(e)
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitUsage
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	cfg, err := g.sourceConfig(e, url, filepath.Join(cache, "ebb", "git"))
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitUsage
	}
	cfg.Logger = log
	src, err := git.New(cfg)
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitUsage
	}
	// The runtime builds ko:// images and runs relative commands from a
	// checkout of the applied commit.
	work := filepath.Join(filepath.Dir(cfg.CacheDir), "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitInvalid
	}
	previews, err := g.previewsFor(e, cfg, log)
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitUsage
	}
	var sandbox *local.Sandbox
	if previews != nil {
		if sandbox, err = g.isolatePreviews(e); err != nil {
			fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
			return exitInvalid
		}
		if sandbox != nil {
			defer sandbox.Remove()
		}
	}
	u, err := newUp(work, e, log, sandbox)
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitInvalid
	}
	gu := &gitUp{up: u, url: git.Redact(url), work: work, previews: filepath.Join(filepath.Dir(cfg.CacheDir), "previews"), files: &commitFiles{src: src}}
	if sandbox != nil {
		// The sandboxed user must reach the previews' checkouts.
		gu.previews = filepath.Join(sandbox.Dir, "src")
	}
	gu.loop = &engine.Loop{Source: gu.files, Target: gu, ReadOnly: *g.readOnly, Logger: log, Report: gu.report, Limits: g.limits, Observe: u.observed, Whole: true}
	u.planned = gu.loop.Main
	if gu.loop.Metrics, err = engine.NewMetrics(u.metrics); err == nil {
		err = u.metrics.Register(engine.SourceCollector{Name: "main", Source: src})
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb up: metrics: %v\n", err)
		return exitInvalid
	}
	gu.loop.Previews = previews
	if gu.loop.Statuses, err = g.statusPoster(e, cfg, u.metrics, gu.loop, gu.status, log); err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitUsage
	}
	if err := gu.serve(ctx, addr, admin, git.Poll{Interval: *g.poll, Jitter: 0.1}, secret); err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitInvalid
	}
	return exitOK
}

// gitUp is `ebb up` following a Git source.
type gitUp struct {
	*up
	url  string // the source's URL as ebb prints it, credentials redacted
	work string
	// previews holds a checkout of each preview commit a revision runs
	// from, one directory per commit.
	previews string
	files    *commitFiles
	loop     *engine.Loop
}

// Apply checks the applied commit's files out for the runtime, and each
// preview's for its revisions, then runs them like `ebb up DIR` does.
func (g *gitUp) Apply(ctx context.Context, d *engine.Desired) error {
	if files, ok := g.files.get(d.At.Commit); ok {
		if err := checkout(files, g.work); err != nil {
			return fmt.Errorf("check out %s: %w", d.At.Commit, err)
		}
	}
	sources := g.previewSources(d)
	g.mu.Lock()
	g.sources = sources
	g.mu.Unlock()
	if err := g.up.Apply(ctx, d); err != nil {
		return err
	}
	g.mu.Lock()
	g.desired = d
	g.mu.Unlock()
	g.noteGCSchedule(d)
	return nil
}

// collectGit runs garbage collection over the main branch's ledgers on
// config-gc's schedule, writing it back through the loop, which applies
// it on the next pass.
func (g *gitUp) collectGit(ctx context.Context, runs <-chan time.Time, kicks git.Kicks) {
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-runs:
			d := g.loop.Main()
			if d == nil {
				continue
			}
			res, err := engine.CollectGarbage(ctx, d, g.loop, now)
			if err != nil {
				fmt.Fprintf(g.e.stderr, "ebb: garbage collection: %v\n", err)
				continue
			}
			if !res.Empty() {
				fmt.Fprintf(g.e.stdout, "%s\n", res.Message())
				kicks.Kick()
			}
		}
	}
}

// report prints a pass's outcome.
func (g *gitUp) report(p engine.Pass) {
	if p.Err != nil {
		switch p.Stage {
		case engine.StageInvalid:
			fmt.Fprintf(g.e.stderr, "ebb: %s at %s is not valid; what runs is unchanged:\n%v\n", g.url, short(g.loop.Status().Fetched), p.Err)
		case engine.StageUnverified:
			fmt.Fprintf(g.e.stderr, "ebb: %s at %s is refused; what runs is unchanged: %v\n", g.url, short(g.loop.Status().Fetched), p.Err)
		default:
			fmt.Fprintf(g.e.stderr, "ebb: %s: %s: %v\n", g.url, p.Stage, p.Err)
		}
	}
	for _, c := range p.Changes {
		fmt.Fprintf(g.e.stdout, "ebb: %s\n", c)
	}
	if p.Wrote != "" {
		fmt.Fprintf(g.e.stdout, "ebb: pushed ledger commit %s\n", short(p.Wrote))
	}
	for _, pv := range p.Previews {
		if pv.Error != "" {
			fmt.Fprintf(g.e.stderr, "ebb: preview %s: %s\n", pv.Ref, pv.Error)
		} else if len(pv.Services) > 0 {
			fmt.Fprintf(g.e.stdout, "ebb: preview %s (tag %s) at %s: %s\n", pv.Ref, pv.Tag, short(pv.Commit), strings.Join(pv.Services, ", "))
		}
	}
	if p.Commit != "" {
		fmt.Fprintf(g.e.stdout, "ebb: applied %s\n", short(p.Commit))
		g.printURLs()
	}
}

func short(hash string) string { return hash[:min(len(hash), 12)] }

// serve runs the servers and the sync loop until ctx ends.
func (g *gitUp) serve(ctx context.Context, addr, adminAddr string, poll git.Poll, secret string) error {
	mux, err := g.adminMux(admin.Source{Secret: []byte(secret),
		Status: func() any { return []engine.SourceStatus{g.loop.Status()} }})
	if err != nil {
		return err
	}
	return g.run(ctx, addr, adminAddr, mux, g.url, func(ctx context.Context, wg *gosync.WaitGroup) {
		gcRuns := make(chan time.Time)
		wg.Go(func() { g.gcLoop(ctx, gcRuns) })
		wg.Go(func() { g.collectGit(ctx, gcRuns, g.kicks) })
		if g.loop.Statuses != nil {
			wg.Go(func() { g.loop.Statuses.Run(ctx) })
		}
		if g.loop.ReadOnly {
			msg := fmt.Sprintf("ebb: READ-ONLY: ledger changes stay in memory and are never pushed to %s; they are lost when ebb stops\n", g.url)
			fmt.Fprint(g.e.stdout, msg)
			fmt.Fprint(g.e.stderr, msg)
		}
		_ = g.loop.Run(ctx, poll, g.kicks)
	})
}

// upLogger logs to stderr, debug lines with -v.
func upLogger(e *env, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
}
