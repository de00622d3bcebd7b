//go:build unix

package main

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/engine/forge"
	"github.com/ebb-dev/ebb/internal/forgetest"
)

// TestControllerCommitStatusConfig builds the controller's status poster
// from what the install gives its pod (ConfigMap ebb-controller, Secret
// ebb-git), and posts one status to a server playing Gitea's status
// endpoints with the token the Secret holds.
func TestControllerCommitStatusConfig(t *testing.T) {
	in := readInstall(t)
	for _, tc := range []struct {
		name   string
		config map[string]string
		secret map[string]string
		token  string // the token the forge takes; "" for no poster
	}{
		{"off by default", map[string]string{}, map[string]string{"forge-token": "ft0ken"}, ""},
		{"forge token", map[string]string{"EBB_COMMIT_STATUSES": "true"}, map[string]string{"forge-token": "ft0ken", "token": "git"}, "ft0ken"},
		{"the Git token without one", map[string]string{"EBB_COMMIT_STATUSES": "true"}, map[string]string{"token": "git"}, "git"},
		{"with the comment", map[string]string{"EBB_COMMIT_STATUSES": "true", "EBB_PR_COMMENT": "true"}, map[string]string{"forge-token": "ft0ken"}, "ft0ken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := forgetest.New(t, "gitea", "org/serving", tc.token)
			config := map[string]string{"EBB_REPO_URL": "https://git.example.com/org/serving.git", "EBB_FORGE": "forgejo=" + srv.API}
			for k, v := range tc.config {
				config[k] = v
			}
			e := &env{getenv: in.env(t, tc.secret, config, t.TempDir())}
			o, err := controllerFlags(e, nil)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := o.git.sourceConfig(e, o.url, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			p, err := o.git.statusPoster(e, cfg, prometheus.NewRegistry(), &engine.Loop{Name: o.source}, func() []engine.ServiceStatus { return nil }, nil)
			if err != nil {
				t.Fatal(err)
			}
			if (p != nil) != (tc.token != "") {
				t.Fatalf("poster %v, want one: %v", p, tc.token != "")
			}
			if p == nil {
				return
			}
			s := engine.CommitStatus{Commit: "abc", Status: forge.Status{Context: "ebb/apply", State: forge.Success, Description: "applied"}}
			if err := p.Post(t.Context(), []engine.CommitStatus{s}, time.Now()); err != nil {
				t.Fatal(err)
			}
			if got := srv.Posted("abc"); len(got) != 1 || got[0].Context != "ebb/apply" {
				t.Errorf("posted %+v", got)
			}
			if (p.Comments != nil) != (tc.config["EBB_PR_COMMENT"] == "true") {
				t.Errorf("comments kept: %v, want them with EBB_PR_COMMENT", p.Comments != nil)
			}
		})
	}
}
