package proxy

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The data plane stays small: nothing under proxy/ may import client-go
// but proxy/kube, the cluster gateway's informers, which no other proxy
// package imports (so the queue-proxy sidecar never links it).
func TestNoClientGo(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	pkgs, err := exec.Command(goBin, "list", "github.com/ebb-dev/ebb/proxy/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	args := []string{"list", "-deps"}
	for _, p := range strings.Fields(string(pkgs)) {
		if p != "github.com/ebb-dev/ebb/proxy/kube" {
			args = append(args, p)
		}
	}
	out, err := exec.Command(goBin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list returned %d packages; want the proxy's dependency tree", len(deps))
	}
	for _, d := range deps {
		if d == "github.com/ebb-dev/ebb/proxy/kube" || strings.HasPrefix(d, "k8s.io/client-go") || strings.HasPrefix(d, "k8s.io/api/") || strings.HasPrefix(d, "k8s.io/apimachinery") {
			t.Errorf("proxy/... depends on %s", d)
		}
	}
}
