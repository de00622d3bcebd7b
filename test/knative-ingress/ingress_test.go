package knativeingress

import (
	"context"
	"maps"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/serving"
	netv1alpha1 "knative.dev/networking/pkg/apis/networking/v1alpha1"
)

func TestMain(m *testing.M) {
	// Knative reads the cluster domain from resolv.conf unless told.
	os.Setenv("CLUSTER_DOMAIN", "cluster.local")
	os.Exit(m.Run())
}

const kourier = "kourier.ingress.networking.knative.dev"

func service(name, extra string) string {
	return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ` + name + `
  namespace: team
` + extra + `
`
}

// template is a spec.template with an image and an env var, so that a
// new value makes a new revision.
func template(version string, extra string) string {
	return `  template:
` + extra + `    spec:
      containers:
        - image: example.com/app
          env:
            - {name: VERSION, value: ` + version + `}
`
}

var corpus = []repo{{
	name:   "one revision, default domain",
	config: map[string]map[string]string{"config-network": {"ingress-class": kourier}},
	commits: []string{
		service("hello", "spec:\n"+template("v1", "")),
	},
}, {
	name: "splits and tags under a custom domain",
	config: map[string]map[string]string{
		"config-network": {"ingress-class": kourier},
		"config-domain":  {"example.com": ""},
	},
	commits: []string{
		service("shop", "spec:\n"+template("v1", "")),
		service("shop", "spec:\n"+template("v2", "")),
		service("shop", "spec:\n"+template("v3", "")+`  traffic:
    - {revisionName: shop-00001, percent: 10, tag: old}
    - {revisionName: shop-00002, percent: 60}
    - {latestRevision: true, percent: 30}
    - {latestRevision: true, percent: 0, tag: next}
    - {revisionName: shop-00002, percent: 0, tag: stable}
`),
	},
}, {
	name: "cluster-local Service with a tag",
	config: map[string]map[string]string{
		"config-network": {"ingress-class": "contour.ingress.networking.knative.dev"},
		"config-domain":  {"example.com": ""},
	},
	commits: []string{
		service("inside", "  labels: {networking.knative.dev/visibility: cluster-local}\nspec:\n"+template("v1", "")),
		service("inside", "  labels: {networking.knative.dev/visibility: cluster-local}\nspec:\n"+template("v2", "")+`  traffic:
    - {revisionName: inside-00001, percent: 50, tag: blue}
    - {latestRevision: true, percent: 50, tag: green}
`),
	},
}, {
	name: "BYO revision names",
	config: map[string]map[string]string{
		"config-network": {"ingress-class": kourier},
		"config-domain":  {"example.com": ""},
	},
	commits: []string{
		service("byo", "spec:\n"+template("v1", "    metadata: {name: byo-first}\n")),
		service("byo", "spec:\n"+template("v2", "    metadata: {name: byo-second}\n")+`  traffic:
    - {revisionName: byo-first, percent: 25}
    - {revisionName: byo-second, percent: 75, tag: current}
`),
	},
}, {
	name: "DomainMappings, with and without TLS",
	config: map[string]map[string]string{
		"config-network": {"ingress-class": kourier},
		"config-domain":  {"example.com": ""},
	},
	commits: []string{
		service("site", "spec:\n"+template("v1", "")) + `---
apiVersion: serving.knative.dev/v1beta1
kind: DomainMapping
metadata:
  name: www.example.org
  namespace: team
spec:
  ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: site}
---
apiVersion: serving.knative.dev/v1beta1
kind: DomainMapping
metadata:
  name: secure.example.org
  namespace: team
  labels: {owner: web}
  annotations:
    networking.knative.dev/http-protocol: Redirected
    networking.knative.dev/ingress.class: contour.ingress.networking.knative.dev
spec:
  ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: site}
  tls: {secretName: secure-cert}
`,
	},
}, {
	name: "timeouts and h2c",
	config: map[string]map[string]string{
		"config-network": {"ingress-class": "alb.ingress.networking.knative.dev"},
	},
	commits: []string{
		service("grpc", `spec:
  template:
    spec:
      timeoutSeconds: 120
      responseStartTimeoutSeconds: 30
      idleTimeoutSeconds: 60
      containers:
        - image: example.com/grpc
          ports: [{name: h2c, containerPort: 9000}]
`),
	},
}, {
	name: "http-protocol Redirected, one Service back to Enabled",
	config: map[string]map[string]string{
		"config-network": {"ingress-class": "mse.ingress.networking.knative.dev", "http-protocol": "Redirected"},
		"config-domain":  {"example.com": ""},
	},
	commits: []string{
		service("redirected", "spec:\n"+template("v1", "")) + "---\n" +
			service("plain", "  annotations: {networking.knative.dev/http-protocol: Enabled, team/owner: web}\nspec:\n"+template("v1", "")),
	},
}, {
	name: "custom domain and tag templates, selected domains",
	config: map[string]map[string]string{
		"config-network": {
			"ingress-class":   kourier,
			"domain-template": "{{.Name}}-{{.Namespace}}.{{.Domain}}",
			"tag-template":    "{{.Name}}-at-{{.Tag}}",
		},
		"config-domain": {"example.com": "", "internal.example.net": "selector:\n  tier: internal\n"},
	},
	commits: []string{
		service("api", "  labels: {tier: internal}\nspec:\n"+template("v1", "")),
		service("api", "  labels: {tier: internal}\nspec:\n"+template("v2", "")+`  traffic:
    - {revisionName: api-00001, percent: 40, tag: before}
    - {latestRevision: true, percent: 60}
`) + "---\n" + service("web", "spec:\n"+template("v1", "")),
	},
}, {
	name: "tag header routing",
	config: map[string]map[string]string{
		"config-network":  {"ingress-class": kourier},
		"config-domain":   {"example.com": ""},
		"config-features": {"tag-header-based-routing": "Enabled"},
	},
	commits: []string{
		service("hdr", "spec:\n"+template("v1", "")),
		service("hdr", "spec:\n"+template("v2", "")+`  traffic:
    - {revisionName: hdr-00001, percent: 20, tag: a}
    - {latestRevision: true, percent: 80, tag: b}
`),
	},
}, {
	name: "classes by annotation; istio and gateway-api as KIngress; system-internal TLS",
	config: map[string]map[string]string{
		"config-network": {"ingress-class": kourier, "kingress-classes": "istio,gateway-api", "system-internal-tls": "Enabled"},
		"config-domain":  {"example.com": ""},
	},
	commits: []string{
		service("via-istio", "  annotations: {networking.knative.dev/ingress.class: istio.ingress.networking.knative.dev}\nspec:\n"+template("v1", "")) + "---\n" +
			service("via-gw", "  annotations: {networking.knative.dev/ingress.class: gateway-api.ingress.networking.knative.dev}\nspec:\n"+template("v1", "")) + "---\n" +
			service("custom", "  annotations: {networking.knative.dev/ingress.class: edge.example.com, kubectl.kubernetes.io/last-applied-configuration: '{}'}\nspec:\n"+template("v1", "")),
	},
}}

// TestKIngressMatchesKnative renders each repository with ebb and builds
// the same routes with Knative's reconciler resources, and wants every
// KIngress equal: the same set of names, and for each the labels,
// annotations and spec.
func TestKIngressMatchesKnative(t *testing.T) {
	total := 0
	for _, r := range corpus {
		t.Run(r.name, func(t *testing.T) {
			st, err := renderEbb(r)
			if err != nil {
				t.Fatalf("ebb: %v", err)
			}
			got, err := st.kingresses()
			if err != nil {
				t.Fatal(err)
			}
			ctx, cfg, err := knativeContext(r)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]*netv1alpha1.Ingress{}
			for _, svc := range st.tree.Services {
				l := ledgerOf(st, svc.Namespace, svc.Name)
				ing, err := knativeRouteIngress(ctx, cfg, svc, l)
				if err != nil {
					t.Fatalf("knative: service %s: %v", svc.Name, err)
				}
				want[ing.Namespace+"/"+ing.Name] = ing
			}
			for _, dm := range st.tree.DomainMappings {
				ing, err := knativeDomainMappingIngress(ctx, cfg, dm, "cluster.local")
				if err != nil {
					t.Fatalf("knative: domainmapping %s: %v", dm.Name, err)
				}
				want[ing.Namespace+"/"+ing.Name] = ing
			}
			if d := cmp.Diff(slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(got))); d != "" {
				t.Fatalf("KIngress names (-knative +ebb):\n%s", d)
			}
			for key, w := range want {
				g := got[key]
				for _, c := range []struct {
					field     string
					want, got any
				}{
					{"labels", w.Labels, g.Labels},
					{"annotations", w.Annotations, g.Annotations},
					{"spec", w.Spec, g.Spec},
				} {
					if d := cmp.Diff(c.want, c.got); d != "" {
						t.Errorf("KIngress %s %s (-knative +ebb):\n%s", key, c.field, d)
					}
				}
				if err := g.Validate(context.Background()); err != nil {
					t.Errorf("KIngress %s: Knative's Validate: %v", key, err)
				}
			}
			total += len(got)
		})
	}
	t.Logf("%d KIngresses compared", total)
	if total < len(corpus) {
		t.Errorf("compared %d KIngresses for %d repositories", total, len(corpus))
	}
}

func ledgerOf(st *ebbState, namespace, name string) *serving.Ledger {
	for _, l := range st.ledgers {
		if l.Namespace == namespace && l.Service == name {
			return l
		}
	}
	return nil
}
