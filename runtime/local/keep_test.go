package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebb-dev/ebb/serving/kodigest"
)

// A revision runs the code it was created from: its binary is kept under
// the code's digest, and served again after the module moved on, by
// another Builder on the same cache (ebb up restarted); without a kept
// binary, older code is never built from newer files.
func TestBuildCodeRunsTheRevisionsCode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Go toolchain")
	}
	const image = "ko://example.test/app/cmd/hi"
	mod, cache := writeModule(t, "hello"), t.TempDir()
	ctx := context.Background()
	digest := func() string {
		t.Helper()
		var c kodigest.Cache
		d, err := c.Digest(os.DirFS(mod), image)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	hello := digest()
	bin, err := (&Builder{CacheDir: cache}).BuildCode(ctx, mod, image, hello)
	if err != nil {
		t.Fatal(err)
	}
	if got := runBinary(t, bin); got != "hello" {
		t.Fatalf("the first revision's binary prints %q", got)
	}
	if want := filepath.Join(cache, "code", strings.TrimPrefix(hello, "sha256:"), "hi"); bin != want {
		t.Errorf("binary at %s, want it kept at %s", bin, want)
	}

	if err := os.WriteFile(filepath.Join(mod, "greet/greet.go"), []byte("package greet\n\nconst Word = \"bonjour\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bonjour := digest()
	if bonjour == hello {
		t.Fatal("a change of the command's dependency left its digest as it was")
	}
	for _, tc := range []struct {
		name, code, want string
	}{
		{"the first revision, after a restart", hello, "hello"},
		{"the second revision", bonjour, "bonjour"},
		{"the first revision again", hello, "hello"},
	} {
		b := &Builder{CacheDir: cache}
		bin, err := b.BuildCode(ctx, mod, image, tc.code)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := runBinary(t, bin); got != tc.want {
			t.Errorf("%s: binary prints %q, want %q", tc.name, got, tc.want)
		}
	}

	// With no binary kept, the first revision's code is gone.
	_, err = (&Builder{CacheDir: t.TempDir()}).BuildCode(ctx, mod, image, hello)
	if !errors.Is(err, ErrCodeMoved) || !strings.Contains(err.Error(), hello) || !strings.Contains(err.Error(), bonjour) {
		t.Errorf("building the first revision from a fresh cache: %v, want ErrCodeMoved naming both digests", err)
	}
}
