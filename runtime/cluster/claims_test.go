package cluster

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/render"
)

func TestStaleClaims(t *testing.T) {
	claim := func(host, ns, source string) claimObject {
		return claimObject{Claim: route.Claim{Host: host, Namespace: ns, Source: source}, uid: types.UID(host)}
	}
	use := func(host, ns string, local bool) render.HostUse {
		return render.HostUse{Host: host, Namespace: ns, Kind: "Service", Name: "hello", Local: local}
	}
	existing := []claimObject{
		claim("api.example.com", "default", "main"),             // used: kept
		claim("gone.example.com", "default", "main"),            // no use left: released
		claim("moved.example.com", "default", "main"),           // now used by another namespace only: released
		claim("other.example.com", "default", "other"),          // another source's: never ours to release
		claim("hello.default", "default", "main"),               // decided by the local name: released
		claim("x.default.svc.cluster.local", "default", "main"), // a cluster-local name needs no claim
	}
	uses := []render.HostUse{
		use("api.example.com", "default", false),
		use("moved.example.com", "tenant-x", false),
		use("hello.default", "default", true),
		use("x.default.svc.cluster.local", "default", true),
	}
	var got []string
	for _, o := range staleClaims(existing, uses, "main") {
		got = append(got, o.Host)
	}
	want := []string{"gone.example.com", "moved.example.com", "hello.default", "x.default.svc.cluster.local"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("stale claims (-want +got):\n%s", d)
	}
}
