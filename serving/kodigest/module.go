package kodigest

import (
	"bufio"
	"bytes"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// module is one module of the build whose files are in the tree: the main
// module, a workspace's modules, and those a go.mod replaces with a
// directory of the tree.
type module struct {
	path string // module path
	dir  string // its directory in the tree, "." for the root
}

// modFile is what a go.mod or go.work says that the digest needs: the
// module path, and the directories it uses or replaces modules with.
type modFile struct {
	module string
	// use are go.work's use directives.
	use []string
	// replace maps module paths to directories (replacements by a
	// relative path only).
	replace map[string]string
}

// parseModFile reads the directives of a go.mod or go.work file that name
// modules and directories. Everything else in it (requirements, versions)
// counts through the file's bytes, which the digest covers whole.
func parseModFile(data []byte) modFile {
	var mf modFile
	mf.replace = map[string]string{}
	block := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		f := fields(line)
		if len(f) == 0 {
			continue
		}
		if block != "" {
			if f[0] == ")" {
				block = ""
				continue
			}
			f = append([]string{block}, f...)
		} else if len(f) == 2 && f[1] == "(" {
			block = f[0]
			continue
		}
		switch {
		case f[0] == "module" && len(f) >= 2:
			mf.module = f[1]
		case f[0] == "use" && len(f) >= 2:
			mf.use = append(mf.use, f[1])
		case f[0] == "replace":
			// replace old [v] => new [v]: only a directory (./ or ../) is
			// in the tree.
			for i, w := range f {
				if w == "=>" && i+1 < len(f) && i >= 2 {
					if to := f[i+1]; strings.HasPrefix(to, "./") || strings.HasPrefix(to, "../") || to == "." || to == ".." {
						mf.replace[f[1]] = to
					}
				}
			}
		}
	}
	return mf
}

// fields splits a go.mod line into words, unquoting quoted ones.
func fields(line string) []string {
	var out []string
	for _, w := range strings.Fields(line) {
		if u, err := strconv.Unquote(w); err == nil {
			w = u
		}
		out = append(out, w)
	}
	return out
}

// resolve returns the directory of the package importPath among mods (the
// longest module path that is a prefix of it wins), or false.
func resolve(mods []module, importPath string) (string, bool) {
	best := -1
	for i, m := range mods {
		if (importPath == m.path || strings.HasPrefix(importPath, m.path+"/")) && (best < 0 || len(m.path) > len(mods[best].path)) {
			best = i
		}
	}
	if best < 0 {
		return "", false
	}
	m := mods[best]
	return path.Join(m.dir, strings.TrimPrefix(strings.TrimPrefix(importPath, m.path), "/")), true
}

// inTree joins a directory named in a go.mod or go.work of dir to it,
// false when it leaves the tree.
func inTree(dir, rel string) (string, bool) {
	p := path.Join(dir, filepath.ToSlash(rel))
	if p == ".." || strings.HasPrefix(p, "../") || path.IsAbs(p) {
		return "", false
	}
	return p, true
}

// FindRoot returns the directory the go command takes its main modules
// from when run in dir: the nearest directory at or above dir holding a
// go.work, else the nearest holding a go.mod (GOWORK=off and a GOWORK
// elsewhere are not followed). It returns false when there is none.
func FindRoot(dir string) (string, bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for _, name := range []string{"go.work", "go.mod"} {
		for d := abs; ; {
			if st, err := os.Stat(filepath.Join(d, name)); err == nil && st.Mode().IsRegular() {
				return d, true
			}
			up := filepath.Dir(d)
			if up == d {
				break
			}
			d = up
		}
	}
	return "", false
}
