package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/engine/git"
)

func TestIsGitSource(t *testing.T) {
	bare := t.TempDir()
	for _, d := range []string{"objects", "refs"} {
		os.Mkdir(filepath.Join(bare, d), 0o755)
	}
	os.WriteFile(filepath.Join(bare, "HEAD"), []byte("ref: refs/heads/main\n"), 0o644)
	worktree := t.TempDir()
	os.Mkdir(filepath.Join(worktree, ".git"), 0o755)
	for arg, want := range map[string]bool{
		"https://git.example.com/org/repo.git": true,
		"http://127.0.0.1:8080/repo.git":       true,
		"ssh://git@host:2222/org/repo.git":     true,
		"git@github.com:org/repo.git":          true,
		"file:///srv/git/repo.git":             true,
		bare:                                   true,
		worktree:                               false,
		".":                                    false,
		"examples/hello":                       false,
		"./dir@v1:x/y":                         false,
	} {
		if got := isGitSource(arg); got != want {
			t.Errorf("isGitSource(%q) = %v, want %v", arg, got, want)
		}
	}
}

func TestWriteSources(t *testing.T) {
	now := time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)
	var b strings.Builder
	writeSources(&b, []engine.SourceStatus{{
		Name: "main", URL: "https://git.example.com/serving.git", Ref: "branch main", ReadOnly: true,
		Fetched: "0123456789abcdef", Applied: "fedcba9876543210", NextSync: now.Add(90 * time.Second),
		LastError:  "apps/hello/service.yaml:14: spec.traffic: Traffic targets sum to 90, want 100\napps/hello/service.yaml:19: spec.traffic[1].tag: duplicate tag",
		ErrorStage: engine.StageInvalid,
		Previews: []engine.PreviewStatus{
			{Ref: "refs/pull/7/head", Tag: "pr-7", Commit: "aaaaaaaaaaaaaaaa", Services: []string{"default/hello"}},
			{Ref: "refs/pull/8/head", Tag: "pr-8", Commit: "bbbbbbbbbbbbbbbb", Error: "service.yaml:3: kind: unknown\nservice.yaml:9: spec: bad"},
		},
		Forge: &engine.ForgeStatus{Forge: "github", Posted: 12, Waiting: 2, RateLimitedUntil: now.Add(4 * time.Minute), NextTry: now.Add(4 * time.Minute),
			LastError: "statuses of aaaa: GET https://api.github.com/repos/org/serving/commits/aaaa/status: 403 Forbidden: API rate limit exceeded"},
	}}, now)
	want := `NAME                         URL                                   REF           FETCHED        APPLIED        NEXT SYNC   ERROR
main (read-only)             https://git.example.com/serving.git   branch main   0123456789ab   fedcba987654   in 1m       apps/hello/service.yaml:14: spec.traffic: Traffic targets sum to 90, want 100 (+1 more line)
  preview refs/pull/7/head   default/hello                         tag pr-7      aaaaaaaaaaaa
  preview refs/pull/8/head   -                                     tag pr-8      bbbbbbbbbbbb                              service.yaml:3: kind: unknown (+1 more line)
  statuses on github         12 posted                             2 waiting                                   in 4m       rate limited for 4m: statuses of aaaa: GET https://api.github.com/repos/org/serving/commits/aaaa/status: 403 Forbidden: API rate limit excee…

main (invalid):
apps/hello/service.yaml:14: spec.traffic: Traffic targets sum to 90, want 100
apps/hello/service.yaml:19: spec.traffic[1].tag: duplicate tag
`
	var got []string
	for _, line := range strings.Split(b.String(), "\n") {
		got = append(got, strings.TrimRight(line, " "))
	}
	if diff := cmp.Diff(want, strings.Join(got, "\n")); diff != "" {
		t.Errorf("ebb get sources (-want +got):\n%s", diff)
	}
}

func TestParseRef(t *testing.T) {
	for in, want := range map[string]git.Ref{
		"refs/heads/production":                    {Branch: "production"},
		"refs/tags/v1.2.0":                         {Tag: "v1.2.0"},
		"0123456789abcdef0123456789abcdef01234567": {Commit: "0123456789abcdef0123456789abcdef01234567"},
		"feature/x":                                {Branch: "feature/x"},
	} {
		if got := parseRef(in); got != want {
			t.Errorf("parseRef(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func TestPreviewFlags(t *testing.T) {
	e := &env{getenv: func(k string) string { return map[string]string{"EBB_FORGE_TOKEN": "tok"}[k] }}
	for _, tc := range []struct {
		args    []string
		url     string
		want    string // the error, or "off", or the patterns
		forge   bool
		trusted engine.PreviewTrust
	}{
		{nil, "https://git.example.com/org/serving.git", "off", false, engine.PreviewTrust{}},
		{[]string{"--preview", "none"}, "https://git.example.com/org/serving.git", "off", false, engine.PreviewTrust{}},
		{[]string{"--preview", "refs/heads/preview/*"}, "https://git.example.com/org/serving.git", "refs/heads/preview/*", false, engine.PreviewTrust{}},
		{[]string{"--preview", "refs/pull/*/head"}, "https://git.example.com/org/serving.git",
			"--preview: preview refs/pull/*/head matches pull requests, which may come from forks: configure a forge to check each one (its author, labels and head repository), or allow every pull request, forks included (--forge, or --preview-forks)", false, engine.PreviewTrust{}},
		{[]string{"--preview", "refs/pull/*/head", "--preview-forks"}, "https://git.example.com/org/serving.git", "refs/pull/*/head", false, engine.PreviewTrust{Forks: true}},
		{[]string{"--preview", "refs/pull/*/head", "--forge", "github", "--preview-label", "ok", "--preview-author", "alice"}, "https://github.com/org/serving.git",
			"refs/pull/*/head", true, engine.PreviewTrust{Labels: []string{"ok"}, Authors: []string{"alice"}}},
		{[]string{"--preview", "refs/pull/*/head", "--forge", "bitbucket"}, "https://bitbucket.org/org/serving.git",
			`--forge: forge "bitbucket": want github, gitlab, gitea or forgejo, optionally =API_URL`, false, engine.PreviewTrust{}},
		{[]string{"--preview", "refs/heads/preview/*"}, "git@github.com:org/serving.git", "--preview: preview refs are listed over HTTP(S) and local paths only", false, engine.PreviewTrust{}},
		{[]string{"--preview", "refs/heads/preview/*", "--preview-namespace", "Previews"}, "https://git.example.com/org/serving.git",
			`--preview-namespace "Previews": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`, false, engine.PreviewTrust{}},
	} {
		fs := flag.NewFlagSet("up", flag.ContinueOnError)
		g := addGitFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		p, err := g.previewsFor(e, git.Config{URL: tc.url}, nil)
		got := "off"
		switch {
		case err != nil:
			got = err.Error()
		case p != nil:
			got = strings.Join(p.Patterns, ",")
			if (p.PullRequest != nil) != tc.forge {
				t.Errorf("%v: forge client %v, want %v", tc.args, p.PullRequest != nil, tc.forge)
			}
			if diff := cmp.Diff(tc.trusted, p.Trust); diff != "" {
				t.Errorf("%v: trust (-want +got):\n%s", tc.args, diff)
			}
		}
		if got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.args, got, tc.want)
		}
	}
}
