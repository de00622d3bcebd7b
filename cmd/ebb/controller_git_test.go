//go:build unix

package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/internal/gittest"
)

// installed is what manifests/ gives the controller container: its
// Deployment, the Secret template's keys and the ConfigMap's data.
type installed struct {
	deploy *appsv1.Deployment
	secret map[string]string
	config map[string]string
}

func readInstall(t *testing.T) installed {
	t.Helper()
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join("..", "..", "manifests"))
	if err != nil {
		t.Fatalf("kustomize build manifests: %v", err)
	}
	var in installed
	for _, r := range rm.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		switch r.GetKind() + " " + r.GetName() {
		case "Deployment ebb-controller":
			in.deploy = &appsv1.Deployment{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, in.deploy); err != nil {
				t.Fatal(err)
			}
		case "Secret ebb-git":
			var s corev1.Secret
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &s); err != nil {
				t.Fatal(err)
			}
			in.secret = s.StringData
		case "ConfigMap ebb-controller":
			var c corev1.ConfigMap
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &c); err != nil {
				t.Fatal(err)
			}
			in.config = c.Data
		}
	}
	if in.deploy == nil || in.secret == nil || in.config == nil {
		t.Fatalf("manifests lack the controller Deployment, Secret ebb-git or ConfigMap ebb-controller")
	}
	return in
}

// env is the controller container's environment as the kubelet would
// build it from the install, with the Secret filled in with secret (keys
// the template lacks are an error) and its volume laid out under dir.
func (in installed) env(t *testing.T, secret, config map[string]string, dir string) func(string) string {
	t.Helper()
	data := map[string]string{}
	for k, v := range in.secret {
		data[k] = v
	}
	for k, v := range secret {
		if _, ok := in.secret[k]; !ok {
			t.Errorf("the Secret template ebb-git has no key %s", k)
		}
		data[k] = v
	}
	var c *corev1.Container
	for i := range in.deploy.Spec.Template.Spec.Containers {
		if in.deploy.Spec.Template.Spec.Containers[i].Name == "controller" {
			c = &in.deploy.Spec.Template.Spec.Containers[i]
		}
	}
	if c == nil {
		t.Fatal("the controller Deployment has no container controller")
	}
	mount := ""
	for _, v := range in.deploy.Spec.Template.Spec.Volumes {
		if v.Secret == nil || v.Secret.SecretName != "ebb-git" {
			continue
		}
		for _, m := range c.VolumeMounts {
			if m.Name == v.Name {
				mount = m.MountPath
			}
		}
	}
	if mount == "" {
		t.Fatal("the controller does not mount Secret ebb-git")
	}
	for k, v := range data {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef != nil && from.ConfigMapRef.Name == "ebb-controller" {
			for k, v := range in.config {
				vars[k] = v
			}
			for k, v := range config {
				vars[k] = v
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			if rest, ok := strings.CutPrefix(e.Value, mount+"/"); ok {
				vars[e.Name] = filepath.Join(dir, rest)
			} else {
				vars[e.Name] = e.Value
			}
		case e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == "ebb-git":
			if v, ok := data[e.ValueFrom.SecretKeyRef.Key]; ok {
				vars[e.Name] = v
			}
		}
	}
	return func(k string) string { return vars[k] }
}

// TestControllerGitCredentials runs the controller's Git setup with the
// environment and files the install gives its pod, against real Git
// servers: HTTPS with a token or a password, SSH with a key (with and
// without a passphrase) and known_hosts. The SSH entries are present, and
// empty, in an HTTPS install; an SSH install without known_hosts is
// refused.
func TestControllerGitCredentials(t *testing.T) {
	in := readInstall(t)
	root := t.TempDir()
	head := gittest.NewBare(t, root, "repo.git", map[string]string{"service.yaml": "# empty\n"})
	key, signer := gittest.NewKey(t)
	locked, lockedSigner := gittest.NewLockedKey(t, "s3cret")
	sshSrv := gittest.NewSSHServer(t, root, signer.PublicKey(), lockedSigner.PublicKey())
	tokenSrv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{Token: "t0ken"})
	basicSrv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{Username: "ebb", Password: "pa55"})

	for _, tc := range []struct {
		name    string
		url     string
		secret  map[string]string
		wantErr error
	}{
		{"https token", tokenSrv.RepoURL("repo.git"), map[string]string{"token": "t0ken"}, nil},
		{"https password", basicSrv.RepoURL("repo.git"), map[string]string{"username": "ebb", "password": "pa55"}, nil},
		{"https wrong token", tokenSrv.RepoURL("repo.git"), map[string]string{"token": "nope"}, git.ErrAuth},
		{"ssh key", sshSrv.RepoURL("repo.git"), map[string]string{"ssh-privatekey": string(key), "known_hosts": sshSrv.KnownHosts()}, nil},
		{"ssh key with passphrase", sshSrv.RepoURL("repo.git"),
			map[string]string{"ssh-privatekey": string(locked), "ssh-passphrase": "s3cret", "known_hosts": sshSrv.KnownHosts()}, nil},
		{"ssh without known_hosts", sshSrv.RepoURL("repo.git"), map[string]string{"ssh-privatekey": string(key)}, git.ErrUnknownHost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			e := &env{getenv: in.env(t, tc.secret, map[string]string{"EBB_REPO_URL": tc.url}, dir)}
			o, err := controllerFlags(e, nil)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := o.git.sourceConfig(e, o.url, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			src, err := git.New(cfg)
			var c git.Commit
			if err == nil {
				c, _, err = src.Fetch(t.Context())
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("fetch: %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("fetch: %v", err)
			}
			if c.Hash != head {
				t.Errorf("fetched %s, want %s", c.Hash, head)
			}
		})
	}
}
