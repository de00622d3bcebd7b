package kodigest

import (
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// sourceExt are the extensions of the files the go command builds a
// package from (go/build's lists: Go, cgo's C, C++, Objective-C, Fortran,
// assembly, SWIG, and .syso objects).
var sourceExt = map[string]bool{
	".go": true, ".c": true, ".cc": true, ".cpp": true, ".cxx": true, ".h": true, ".hh": true, ".hpp": true, ".hxx": true,
	".m": true, ".s": true, ".S": true, ".sx": true, ".f": true, ".F": true, ".for": true, ".f90": true,
	".swig": true, ".swigcxx": true, ".syso": true,
}

// isSource reports whether a file of a package directory is built: not a
// test, not hidden from the go command (a leading . or _), of a source
// extension.
func isSource(name string) bool {
	return !strings.HasPrefix(name, ".") && !strings.HasPrefix(name, "_") &&
		!strings.HasSuffix(name, "_test.go") && sourceExt[path.Ext(name)]
}

// pkg returns the record of the package in dir (its source files and
// embedded files, each with its SHA-256, relative to dir) and its imports.
func (r *round) pkg(dir string) (string, []string, error) {
	es, err := fs.ReadDir(r.fsys, dir)
	if err != nil {
		return "", nil, err
	}
	var b strings.Builder
	key := dir + "\x00"
	goFiles := 0
	for _, e := range es {
		if !e.Type().IsRegular() || !isSource(e.Name()) {
			continue
		}
		sum, err := r.sum(path.Join(dir, e.Name()))
		if err != nil {
			return "", nil, err
		}
		fmt.Fprintf(&b, "file %s %s\n", e.Name(), sum)
		if path.Ext(e.Name()) == ".go" {
			goFiles++
			key += e.Name() + " " + sum + "\n"
		}
	}
	if goFiles == 0 {
		return "", nil, errNoGo
	}
	pe, err := r.parsed(key, dir)
	if err != nil {
		return "", nil, err
	}
	embedded, err := r.embedded(dir, pe.embeds)
	if err != nil {
		return "", nil, err
	}
	for _, f := range embedded {
		sum, err := r.sum(path.Join(dir, f))
		if err != nil {
			return "", nil, err
		}
		fmt.Fprintf(&b, "embed %s %s\n", f, sum)
	}
	return b.String(), pe.imports, nil
}

// parsed returns the imports and embed patterns of the Go files of dir,
// whose names and sums make key.
func (r *round) parsed(key, dir string) (*pkgEntry, error) {
	r.c.mu.Lock()
	e, ok := r.c.pkgs[key]
	if ok {
		e.used = r.gen
	}
	r.c.mu.Unlock()
	if ok {
		return e, nil
	}
	p, err := buildContext(r.fsys).ImportDir(dir, 0)
	var noGo *build.NoGoError
	if p == nil || errors.As(err, &noGo) {
		return nil, fmt.Errorf("package in %s: %w", dir, err)
	}
	// Other errors (two package names, a file that does not parse) are
	// the build's to report; what was read still counts.
	imports := slices.DeleteFunc(slices.Clone(p.Imports), func(s string) bool { return s == "C" })
	e = &pkgEntry{used: r.gen, imports: imports, embeds: p.EmbedPatterns}
	r.c.mu.Lock()
	r.c.pkgs[key] = e
	r.c.mu.Unlock()
	return e, nil
}

// embedded are the files, relative to dir, that embed patterns select, as
// the go command selects them: a matching file, or every file under a
// matching directory but those whose names begin with . or _ (unless the
// pattern starts with all:) and those of another module; sorted.
func (r *round) embedded(dir string, patterns []string) ([]string, error) {
	set := map[string]bool{}
	for _, pat := range patterns {
		pat, all := strings.CutPrefix(pat, "all:")
		matches, err := fs.Glob(r.fsys, path.Join(dir, pat))
		if err != nil {
			continue // the build reports a bad pattern
		}
		for _, m := range matches {
			st, err := fs.Stat(r.fsys, m)
			if err != nil {
				continue
			}
			if !st.IsDir() {
				set[m] = st.Mode().IsRegular()
				continue
			}
			err = fs.WalkDir(r.fsys, m, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				name := d.Name()
				if p != m && !all && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
					if d.IsDir() {
						return fs.SkipDir
					}
					return nil
				}
				if d.IsDir() {
					if p != m && r.isFile(path.Join(p, "go.mod")) {
						return fs.SkipDir
					}
					return nil
				}
				set[p] = d.Type().IsRegular()
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	var out []string
	for p, regular := range set {
		if regular {
			out = append(out, strings.TrimPrefix(p, dir+"/"))
		}
	}
	slices.Sort(out)
	return out, nil
}
