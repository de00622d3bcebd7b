package local

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ebb-dev/ebb/serving/kodigest"
)

// KoPrefix marks an image that is a Go import path to build, as ko does.
const KoPrefix = "ko://"

// Builder builds ko://<import path> images into executables with the Go
// toolchain. A binary is cached under a key made from the Go version and
// the content of every non-standard package it is built from, so an
// unchanged program is never rebuilt, and a changed one always is.
type Builder struct {
	// Dir is where go commands run: a directory inside the Go module that
	// resolves the import paths (usually the serving repository).
	Dir string
	// CacheDir holds the built binaries, one directory per content key.
	CacheDir string
	// Go is the go command; empty means "go" from PATH.
	Go string

	mu       sync.Mutex
	inflight map[string]*buildCall
	// digests are the code digests of the directories built in (see
	// BuildCode).
	digests kodigest.Cache
}

type buildCall struct {
	done chan struct{}
	path string
	err  error
}

// Build returns the path of an executable for image, built in Dir.
func (b *Builder) Build(ctx context.Context, image string) (string, error) {
	return b.BuildIn(ctx, b.Dir, image)
}

// BuildIn returns the path of an executable for image, built in dir (a
// directory of a Go module that resolves the import path), unless an
// identical build is cached: the same content built anywhere is one
// binary. Concurrent builds of one image in one dir share a single go
// build.
func (b *Builder) BuildIn(ctx context.Context, dir, image string) (string, error) {
	importPath, ok := strings.CutPrefix(image, KoPrefix)
	if !ok || importPath == "" {
		return "", fmt.Errorf("image %q is not a ko:// import path", image)
	}
	call := dir + "\x00" + importPath
	b.mu.Lock()
	if b.inflight == nil {
		b.inflight = map[string]*buildCall{}
	}
	if c, ok := b.inflight[call]; ok {
		b.mu.Unlock()
		select {
		case <-c.done:
			return c.path, c.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	c := &buildCall{done: make(chan struct{})}
	b.inflight[call] = c
	b.mu.Unlock()

	c.path, c.err = b.build(ctx, dir, importPath)
	b.mu.Lock()
	delete(b.inflight, call)
	b.mu.Unlock()
	close(c.done)
	return c.path, c.err
}

// command is a go command run in dir, with the environment buildEnv
// keeps of ebb's.
func (b *Builder) command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	goCmd := b.Go
	if goCmd == "" {
		goCmd = "go"
	}
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = dir
	cmd.Env = buildEnv(os.Environ())
	return cmd
}

func (b *Builder) build(ctx context.Context, dir, importPath string) (string, error) {
	key, err := b.contentKey(ctx, dir, importPath)
	if err != nil {
		return "", fmt.Errorf("build %s%s: %w", KoPrefix, importPath, err)
	}
	out := filepath.Join(b.CacheDir, key)
	bin := filepath.Join(out, path.Base(importPath))
	if st, err := os.Stat(bin); err == nil && st.Mode().IsRegular() {
		return bin, nil
	}
	if err := os.MkdirAll(b.CacheDir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(b.CacheDir, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	// "--" ends the flags: an import path is never read as one.
	cmd := b.command(ctx, dir, "build", "-trimpath", "-o", filepath.Join(tmp, path.Base(importPath)), "--", importPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s%s: %w\n%s", KoPrefix, importPath, err, strings.TrimSpace(stderr.String()))
	}
	if err := os.Rename(tmp, out); err != nil && !errors.Is(err, os.ErrExist) {
		// Another ebb built the same content at the same time: use theirs.
		if _, statErr := os.Stat(bin); statErr != nil {
			return "", err
		}
	}
	return bin, nil
}

// listedPackage is the part of `go list -json` the content key needs.
type listedPackage struct {
	ImportPath                                            string
	Dir                                                   string
	Standard                                              bool
	Name                                                  string
	Module                                                *struct{ Path, Version, GoMod string }
	GoFiles, CgoFiles, CFiles, HFiles, SFiles, EmbedFiles []string
	Error                                                 *struct{ Err string }
	DepsErrors                                            []*struct{ Err string }
}

// contentKey hashes everything the binary is built from: the toolchain,
// the target, and each non-standard package's files. Packages from the
// module cache are identified by their module version alone, since those
// files never change.
func (b *Builder) contentKey(ctx context.Context, dir, importPath string) (string, error) {
	cmd := b.command(ctx, dir, "list", "-deps", "-json", "--", importPath)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go list: %w\n%s", err, strings.TrimSpace(stderr.String()))
	}
	h := sha256.New()
	fmt.Fprintf(h, "ebb-ko-v1 %s %s\n", importPath, goEnvKey(ctx, b))
	dec := json.NewDecoder(&stdout)
	var main *listedPackage
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return "", fmt.Errorf("go list output: %w", err)
		}
		if p.Error != nil {
			return "", fmt.Errorf("package %s: %s", p.ImportPath, p.Error.Err)
		}
		if p.ImportPath == importPath {
			pc := p
			main = &pc
		}
		if p.Standard {
			continue
		}
		fmt.Fprintf(h, "pkg %s\n", p.ImportPath)
		if p.Module != nil && p.Module.Version != "" {
			fmt.Fprintf(h, "mod %s@%s\n", p.Module.Path, p.Module.Version)
			continue
		}
		for _, group := range [][]string{p.GoFiles, p.CgoFiles, p.CFiles, p.HFiles, p.SFiles, p.EmbedFiles} {
			for _, f := range group {
				data, err := os.ReadFile(filepath.Join(p.Dir, f))
				if err != nil {
					return "", err
				}
				fmt.Fprintf(h, "file %s %d\n", f, len(data))
				h.Write(data)
			}
		}
		if p.Module != nil && p.Module.GoMod != "" {
			if data, err := os.ReadFile(p.Module.GoMod); err == nil {
				h.Write(data)
			}
		}
	}
	if main == nil {
		return "", fmt.Errorf("package %s not found", importPath)
	}
	if main.Name != "main" {
		return "", fmt.Errorf("package %s is not a command (package %s, want main)", importPath, main.Name)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// goEnvKey names the toolchain and target, which change every binary.
func goEnvKey(ctx context.Context, b *Builder) string {
	out, err := b.command(ctx, "", "env", "GOVERSION", "GOOS", "GOARCH", "CGO_ENABLED").Output()
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(out)), " ")
}
