package local

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// writeModule writes a tiny Go module with a command and a library.
func writeModule(t *testing.T, greeting string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":         "module example.test/app\n\ngo 1.26\n",
		"cmd/hi/main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.test/app/greet\"\n)\n\nfunc main() { fmt.Println(greet.Word) }\n",
		"greet/greet.go": "package greet\n\nconst Word = \"" + greeting + "\"\n",
		"notmain/lib.go": "package notmain\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runBinary(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command(path).Output()
	if err != nil {
		t.Fatalf("run %s: %v", path, err)
	}
	return strings.TrimSpace(string(out))
}

func TestBuilderCachesByContent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Go toolchain")
	}
	mod := writeModule(t, "hello")
	b := &Builder{Dir: mod, CacheDir: t.TempDir()}
	ctx := context.Background()

	first, err := b.Build(ctx, "ko://example.test/app/cmd/hi")
	if err != nil {
		t.Fatal(err)
	}
	if got := runBinary(t, first); got != "hello" {
		t.Fatalf("first build prints %q", got)
	}
	st, _ := os.Stat(first)

	again, err := b.Build(ctx, "ko://example.test/app/cmd/hi")
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(again)
	if again != first || !os.SameFile(st, st2) {
		t.Errorf("unchanged source rebuilt: %s then %s", first, again)
	}

	// A change in a dependency of the command changes the binary.
	if err := os.WriteFile(filepath.Join(mod, "greet/greet.go"), []byte("package greet\n\nconst Word = \"bonjour\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed, err := b.Build(ctx, "ko://example.test/app/cmd/hi")
	if err != nil {
		t.Fatal(err)
	}
	if changed == first {
		t.Fatal("changed source reused the old binary")
	}
	if got := runBinary(t, changed); got != "bonjour" {
		t.Errorf("rebuilt binary prints %q", got)
	}
}

func TestBuilderErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Go toolchain")
	}
	mod := writeModule(t, "hello")
	b := &Builder{Dir: mod, CacheDir: t.TempDir()}
	ctx := context.Background()
	// An import path that looks like a flag reaches go as a package.
	marker := filepath.Join(t.TempDir(), "ran")
	script := filepath.Join(t.TempDir(), "toolexec")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ntouch "+marker+"\nexec \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for image, want := range map[string]string{
		"docker.io/library/nginx":            "not a ko:// import path",
		"ko://example.test/app/notmain":      "is not a command",
		"ko://example.test/app/missing":      "example.test/app/missing",
		"ko://-toolexec=" + script:           `malformed import path "-toolexec=`,
		"ko://-o=" + filepath.Join(mod, "x"): `malformed import path "-o=`,
	} {
		_, err := b.Build(ctx, image)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Build(%q) = %v, want an error containing %q", image, err, want)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("an image's import path ran as go's -toolexec flag")
	}
}
