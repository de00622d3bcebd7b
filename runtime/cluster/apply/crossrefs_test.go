//go:build unix

package apply_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/runtime/cluster/apply"
)

func TestCrossNamespaceRefs(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want []apply.CrossRef
	}{
		{"RoleBinding subjects", `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb, namespace: a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
subjects:
- {kind: ServiceAccount, name: own, namespace: a}
- {kind: ServiceAccount, name: implicit}
- {kind: User, name: someone, apiGroup: rbac.authorization.k8s.io}
- {kind: ServiceAccount, name: theirs, namespace: b}
`, []apply.CrossRef{{Path: "subjects[3].namespace", Namespace: "b", Name: "theirs"}}},
		{"HTTPRoute parents, backends and mirrors", `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: a}
spec:
  parentRefs:
  - {name: gw, namespace: infra}
  - {name: local}
  rules:
  - backendRefs:
    - {name: web, port: 80}
    - name: api
      namespace: b
      port: 80
      filters:
      - type: RequestMirror
        requestMirror: {backendRef: {name: shadow, namespace: c, port: 80}}
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: copy, namespace: d, port: 80}}
`, []apply.CrossRef{
			{Path: "spec.parentRefs[0].namespace", Namespace: "infra", Name: "gw"},
			{Path: "spec.rules[0].filters[0].requestMirror.backendRef.namespace", Namespace: "d", Name: "copy"},
			{Path: "spec.rules[0].backendRefs[1].namespace", Namespace: "b", Name: "api"},
			{Path: "spec.rules[0].backendRefs[1].filters[0].requestMirror.backendRef.namespace", Namespace: "c", Name: "shadow"},
		}},
		{"Gateway certificates", `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: a}
spec:
  gatewayClassName: x
  listeners:
  - name: https
    port: 443
    protocol: HTTPS
    tls: {certificateRefs: [{name: own}, {name: cert, namespace: certs}]}
`, []apply.CrossRef{{Path: "spec.listeners[0].tls.certificateRefs[1].namespace", Namespace: "certs", Name: "cert"}}},
		{"ReferenceGrant", `apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: g, namespace: a}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: b}]
  to: [{group: "", kind: Service}]
`, []apply.CrossRef{{Path: "spec.from[0].namespace", Namespace: "b"}}},
		{"VirtualService gateways and hosts", `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: vs, namespace: a}
spec:
  gateways: [mesh, own-gw, istio-system/gw]
  hosts: [example.com]
  http:
  - match: [{gateways: [other/gw2]}]
    route:
    - destination: {host: web.a.svc.cluster.local}
    - destination: {host: api.b.svc.cluster.local}
    - destination: {host: shortname}
    mirror: {host: shadow.c.svc}
  tcp:
  - route: [{destination: {host: db.d.svc.cluster.local.}}]
`, []apply.CrossRef{
			{Path: "spec.gateways[2]", Namespace: "istio-system", Name: "gw"},
			{Path: "spec.http[0].match[0].gateways[0]", Namespace: "other", Name: "gw2"},
			{Path: "spec.http[0].route[1].destination.host", Namespace: "b", Name: "api"},
			{Path: "spec.http[0].mirror.host", Namespace: "c", Name: "shadow"},
			{Path: "spec.tcp[0].route[0].destination.host", Namespace: "d", Name: "db"},
		}},
		{"ExternalName Service", `apiVersion: v1
kind: Service
metadata: {name: s, namespace: a}
spec: {type: ExternalName, externalName: api.b.svc.cluster.local}
`, []apply.CrossRef{{Path: "spec.externalName", Namespace: "b", Name: "api"}}},
		{"ExternalName outside the cluster", `apiVersion: v1
kind: Service
metadata: {name: s, namespace: a}
spec: {type: ExternalName, externalName: example.com}
`, nil},
		{"ClusterIP Service", `apiVersion: v1
kind: Service
metadata: {name: s, namespace: a}
spec: {selector: {app: s}, ports: [{port: 80}]}
`, nil},
		{"EndpointSlice targets", `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: e, namespace: a}
addressType: IPv4
endpoints:
- {addresses: [10.0.0.1], targetRef: {kind: Pod, name: p, namespace: a}}
- {addresses: [10.0.0.2], targetRef: {kind: Pod, name: q, namespace: b}}
`, []apply.CrossRef{{Path: "endpoints[1].targetRef.namespace", Namespace: "b", Name: "q"}}},
		{"Endpoints targets", `apiVersion: v1
kind: Endpoints
metadata: {name: e, namespace: a}
subsets:
- addresses: [{ip: 10.0.0.1, targetRef: {kind: Pod, name: p, namespace: b}}]
  notReadyAddresses: [{ip: 10.0.0.2, targetRef: {kind: Pod, name: q, namespace: c}}]
`, []apply.CrossRef{
			{Path: "subsets[0].addresses[0].targetRef.namespace", Namespace: "b", Name: "p"},
			{Path: "subsets[0].notReadyAddresses[0].targetRef.namespace", Namespace: "c", Name: "q"},
		}},
		{"PersistentVolumeClaim data source", `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: c, namespace: a}
spec: {dataSourceRef: {kind: VolumeSnapshot, name: snap, namespace: b}}
`, []apply.CrossRef{{Path: "spec.dataSourceRef.namespace", Namespace: "b", Name: "snap"}}},
		{"ServiceAccount secrets", `apiVersion: v1
kind: ServiceAccount
metadata: {name: sa, namespace: a}
secrets: [{name: own}, {name: token, namespace: b}]
`, []apply.CrossRef{{Path: "secrets[1].namespace", Namespace: "b", Name: "token"}}},
		{"a Deployment names nothing outside", `apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: a}
spec:
  template:
    spec:
      serviceAccountName: other
      containers: [{name: c, image: x, envFrom: [{secretRef: {name: s}}]}]
`, nil},
		{"cluster-scoped objects have no namespace to leave", `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
subjects: [{kind: ServiceAccount, name: x, namespace: b}]
`, nil},
		{"fields of the wrong type read as absent", `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb, namespace: a}
subjects: [42, {kind: ServiceAccount, name: x, namespace: [b]}]
`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := apply.CrossNamespaceRefs(objects(t, tc.doc)[0])
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("CrossNamespaceRefs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseServiceAccount(t *testing.T) {
	home := "ebb-system"
	deploy := apply.Ref{Group: "apps", Kind: "Deployment", Namespace: "team-a", Name: "web"}
	ns := apply.Ref{Kind: "Namespace", Name: "team-b"}
	role := apply.Ref{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "reader"}
	for _, tc := range []struct {
		in               string
		want             apply.ServiceAccount
		deploy, ns, role string // the user each ref is applied as
		err              bool
	}{
		{in: "ebb-applier", want: apply.ServiceAccount{Name: "ebb-applier"},
			deploy: "system:serviceaccount:team-a:ebb-applier", ns: "system:serviceaccount:team-b:ebb-applier",
			role: "system:serviceaccount:ebb-system:ebb-applier"},
		{in: "tenants/applier", want: apply.ServiceAccount{Namespace: "tenants", Name: "applier"},
			deploy: "system:serviceaccount:tenants:applier", ns: "system:serviceaccount:tenants:applier",
			role: "system:serviceaccount:tenants:applier"},
		{in: "", want: apply.ServiceAccount{}},
		{in: "Team/applier", err: true},
		{in: "team/", err: true},
		{in: "a/b/c", err: true},
		{in: "under_score", err: true},
	} {
		got, err := apply.ParseServiceAccount(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseServiceAccount(%q): error %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if tc.err {
			continue
		}
		if got != tc.want {
			t.Errorf("ParseServiceAccount(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if got.IsZero() {
			continue
		}
		if got.String() != tc.in {
			t.Errorf("ParseServiceAccount(%q).String() = %q", tc.in, got.String())
		}
		for _, c := range []struct {
			ref  apply.Ref
			want string
		}{{deploy, tc.deploy}, {ns, tc.ns}, {role, tc.role}} {
			if u := got.For(c.ref, home).UserName(); u != c.want {
				t.Errorf("%q: %s is applied as %s, want %s", tc.in, c.ref, u, c.want)
			}
		}
	}
}
