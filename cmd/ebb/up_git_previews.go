package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/engine/forge"
	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/runtime/local"
	"github.com/ebb-dev/ebb/serving"
)

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
