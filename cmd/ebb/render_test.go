package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

func TestRenderCommand(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "apps/hello/service.yaml", planService)

	code, out, stderr := runCmd(t, "render", dir)
	if code != exitOK {
		t.Fatalf("render: exit %d, stderr %q", code, stderr)
	}
	var kinds []string
	for _, doc := range strings.Split(out, "---\n")[1:] {
		var o struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("document %q: %v", doc, err)
		}
		kinds = append(kinds, o.Kind+"/"+o.Metadata.Name)
	}
	want := []string{
		"ConfigMap/hello-routes",
		"Service/hello",
		"Service/hello-00001",
		"Service/hello-00001-private",
		"Deployment/hello-00001-deployment",
	}
	if d := cmp.Diff(want, kinds); d != "" {
		t.Errorf("rendered objects (-want +got):\n%s", d)
	}
	if _, err := os.Stat(filepath.Join(dir, ".ebb")); !os.IsNotExist(err) {
		t.Errorf("render wrote the ledger (stat: %v)", err)
	}
	if code, again, _ := runCmd(t, "render", dir); code != exitOK || again != out {
		t.Errorf("a second render differs: exit %d", code)
	}

	code, js, stderr := runCmd(t, "render", "-o", "json", dir)
	if code != exitOK {
		t.Fatalf("render -o json: exit %d, stderr %q", code, stderr)
	}
	var list struct {
		Kind  string           `json:"kind"`
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(js), &list); err != nil || list.Kind != "List" || len(list.Items) != len(want) {
		t.Errorf("render -o json: kind %q, %d items, err %v", list.Kind, len(list.Items), err)
	}
}

func TestRenderCommandErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", planService+`  traffic:
    - percent: 90
      latestRevision: true
`)
	writeFile(t, dir, "b.yaml", strings.Replace(planService, "name: hello", "name: other", 1)+`      containerConcurrency: -1
`)
	code, out, stderr := runCmd(t, "render", dir)
	if code != exitInvalid || out != "" {
		t.Fatalf("invalid repository: exit %d, stdout %q", code, out)
	}
	for _, w := range []string{"a.yaml", "Traffic targets sum to 90, want 100", "b.yaml"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}

	// A symbolic link out of DIR is refused, naming the file.
	outside := t.TempDir()
	writeFile(t, outside, "secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: stolen\n")
	linked := t.TempDir()
	writeFile(t, linked, "apps/hello/service.yaml", planService)
	if err := os.Symlink(filepath.Join(outside, "secret.yaml"), filepath.Join(linked, "apps/secret.yaml")); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = runCmd(t, "render", linked)
	if code != exitInvalid || out != "" || strings.TrimSpace(stderr) != "apps/secret.yaml: a symbolic link leads outside the directory" {
		t.Errorf("a link out of DIR: exit %d, stdout %q, stderr %q", code, out, stderr)
	}

	for _, args := range [][]string{
		{"render"},
		{"render", dir, dir},
		{"render", "-o", "xml", dir},
		{"render", "--frobnicate", dir},
		{"render", filepath.Join(dir, "missing")},
	} {
		if code, _, _ := runCmd(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, out, _ := runCmd(t, "render", "-h"); code != exitOK || !strings.HasPrefix(out, "usage: ebb render") {
		t.Errorf("render -h: exit %d, out %q", code, out)
	}
}

// TestRenderCommandSharedHost renders a repository in which DomainMappings
// of two namespaces map one domain: the later one (by the first revision
// of its target, then namespace) is refused at its file and line.
func TestRenderCommandSharedHost(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "default/hello.yaml", planService)
	writeFile(t, dir, "tenant/hello.yaml", strings.Replace(planService, "name: hello", "name: hello\n  namespace: tenant-x", 1))
	mapping := func(ns string) string {
		return `apiVersion: serving.knative.dev/v1beta1
kind: DomainMapping
metadata:
  name: api.example.com
  namespace: ` + ns + `
spec:
  ref:
    apiVersion: serving.knative.dev/v1
    kind: Service
    name: hello
`
	}
	writeFile(t, dir, "default/api.yaml", mapping("default"))
	writeFile(t, dir, "tenant/api.yaml", "# tenant-x maps the same domain\n"+mapping("tenant-x"))
	code, out, stderr := runCmd(t, "render", dir)
	if code != exitInvalid || out != "" {
		t.Fatalf("shared host: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	want := "tenant/api.yaml:5: metadata.name: host api.example.com is already in use by another namespace (DomainMapping default/api.example.com)"
	if !strings.Contains(stderr, want) || strings.Contains(stderr, "default/api.yaml") {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}
