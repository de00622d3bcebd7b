package layout

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/ebb-dev/ebb"

// graph is the module's import graph: each package's direct imports
// within the module (test files left out).
type graph map[string][]string

// importGraph reads the module's import graph from `go list`.
func importGraph(t *testing.T) graph {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(goBin, "list", "-e", "-f", `{{.ImportPath}}{{"\t"}}{{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	g := graph{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, "\t")
		g[pkg] = nil
		for _, imp := range strings.Fields(imports) {
			if in(imp, module+"/...") {
				g[pkg] = append(g[pkg], imp)
			}
		}
	}
	if len(g) < 50 {
		t.Fatalf("go list found %d packages; want the whole module", len(g))
	}
	return g
}

// in reports whether pkg matches a pattern: an import path, or a path
// ending in /... for it and everything under it.
func in(pkg string, patterns ...string) bool {
	for _, p := range patterns {
		if base, ok := strings.CutSuffix(p, "/..."); ok {
			if pkg == base || strings.HasPrefix(pkg, base+"/") {
				return true
			}
		} else if pkg == p {
			return true
		}
	}
	return false
}

// edge is one import, importer → imported.
type edge struct{ from, to string }

// path returns the shortest import chain from pkg to a package target
// accepts (pkg first, module prefix trimmed), following no edge in skip;
// nil when there is none.
func (g graph) path(pkg string, skip []edge, target func(string) bool) []string {
	prev := map[string]string{pkg: ""}
	queue := []string{pkg}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p != pkg && target(p) {
			var chain []string
			for ; p != ""; p = prev[p] {
				chain = append(chain, strings.TrimPrefix(p, module+"/"))
			}
			slices.Reverse(chain)
			return chain
		}
		for _, imp := range g[p] {
			if _, seen := prev[imp]; !seen && !slices.Contains(skip, edge{p, imp}) {
				prev[imp] = p
				queue = append(queue, imp)
			}
		}
	}
	return nil
}

func abs(rel ...string) []string {
	out := make([]string, len(rel))
	for i, r := range rel {
		out[i] = module + "/" + r
	}
	return out
}

// Layers of ebb.
var (
	// dataPlane serves requests: the gateway, activator, queue-proxy and
	// autoscaler, and the commands that wire them.
	dataPlane = abs("proxy/...", "scaler/...", "cmd/ebb/internal/gatewaycmd", "cmd/ebb/internal/queuecmd", "cmd/ebb/sidecar")
	// controlPlane turns a repository into objects and applies them.
	controlPlane = abs("engine/...", "runtime/...", "render", "serving/rollout", "serving/canary", "serving/gc")
)

// allowed are imports the rules below let through, each with its reason.
// None today.
var allowed = []edge{}

// TestLayers: the data plane never imports the control plane, so that
// the gateway and the queue-proxy link no renderer, engine or apply code
// (they learn about revisions through proxy/kube's contract); serving
// (what a repository says) knows nothing of the proxy; the renderer knows
// of the proxy only the route table it writes (proxy/route, with the
// header names in it).
func TestLayers(t *testing.T) {
	g := importGraph(t)
	rules := []struct {
		name      string
		from, not []string
		except    []string
	}{
		{"data plane ↛ control plane", dataPlane, controlPlane, nil},
		{"serving ↛ proxy", abs("serving/..."), abs("proxy/..."), nil},
		// The route contract is the table (proxy/route) and the header
		// names its paths match and append (proxy/header).
		{"render ↛ proxy but the route contract", abs("render/..."), abs("proxy/..."), abs("proxy/route", "proxy/header")},
		// The percent type is shared by serving, the renderer and the
		// route table the data plane reads: a leaf, so that reading the
		// table links none of serving.
		{"serving/traffic ↛ ebb", abs("serving/traffic"), abs("..."), nil},
	}
	for _, r := range rules {
		forbidden := func(p string) bool { return in(p, r.not...) && !in(p, r.except...) }
		n := 0
		for pkg := range g {
			if !in(pkg, r.from...) {
				continue
			}
			n++
			if chain := g.path(pkg, allowed, forbidden); chain != nil {
				t.Errorf("%s: %s", r.name, strings.Join(chain, " → "))
			}
		}
		if n == 0 {
			t.Errorf("%s: no package matches %v", r.name, r.from)
		}
	}
}

// TestGatewayDeps: `ebb gateway`'s wiring links the proxy and its
// informers, and none of the renderer, the engine, the runtimes (apply
// among them), serving's decoding (package serving, which links
// kustomize; its leaves serving/traffic and serving/names aside) or
// serving's rollout code, as `go list -deps` says.
func TestGatewayDeps(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(goBin, "list", "-deps", module+"/cmd/ebb/internal/gatewaycmd").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, want := range abs("proxy/gateway", "proxy/activator", "proxy/kube") {
		if !slices.Contains(deps, want) {
			t.Errorf("gatewaycmd does not link %s: is it still the gateway?", want)
		}
	}
	for _, d := range deps {
		if in(d, abs("render/...", "engine/...", "runtime/...", "serving", "serving/rollout", "serving/canary", "serving/gc")...) {
			t.Errorf("gatewaycmd links %s", d)
		}
	}
}

// leaves are the packages both planes share: each imports the standard
// library only, so that sharing it links nothing more into the gateway.
var leaves = abs("serving/names")

// TestLeaves: a leaf imports nothing but the standard library.
func TestLeaves(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	for _, leaf := range leaves {
		out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", leaf).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", leaf, err)
		}
		for _, d := range strings.Fields(string(out)) {
			if d != leaf {
				t.Errorf("%s imports %s", leaf, d)
			}
		}
	}
}
