package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ebbBin is the ebb binary the tests run, built once in TestMain.
var ebbBin string

// repoRoot is the root of the ebb module.
var repoRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ebb-e2e-")
	if err != nil {
		panic(err)
	}
	repoRoot, _ = filepath.Abs("../..")
	ebbBin = filepath.Join(dir, "ebb")
	build := exec.Command("go", "build", "-o", ebbBin, "./cmd/ebb")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build ebb:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// copyExample copies examples/<name> into a temporary serving repository
// with a go.work that lets its ko:// images build from the ebb module, and
// extra files on top.
func copyExample(t *testing.T, name string, extra map[string]string) string {
	t.Helper()
	dst := copyDir(t, filepath.Join(repoRoot, "examples", name))
	extra["go.work"] = "go 1.26.0\n\nuse " + repoRoot + "\n"
	for f, body := range extra {
		writeFile(t, filepath.Join(dst, f), body)
	}
	return dst
}

// copyDir copies the tree src into a temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeFile(t *testing.T, name, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	// Write through a rename, as editors do, so the watcher never reads a
	// half-written file.
	tmp := name + ".tmp~"
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

// upProcess is a running `ebb up`.
type upProcess struct {
	cmd            *exec.Cmd
	gateway, admin string
	mu             sync.Mutex
	stdout, stderr strings.Builder
	exited         chan error
}

var servingLine = regexp.MustCompile(`on http://(127\.0\.0\.1:\d+) \(status: ebb get services --admin (127\.0\.0\.1:\d+)\)`)

func startUp(t *testing.T, dir string) *upProcess {
	t.Helper()
	return launch(t, dir, nil, "up", dir, "--addr", "127.0.0.1:0", "--admin", "127.0.0.1:0")
}

// launch runs ebb with args in dir (env nil: ebb's own environment) and
// waits until it serves; the process is stopped with SIGINT when the test
// ends, and its output is logged if the test failed.
func launch(t *testing.T, dir string, env []string, args ...string) *upProcess {
	t.Helper()
	cmd := exec.Command(ebbBin, args...)
	cmd.Dir, cmd.Env = dir, env
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	u := &upProcess{cmd: cmd, exited: make(chan error, 1)}
	addrs := make(chan []string, 1)
	var pipes sync.WaitGroup
	pipes.Go(func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			u.mu.Lock()
			u.stdout.WriteString(sc.Text() + "\n")
			u.mu.Unlock()
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				addrs <- m[1:]
			}
		}
	})
	pipes.Go(func() {
		io.Copy(writerFunc(func(p []byte) (int, error) {
			u.mu.Lock()
			defer u.mu.Unlock()
			return u.stderr.Write(p)
		}), stderr)
	})
	go func() {
		pipes.Wait()
		u.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-u.exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("ebb up stdout:\n%s\nstderr:\n%s", u.out(), u.errOut())
		}
	})
	select {
	case a := <-addrs:
		u.gateway, u.admin = a[0], a[1]
	case err := <-u.exited:
		t.Fatalf("ebb up exited: %v\n%s", err, u.errOut())
	case <-time.After(time.Minute):
		t.Fatal("ebb up did not start within a minute")
	}
	return u
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (u *upProcess) out() string    { u.mu.Lock(); defer u.mu.Unlock(); return u.stdout.String() }
func (u *upProcess) errOut() string { u.mu.Lock(); defer u.mu.Unlock(); return u.stderr.String() }

var client = &http.Client{Timeout: 60 * time.Second}

// get sends one request for host through the gateway.
func (u *upProcess) get(host string) (int, string, error) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+u.gateway+"/", nil)
	req.Host = host
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// eventually retries check (bounded) until it returns "".
func eventually(t *testing.T, what string, limit time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	last := ""
	for time.Now().Before(deadline) {
		if last = check(); last == "" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v: %s", what, limit, last)
}

// revisionStatus is the part of `ebb get revisions -o json` the tests read.
type revisionStatus struct {
	Name    string `json:"name"`
	Percent int64  `json:"percent"`
	Desired int32  `json:"desired"`
	Actual  int    `json:"actual"`
	Ready   string `json:"ready"`
	Reason  string `json:"reason"`
}

func (u *upProcess) revisions(t *testing.T) map[string]revisionStatus {
	t.Helper()
	out, err := exec.Command(ebbBin, "get", "revisions", "--admin", u.admin, "-o", "json").Output()
	if err != nil {
		t.Fatalf("ebb get: %v", err)
	}
	var svcs []struct {
		Revisions []revisionStatus `json:"revisions"`
	}
	if err := json.Unmarshal(out, &svcs); err != nil {
		t.Fatalf("ebb get output: %v\n%s", err, out)
	}
	m := map[string]revisionStatus{}
	for _, s := range svcs {
		for _, r := range s.Revisions {
			m[r.Name] = r
		}
	}
	return m
}

// children returns the processes whose parent is pid.
func children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after ")".
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 {
			if ppid, _ := strconv.Atoi(fields[1]); ppid == pid {
				out = append(out, child)
			}
		}
	}
	return out
}

func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	// A zombie is gone for every purpose but its parent's bookkeeping.
	return err == nil && !strings.Contains(string(b[strings.LastIndexByte(string(b), ')'):]), ") Z ")
}

// Settings that make scale to zero observable in seconds: plain
// configuration, as a developer would put in their repository.
const fastScaleToZero = `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-autoscaler
  namespace: ebb-system
data:
  stable-window: 6s
  scale-to-zero-grace-period: 1s
`

func TestUpHello(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	dir := copyExample(t, "hello", map[string]string{"config-autoscaler.yaml": fastScaleToZero})
	u := startUp(t, dir)
	const host = "hello.default.svc.cluster.local"
	eventually(t, "a ready-to-paste curl line", 30*time.Second, func() string {
		if !strings.Contains(u.out(), "curl -H 'Host: "+host+"' http://"+u.gateway+"/") {
			return u.out()
		}
		return ""
	})
	eventually(t, "Hello World! through the gateway", 2*time.Minute, func() string {
		code, body, err := u.get(host)
		if err != nil || code != 200 || body != "Hello World!\n" {
			return fmt.Sprintf("%d %q %v", code, body, err)
		}
		return ""
	})

	// A bad edit is reported with its place and changes nothing.
	svcFile := filepath.Join(dir, "service.yaml")
	good, _ := os.ReadFile(svcFile)
	writeFile(t, svcFile, helloWith("Ebb", "    - revisionName: hello-00001\n      percent: 40\n    - latestRevision: true\n      percent: 50\n"))
	eventually(t, "the bad edit reported", 30*time.Second, func() string {
		if e := u.errOut(); !strings.Contains(e, "service.yaml:") || !strings.Contains(e, "Traffic targets sum to 90, want 100") {
			return "not yet"
		}
		return ""
	})
	if code, body, _ := u.get(host); code != 200 || body != "Hello World!\n" {
		t.Fatalf("after a bad edit: %d %q", code, body)
	}
	if _, ok := u.revisions(t)["hello-00002"]; ok {
		t.Fatal("a bad edit made a revision")
	}
	_ = good

	// Editing TARGET with a 50/50 split makes hello-00002 and splits.
	writeFile(t, svcFile, helloWith("Ebb", fiftyFifty))
	eventually(t, "hello-00002 serving", 2*time.Minute, func() string {
		if _, body, _ := u.get(host); body != "Hello Ebb!\n" {
			return body
		}
		return ""
	})
	counts := map[string]int{}
	for range 1000 {
		code, body, err := u.get(host)
		if err != nil || code != 200 {
			t.Fatalf("during the split: %d %v", code, err)
		}
		counts[body]++
	}
	for _, body := range []string{"Hello World!\n", "Hello Ebb!\n"} {
		if n := counts[body]; n < 450 || n > 550 {
			t.Errorf("%q answered %d of 1000, want 500±50 (%v)", body, n, counts)
		}
	}
	ledger, err := os.ReadFile(filepath.Join(dir, ".ebb/default/hello.yaml"))
	if err != nil || !strings.Contains(string(ledger), "name: hello-00002") {
		t.Errorf("ledger not written back: %v\n%s", err, ledger)
	}

	// A pod whose process dies is restarted, after the back-off (10 s);
	// requests meanwhile keep both revisions from scaling to zero.
	before := appProcesses(u)
	if len(before) == 0 {
		t.Fatal("no app process found")
	}
	syscall.Kill(before[0], syscall.SIGKILL)
	eventually(t, "the killed app restarted", time.Minute, func() string {
		u.get(host)
		now := appProcesses(u)
		if len(now) < len(before) || contains(now, before[0]) {
			return fmt.Sprintf("app processes %v (before %v)", now, before)
		}
		return ""
	})
	eventually(t, "serving after the restart", time.Minute, func() string {
		for range 20 {
			if code, _, err := u.get(host); err != nil || code != 200 {
				return fmt.Sprintf("%d %v", code, err)
			}
		}
		return ""
	})

	// Idle, every revision goes to zero; the next request is held and
	// answered.
	u.waitScaledToZero(t)
	code, body, err := u.get(host)
	if err != nil || code != 200 || (body != "Hello World!\n" && body != "Hello Ebb!\n") {
		t.Fatalf("from zero: %d %q %v", code, body, err)
	}

	// Ctrl-C stops everything it started.
	started := appProcesses(u)
	if len(started) == 0 {
		t.Fatal("no app process after scale from zero")
	}
	u.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-u.exited:
		if err != nil {
			t.Errorf("ebb up exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ebb up did not stop within 30s of SIGINT")
	}
	for _, pid := range started {
		if alive(pid) {
			t.Errorf("app process %d outlived ebb up", pid)
		}
	}
}

// appProcesses are the user containers ebb up runs (its child processes).
func appProcesses(u *upProcess) []int {
	var out []int
	for _, pid := range children(u.cmd.Process.Pid) {
		if alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestUpTrafficTags(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	dir := copyExample(t, "traffic", map[string]string{})
	u := startUp(t, dir)
	const main, staging = "traffic.default.svc.cluster.local", "staging-traffic.default.svc.cluster.local"
	eventually(t, "a curl line for the staging tag", 30*time.Second, func() string {
		if !strings.Contains(u.out(), "staging: curl -H 'Host: "+staging+"' http://"+u.gateway+"/") {
			return u.out()
		}
		return ""
	})
	eventually(t, "the staging tag answering", 2*time.Minute, func() string {
		if code, body, err := u.get(staging); err != nil || code != 200 {
			return fmt.Sprintf("%d %q %v", code, body, err)
		}
		return ""
	})
	for range 50 {
		if _, body, err := u.get(staging); err != nil || body != "traffic-00003 (v3)\n" {
			t.Fatalf("staging answered %q, %v; want only traffic-00003", body, err)
		}
	}
	counts := map[string]int{}
	for range 200 {
		_, body, err := u.get(main)
		if err != nil {
			t.Fatal(err)
		}
		counts[body]++
	}
	if counts["traffic-00003 (v3)\n"] != 0 || counts["traffic-00001 (v1)\n"] == 0 || counts["traffic-00002 (v2)\n"] == 0 {
		t.Errorf("main host split %v, want v1 and v2 only", counts)
	}
}

var _ = context.Background
