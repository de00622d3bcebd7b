package local

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Sandbox runs the pods of untrusted revisions (a preview's, marked with
// serving.PreviewLabel) as another user, who can read neither ebb's
// environment in /proc nor its files. That needs ebb to run as root.
type Sandbox struct {
	// UID and GID the pods' user containers run as, with no
	// supplementary groups.
	UID, GID uint32
	// Dir holds copies of the programs those pods run, where UID can
	// reach them (ebb's own caches may sit in a home it cannot enter).
	// Its ancestors must be searchable by everyone, as /tmp is.
	Dir string
}

// sandboxed makes c run as sb's user, from a copy of its program that
// user can reach, in a working directory it can enter.
func sandboxed(sb *Sandbox, c *Container) error {
	path, err := sb.stage(c.Path)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if c.Dir != "" {
		if err := sb.reachable(c.Dir); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
	}
	c.Path = path
	c.User = &syscall.Credential{Uid: sb.UID, Gid: sb.GID, Groups: []uint32{}}
	return nil
}

// stage returns a copy of the program at path in sb.Dir, readable and
// executable by everyone, named by its content so a program is copied
// once.
func (sb *Sandbox) stage(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	dst := filepath.Join(sb.Dir, hex.EncodeToString(h.Sum(nil)[:12]), filepath.Base(path))
	if st, err := os.Stat(dst); err == nil && st.Mode().IsRegular() {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".stage-")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, f); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return dst, os.Rename(tmp.Name(), dst)
}

// reachable returns an error naming the first directory of dir (an
// absolute path) that sb's user cannot search, judged by its mode bits
// for others: the sandboxed user owns nothing of ebb's.
func (sb *Sandbox) reachable(dir string) error {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			if sys, ok := st.Sys().(*syscall.Stat_t); !ok || sys.Uid != sb.UID {
				return fmt.Errorf("a preview runs as uid %d, which cannot enter %s (mode %v)", sb.UID, d, st.Mode().Perm())
			}
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// buildEnv is the environment of go commands that build ko:// images:
// what the Go toolchain reads (its own variables, compilers, proxies and
// certificates, the user's home and caches), never the rest of ebb's,
// which holds its credentials. A preview's code is built with it too.
func buildEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if buildVars[k] || strings.HasPrefix(k, "CGO_") || strings.HasPrefix(k, "LC_") || strings.HasPrefix(k, "PKG_CONFIG") {
			out = append(out, kv)
		}
	}
	return out
}

// buildVars are the variables buildEnv keeps, beyond CGO_*, LC_* and
// PKG_CONFIG*: the Go toolchain's (go help environment) and the system's
// it needs.
var buildVars = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(`PATH HOME USER LOGNAME TMPDIR LANG CC CXX AR FC GCCGO
		SSL_CERT_FILE SSL_CERT_DIR XDG_CACHE_HOME XDG_CONFIG_HOME
		HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy
		GO111MODULE GOARCH GOAUTH GOBIN GOCACHE GOCACHEPROG GODEBUG GOENV GOEXPERIMENT GOFIPS140
		GOFLAGS GOINSECURE GOMODCACHE GONOPROXY GONOSUMDB GOOS GOPATH GOPRIVATE GOPROXY GOROOT
		GOSUMDB GOTMPDIR GOTOOLCHAIN GOTELEMETRY GOTELEMETRYDIR GOVCS GOWORK GOMAXPROCS GOGC GOMEMLIMIT
		GO386 GOAMD64 GOARM GOARM64 GOMIPS GOMIPS64 GOPPC64 GORISCV64 GOWASM`) {
		m[k] = true
	}
	return m
}()

// NewSandbox makes a Sandbox for uid and gid with a directory of its own
// under the system's temporary directory; Remove deletes it.
func NewSandbox(uid, gid uint32) (*Sandbox, error) {
	dir, err := os.MkdirTemp("", "ebb-sandbox-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	sb := &Sandbox{UID: uid, GID: gid, Dir: dir}
	if err := sb.reachable(dir); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("sandbox directory: %w (set TMPDIR to a directory everyone can enter)", err)
	}
	return sb, nil
}

// Remove deletes the sandbox's directory.
func (sb *Sandbox) Remove() error { return os.RemoveAll(sb.Dir) }

// ParseUser reads UID or UID:GID (the GID defaults to the UID).
func ParseUser(v string) (uid, gid uint32, err error) {
	u, g, hasGID := strings.Cut(v, ":")
	n, err := strconv.ParseUint(u, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("user %q: want UID or UID:GID", v)
	}
	uid, gid = uint32(n), uint32(n)
	if hasGID {
		m, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return 0, 0, fmt.Errorf("user %q: want UID or UID:GID", v)
		}
		gid = uint32(m)
	}
	if uid == 0 {
		return 0, 0, fmt.Errorf("user %q: a preview must not run as root", v)
	}
	return uid, gid, nil
}
