package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/serving"
)

// ReasonBuildFailed is the reason of a revision whose ko:// image cannot
// be built: ebb's own, next to Knative's ExitCode1 or ImagePullBackOff.
const ReasonBuildFailed = "BuildFailed"

// BuildError is why a revision's ko:// image cannot be built.
type BuildError struct{ Err error }

func (e *BuildError) Error() string { return e.Err.Error() }
func (e *BuildError) Unwrap() error { return e.Err }

// Reason is ReasonBuildFailed.
func (e *BuildError) Reason() string { return ReasonBuildFailed }

// moduleCheckTimeout bounds CheckModule: past it, the build tells.
const moduleCheckTimeout = 5 * time.Second

// CheckModule tells, without building, whether the Go module (or
// workspace) of dir provides the package of a ko:// image, as the build
// needs: it returns nil when it does, or when that cannot be told now
// (the build then reports any problem), and otherwise an error saying
// what is missing and what to do. It takes a fraction of a second.
func (b *Builder) CheckModule(ctx context.Context, dir, image string) error {
	importPath, ok := strings.CutPrefix(image, KoPrefix)
	if !ok || importPath == "" {
		return fmt.Errorf("image %q is not a ko:// import path", image)
	}
	ctx, cancel := context.WithTimeout(ctx, moduleCheckTimeout)
	defer cancel()
	// -find: the package alone, not its dependencies, which only the
	// build may need to download.
	dec, err := b.goJSON(ctx, dir, "list", "-e", "-find", "-json", importPath)
	if errors.Is(err, exec.ErrNotFound) {
		return fmt.Errorf("no go command here to build it (%v): install Go, or give the container a command", err)
	}
	var pkg listedPackage
	if err != nil || dec.Decode(&pkg) != nil || pkg.Error == nil || !unresolved(pkg.Error.Err) {
		return nil
	}
	// The main modules: those of go.work, or the one of go.mod. Without
	// either, go lists a pseudo-module without a go.mod.
	var mains []goModule
	if dec, err := b.goJSON(ctx, dir, "list", "-m", "-e", "-json"); err == nil {
		for {
			var m goModule
			if dec.Decode(&m) != nil {
				break
			}
			if m.GoMod != "" {
				mains = append(mains, m)
			}
		}
	}
	return errors.New(moduleAdvice(importPath, mains, packageHome(dir, importPath)))
}

// goModule is the part of `go list -m -json` CheckModule reads.
type goModule struct {
	Path, Dir, GoMod string
}

// goJSON runs a go command in dir and returns a decoder of its output.
func (b *Builder) goJSON(ctx context.Context, dir string, args ...string) (*json.Decoder, error) {
	cmd := b.command(ctx, dir, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return json.NewDecoder(&stdout), nil
}

// unresolved reports whether a go list error says that no module
// provides the package (rather than, say, that a download failed).
func unresolved(msg string) bool {
	for _, s := range []string{"no required module provides package", "cannot find module providing package", "is not in std", "go.mod file not found"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// packageHome guesses, for a package no module of dir provides, the
// module path that would provide it from dir: the import path less its
// longest tail that is a directory of Go files under dir ("" if none
// is). github.com/a/b/app with dir/app holding main.go gives github.com/a/b.
func packageHome(dir, importPath string) string {
	elems := strings.Split(importPath, "/")
	for i := 1; i <= len(elems); i++ {
		rel := filepath.Join(elems[i:]...)
		if matches, _ := filepath.Glob(filepath.Join(dir, rel, "*.go")); len(matches) > 0 {
			return strings.Join(elems[:i], "/")
		}
	}
	return ""
}

// moduleAdvice says why no module of mains (those of the directory ebb
// up runs in) provides importPath, and what to do; home is the module
// path that would (see packageHome), if known.
func moduleAdvice(importPath string, mains []goModule, home string) string {
	const alternative = "or give the container a command"
	var names []string
	for _, m := range mains {
		if importPath == m.Path || strings.HasPrefix(importPath, m.Path+"/") {
			rel := strings.TrimPrefix(strings.TrimPrefix(importPath, m.Path), "/")
			return fmt.Sprintf("module %s (%s) has no package in %s", m.Path, m.GoMod, filepath.Join(m.Dir, rel))
		}
		names = append(names, fmt.Sprintf("%s (%s)", m.Path, m.GoMod))
	}
	here := "the module here is "
	if len(mains) > 1 {
		here = "the modules here are "
	}
	switch {
	case len(mains) > 0:
		return fmt.Sprintf("no Go module here provides this package: %s%s; run ebb up inside a module whose path is a prefix of it, require the module that has it (go get %s), %s",
			here, strings.Join(names, ", "), importPath, alternative)
	case home != "":
		return fmt.Sprintf("no Go module here provides this package: run ebb up inside a module whose path is a prefix of it (go mod init %s), %s", home, alternative)
	}
	return fmt.Sprintf("no Go module here provides this package: run ebb up inside a Go module that has it or requires its module (go mod init, then go get %s), %s", importPath, alternative)
}

// imageField is where a revision's ko:// image is written in its
// Service: the one user container a local revision has.
const imageField = "spec.template.spec.containers[0].image"

// checkModules runs CheckModule for the revisions of keys that are new
// or changed (their pods would build the image), once per directory and
// image, and returns those whose image no module provides: a
// BuildError naming the image's field in the revision's Service, located
// by Options.Locate.
func (r *Runtime) checkModules(keys []scaler.RevisionKey, specs map[scaler.RevisionKey]*podSpec) []*RevisionError {
	var check []scaler.RevisionKey
	r.mu.Lock()
	for _, key := range keys {
		if rev, ok := r.revisions[key]; !ok || rev.spec.hash != specs[key].hash {
			check = append(check, key)
		}
	}
	r.mu.Unlock()
	var out []*RevisionError
	seen := map[[2]string]error{}
	for _, key := range check {
		s := specs[key]
		at := [2]string{s.dir(r.opts.Dir), s.image}
		err, ok := seen[at]
		if !ok {
			err = r.opts.Builder.CheckModule(r.ctx, at[0], at[1])
			seen[at] = err
		}
		if err == nil {
			continue
		}
		var located error = &serving.FieldError{Object: serving.ServiceRef(s.namespace, s.service), Path: imageField,
			Message: s.image + ": " + err.Error()}
		if r.opts.Locate != nil {
			located = r.opts.Locate(located)
		}
		out = append(out, &RevisionError{Key: key, Err: &BuildError{Err: located}})
	}
	return out
}
