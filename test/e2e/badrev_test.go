package e2e

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// badRevisionApp answers "<TARGET>\n" on $PORT.
const badRevisionApp = `package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, os.Getenv("TARGET")) })
	fmt.Println(http.ListenAndServe(":"+os.Getenv("PORT"), nil))
}
`

// badRevisionRepo is a serving repository with a module holding a
// working app (good) and a package that does not compile (broken).
func badRevisionRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":         "module example.test/bad\n\ngo 1.26\n",
		"good/main.go":   badRevisionApp,
		"broken/main.go": "package main\n\nfunc main() { undefinedCall() }\n",
		"service.yaml":   badRevisionService("rev-00001", goodContainer("v1"), false),
	} {
		writeFile(t, filepath.Join(dir, name), body)
	}
	return dir
}

// goodContainer is the working app saying target.
func goodContainer(target string) string {
	return `        - image: ko://example.test/bad/good
          env:
            - name: TARGET
              value: ` + target + "\n"
}

// badRevisionService is the Service "rev" whose template is named name
// (left to ebb for rev-00001) with container; latestRevision takes all
// traffic, and with candidate the tag candidate pins the template's
// revision.
func badRevisionService(name, container string, candidate bool) string {
	meta := ""
	if name != "rev-00001" {
		meta = "    metadata:\n      name: " + name + "\n"
	}
	traffic := "    - latestRevision: true\n      percent: 100\n"
	if candidate {
		traffic += "    - revisionName: " + name + "\n      tag: candidate\n"
	}
	return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: rev
  namespace: default
spec:
  template:
` + meta + `    spec:
      containers:
` + container + `  traffic:
` + traffic
}

// load sends requests for host, one after another, until stopped, and
// keeps every answer that was not a 200 with one of the allowed bodies.
type load struct {
	mu      sync.Mutex
	allowed map[string]bool
	counts  map[string]int
	bad     []string
	stop    chan struct{}
	done    chan struct{}
}

func startLoad(u *upProcess, host string, allowed ...string) *load {
	l := &load{allowed: map[string]bool{}, counts: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	l.allow(allowed...)
	go func() {
		defer close(l.done)
		for {
			select {
			case <-l.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			code, body, err := u.get(host)
			l.mu.Lock()
			l.counts[strings.TrimSpace(body)]++
			if err != nil || code != 200 || !l.allowed[body] {
				l.bad = append(l.bad, fmt.Sprintf("%s: %d %q %v", time.Now().Format("15:04:05.000"), code, body, err))
			}
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *load) allow(bodies ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range bodies {
		l.allowed[b] = true
	}
}

func (l *load) finish() (counts map[string]int, bad []string) {
	close(l.stop)
	<-l.done
	return l.counts, l.bad
}

// quick is the client for the answers that must come within a second.
var quick = &http.Client{Timeout: 10 * time.Second}

// timedGet sends one request for host through the gateway and says how
// long its answer took.
func timedGet(u *upProcess, host string) (code int, body string, took time.Duration, err error) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+u.gateway+"/", nil)
	req.Host = host
	start := time.Now()
	resp, err := quick.Do(req)
	if err != nil {
		return 0, "", time.Since(start), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), time.Since(start), err
}

// TestUpBadRevisionNeverTakesTheServiceDown: a template whose process
// exits 1, whose ko:// image does not build, or whose command does not
// exist leaves the previous revision serving all of the Service's traffic
// (no request fails meanwhile); its tag host answers 503 within a second,
// naming the revision and Knative's reason; and the fixed template that
// follows takes the traffic.
func TestUpBadRevisionNeverTakesTheServiceDown(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	dir := badRevisionRepo(t)
	svcFile := filepath.Join(dir, "service.yaml")
	u := startUp(t, dir)
	const main, tag = "rev.default.svc.cluster.local", "candidate-rev.default.svc.cluster.local"
	eventually(t, "rev-00001 serving", 2*time.Minute, func() string {
		if code, body, err := u.get(main); err != nil || code != 200 || body != "v1\n" {
			return fmt.Sprintf("%d %q %v", code, body, err)
		}
		return ""
	})
	traffic := startLoad(u, main, "v1\n")

	previous := "v1\n"
	for i, bad := range []struct {
		name, container, reason string
	}{
		{"rev-exit1", "        - image: registry.example/unused\n          command: [\"sh\", \"-c\", \"echo cannot start >&2; exit 1\"]\n", "ExitCode1: Container failed with: cannot start"},
		{"rev-build", "        - image: ko://example.test/bad/broken\n", "BuildFailed"},
		{"rev-missing", "        - image: registry.example/unused\n          command: [\"/nonexistent/ebb-app\"]\n", "ExitCode128"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			writeFile(t, svcFile, badRevisionService(bad.name, bad.container, true))
			want := "revision default/" + bad.name + " cannot serve: " + bad.reason
			// The first answer from the tag host, once routed, may have
			// been held while the revision started: it too is the 503.
			eventually(t, bad.name+"'s tag host answering 503", time.Minute, func() string {
				code, body, took, err := timedGet(u, tag)
				switch {
				case err != nil:
					return err.Error()
				case code == http.StatusNotFound:
					return "not routed yet"
				case code != http.StatusServiceUnavailable || !strings.Contains(body, want):
					t.Fatalf("tag host answered %d %q after %v, want 503 with %q", code, body, took, want)
				}
				return ""
			})
			for range 5 {
				code, body, took, err := timedGet(u, tag)
				if err != nil || code != http.StatusServiceUnavailable || !strings.Contains(body, want) || took > time.Second {
					t.Errorf("tag host answered %d %q %v after %v, want 503 with %q within 1s", code, body, err, took, want)
				}
			}
			revs := u.revisions(t)
			if r := revs[bad.name]; r.Ready != "False" || !strings.HasPrefix(r.Reason, bad.reason) || r.Percent != 0 {
				t.Errorf("%s: %+v, want not ready with %s and no traffic", bad.name, r, bad.reason)
			}
			if _, body, err := u.get(main); err != nil || body != previous {
				t.Errorf("main host answered %q, %v; want the previous revision's %q", body, err, previous)
			}

			fixed := fmt.Sprintf("fixed%d", i+1)
			traffic.allow(fixed + "\n")
			writeFile(t, svcFile, badRevisionService("rev-"+fixed, goodContainer(fixed), false))
			eventually(t, "the fixed template taking the traffic", 2*time.Minute, func() string {
				if _, body, err := u.get(main); err != nil || body != fixed+"\n" {
					return fmt.Sprintf("%q %v", body, err)
				}
				return ""
			})
			previous = fixed + "\n"
		})
	}
	counts, failed := traffic.finish()
	t.Logf("main host answers while templates failed and were fixed: %v", counts)
	if len(failed) > 0 {
		t.Errorf("%d requests for the main host failed:\n%s", len(failed), strings.Join(failed, "\n"))
	}
}
