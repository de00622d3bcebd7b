package gittest

import (
	"crypto/subtle"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// HTTPServer serves every repository under Root over git's smart HTTP
// protocol (git http-backend behind net/http/cgi) on 127.0.0.1.
type HTTPServer struct {
	URL  string // base URL; a repository is URL + "/" + name
	Root string
	// AlsoURL is the base URL on HTTPOptions.Also, if it was set.
	AlsoURL string

	infoRefs    atomic.Int64
	uploadPacks atomic.Int64
	uploadBytes atomic.Int64
	receivePack atomic.Int64
}

// HTTPOptions configure an HTTPServer: with a Username every request must
// carry basic auth with these credentials, with a Token a bearer token,
// or gets 401.
type HTTPOptions struct {
	Username, Password string
	Token              string
	// Also is a listener the server serves on as well, e.g. one inside a
	// test node's network that pods reach (nodetest.Node.Listen).
	Also net.Listener
}

// NewHTTPServer starts a smart HTTP server for the repositories under root,
// stopped when the test ends.
func NewHTTPServer(t testing.TB, root string, o HTTPOptions) *HTTPServer {
	t.Helper()
	s := &HTTPServer{Root: root}
	backend := &cgi.Handler{
		Path: GitPath(t),
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1"},
		// Refused ref updates ("cannot lock ref") are expected in races;
		// the client reports them.
		Stderr: io.Discard,
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.Token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(o.Token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="git"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		if o.Username != "" {
			u, p, ok := r.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(o.Username)) != 1 ||
				subtle.ConstantTimeCompare([]byte(p), []byte(o.Password)) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		switch {
		case strings.HasSuffix(r.URL.Path, "/info/refs"):
			s.infoRefs.Add(1)
		case strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			s.uploadPacks.Add(1)
			w = &countingWriter{ResponseWriter: w, n: &s.uploadBytes}
		case strings.HasSuffix(r.URL.Path, "/git-receive-pack"):
			s.receivePack.Add(1)
		}
		backend.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	if o.Also != nil {
		also := &httptest.Server{Listener: o.Also, Config: &http.Server{Handler: h}}
		also.Start()
		t.Cleanup(also.Close)
		s.AlsoURL = also.URL
	}
	return s
}

// UnreachableURL is an http:// URL of a repository on 127.0.0.1 where
// nothing listens: a connection to it is refused.
func UnreachableURL(t testing.TB, name string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String() + "/" + name
}

// WithUserinfo puts userinfo ("user:password", or a token alone) into an
// http:// URL, as a user pastes credentials into a clone URL.
func WithUserinfo(url, userinfo string) string {
	return strings.Replace(url, "http://", "http://"+userinfo+"@", 1)
}

// RepoURL is the clone URL of the repository named name.
func (s *HTTPServer) RepoURL(name string) string { return s.URL + "/" + name }

// InfoRefs counts reference advertisements served (ls-remote, the start of
// every fetch and push).
func (s *HTTPServer) InfoRefs() int64 { return s.infoRefs.Load() }

// UploadPacks counts upload-pack requests: negotiations that send objects.
func (s *HTTPServer) UploadPacks() int64 { return s.uploadPacks.Load() }

// UploadPackBytes counts the bytes of upload-pack responses: the packs
// sent, with protocol framing.
func (s *HTTPServer) UploadPackBytes() int64 { return s.uploadBytes.Load() }

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// ReceivePacks counts receive-pack requests (pushes).
func (s *HTTPServer) ReceivePacks() int64 { return s.receivePack.Load() }
