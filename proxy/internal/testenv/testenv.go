// Package testenv builds and starts the test app as a real process for the
// proxy tests, on 127.0.0.1 only.
package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// App is the path of the built test app; set by Main.
var App string

// Main builds the test app into a temporary directory, runs the tests and
// removes the directory. Use it as TestMain.
func Main(m *testing.M) {
	dir, err := os.MkdirTemp("", "ebb-proxy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		App = filepath.Join(dir, "testapp")
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goBin); err != nil {
			goBin = "go"
		}
		cmd := exec.Command(goBin, "build", "-o", App, "github.com/ebb-dev/ebb/proxy/internal/testapp")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build test app:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// StartApp starts the test app with args and returns its host:port. The
// process is killed when the test ends.
func StartApp(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(App, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start test app: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read test app address: %v", err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("test app said %q", line)
	}
	return addr
}

// Listen opens a TCP listener on a free loopback port.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}
