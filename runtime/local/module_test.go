package local

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/serving"
)

// writeFiles writes files (slash paths) under a new temporary directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// helloMain is the source of the hello example's app.
func helloMain(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "hello", "app", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestModuleAdvice(t *testing.T) {
	const img = "example.test/hello/app"
	for _, tt := range []struct {
		name  string
		mains []goModule
		home  string
		want  string
	}{
		{"no module, the package under dir", nil, "example.test/hello",
			"no Go module here provides this package: run ebb up inside a module whose path is a prefix of it (go mod init example.test/hello), or give the container a command"},
		{"no module, the package elsewhere", nil, "",
			"no Go module here provides this package: run ebb up inside a Go module that has it or requires its module (go mod init, then go get example.test/hello/app), or give the container a command"},
		{"another module", []goModule{{Path: "example.test/other", Dir: "/src", GoMod: "/src/go.mod"}}, "example.test/hello",
			"no Go module here provides this package: the module here is example.test/other (/src/go.mod); run ebb up inside a module whose path is a prefix of it, require the module that has it (go get example.test/hello/app), or give the container a command"},
		{"a workspace of others", []goModule{{Path: "example.test/a", Dir: "/w/a", GoMod: "/w/a/go.mod"}, {Path: "example.test/b", Dir: "/w/b", GoMod: "/w/b/go.mod"}}, "",
			"no Go module here provides this package: the modules here are example.test/a (/w/a/go.mod), example.test/b (/w/b/go.mod); run ebb up inside a module whose path is a prefix of it, require the module that has it (go get example.test/hello/app), or give the container a command"},
		{"the module, without the directory", []goModule{{Path: "example.test/hello", Dir: "/src", GoMod: "/src/go.mod"}}, "",
			"module example.test/hello (/src/go.mod) has no package in /src/app"},
		{"a longer module path is no prefix", []goModule{{Path: "example.test/hell", Dir: "/src", GoMod: "/src/go.mod"}}, "",
			"no Go module here provides this package: the module here is example.test/hell (/src/go.mod); run ebb up inside a module whose path is a prefix of it, require the module that has it (go get example.test/hello/app), or give the container a command"},
	} {
		if got := moduleAdvice(img, tt.mains, tt.home); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestPackageHome(t *testing.T) {
	dir := writeFiles(t, map[string]string{"app/main.go": "package main\n", "cmd/tool/main.go": "package main\n", "docs/x.md": ""})
	for importPath, want := range map[string]string{
		"github.com/ebb-dev/ebb/examples/hello/app": "github.com/ebb-dev/ebb/examples/hello",
		"example.test/x/cmd/tool":                   "example.test/x",
		"example.test/x/docs":                       "", // no Go files
		"example.test/other/thing":                  "",
	} {
		if got := packageHome(dir, importPath); got != want {
			t.Errorf("packageHome(%s) = %q, want %q", importPath, got, want)
		}
	}
	root := writeFiles(t, map[string]string{"main.go": "package main\n"})
	if got := packageHome(root, "example.test/app"); got != "example.test/app" {
		t.Errorf("packageHome of the directory itself = %q, want the import path", got)
	}
}

// TestCheckModule asks the real go command about directories with and
// without a module that provides the image.
func TestCheckModule(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Go toolchain")
	}
	app := "package main\n\nfunc main() {}\n"
	bare := writeFiles(t, map[string]string{"app/main.go": app})
	own := writeFiles(t, map[string]string{"go.mod": "module example.test/hello\n\ngo 1.26\n", "app/main.go": app})
	other := writeFiles(t, map[string]string{"go.mod": "module example.test/other\n\ngo 1.26\n", "app/main.go": app})
	work := writeFiles(t, map[string]string{"go.work": "go 1.26\n\nuse " + own + "\n"})
	for _, tt := range []struct {
		name, dir, image string
		want             string // "" for nil
	}{
		{"no module", bare, "ko://example.test/hello/app", "(go mod init example.test/hello)"},
		{"the module", own, "ko://example.test/hello/app", ""},
		{"a subdirectory of the module", filepath.Join(own, "app"), "ko://example.test/hello/app", ""},
		{"the module, a missing package", own, "ko://example.test/hello/ap", "module example.test/hello (" + filepath.Join(own, "go.mod") + ") has no package in " + filepath.Join(own, "ap")},
		{"another module", other, "ko://example.test/hello/app", "the module here is example.test/other (" + filepath.Join(other, "go.mod") + ")"},
		{"a workspace that uses the module", work, "ko://example.test/hello/app", ""},
		// A package of the standard library is no command, which the
		// build reports.
		{"a standard package", bare, "ko://net/http", ""},
	} {
		b := &Builder{CacheDir: t.TempDir()}
		err := b.CheckModule(t.Context(), tt.dir, tt.image)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: CheckModule(%s) = %v, want %q", tt.name, tt.image, err, tt.want)
		}
	}
	b := &Builder{Go: "ebb-test-no-such-go"}
	if err := b.CheckModule(t.Context(), own, "ko://example.test/hello/app"); err == nil || !strings.Contains(err.Error(), "install Go, or give the container a command") {
		t.Errorf("without a go command: %v", err)
	}
}

// TestRuntimeRefusesAnImageNoModuleProvides: the hello example copied out
// of ebb's module, as a new user would, fails when it is applied, with
// what to do, located by Options.Locate; a go.mod then makes it run.
func TestRuntimeRefusesAnImageNoModuleProvides(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hello example")
	}
	dir := writeFiles(t, map[string]string{"app/main.go": helloMain(t)})
	var located []error
	r := startRuntime(t, Options{Dir: dir, Builder: &Builder{Dir: dir, CacheDir: t.TempDir()}, Locate: func(err error) error {
		located = append(located, err)
		var fe *serving.FieldError
		if errors.As(err, &fe) && fe.Object == serving.ServiceRef("default", "hello") {
			fe.File, fe.Line = "apps/hello/service.yaml", 12
		}
		return err
	}})
	img := "ko://github.com/ebb-dev/ebb/examples/hello/app"
	objs := []*unstructured.Unstructured{
		deployment(t, "hello-00001", img, nil, corev1.EnvVar{Name: "TARGET", Value: "one"}),
		deployment(t, "hello-00002", img, nil, corev1.EnvVar{Name: "TARGET", Value: "two"}),
	}
	start := time.Now()
	err := r.Apply(objs)
	t.Logf("Apply reported the image in %v", time.Since(start))
	const want = "apps/hello/service.yaml:12: spec.template.spec.containers[0].image: ko://github.com/ebb-dev/ebb/examples/hello/app: " +
		"no Go module here provides this package: run ebb up inside a module whose path is a prefix of it " +
		"(go mod init github.com/ebb-dev/ebb/examples/hello), or give the container a command"
	var be *BuildError
	if !errors.As(err, &be) || be.Reason() != ReasonBuildFailed || be.Error() != want {
		t.Fatalf("Apply = %v\nwant a BuildError %q", err, want)
	}
	if got := strings.Count(err.Error(), want); got != 2 || len(located) != 2 {
		t.Errorf("Apply reported the image %d times, located %d, want both revisions: %v", got, len(located), err)
	}
	for _, rev := range []string{"hello-00001", "hello-00002"} {
		want, ready, _, herr, ok := r.Health(scaler.RevisionKey{Namespace: "default", Name: rev})
		if !ok || want != 0 || ready != 0 || !errors.As(herr, &be) {
			t.Errorf("Health(%s) = %d, %d, %v, %v; want a BuildError", rev, want, ready, herr, ok)
		}
	}
	if s := r.Status(); len(s) != 0 {
		t.Errorf("pods started for an image no module provides: %+v", s)
	}

	// The module the message names makes the same revisions run.
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module github.com/ebb-dev/ebb/examples/hello\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Apply(objs); err != nil {
		t.Fatalf("Apply with a go.mod: %v", err)
	}
	if got := get(t, waitReady(t, r, "hello-00002", 1)[0]); got != "Hello two!\n" {
		t.Errorf("hello-00002 answers %q", got)
	}
}
