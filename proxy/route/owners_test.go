package route

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOwner(t *testing.T) {
	o := NewOwners([]Claim{
		{Host: "api.example.com", Namespace: "default"},
		{Host: "hello.default", Namespace: "tenant-x"},
		{Host: "hello.default.svc.cluster.local", Namespace: "tenant-x"},
		{Host: "example.com", Namespace: "default"},
	})
	o.AddLocal("default", Table{Routes: []Route{
		{Namespace: "default", Name: "hello", Rules: []Rule{{Hosts: []string{"hello.default", "hello.default.svc"}, Visibility: ClusterLocal}}},
		// Another namespace's route in default's table names nothing.
		{Namespace: "other", Name: "x", Rules: []Rule{{Hosts: []string{"x.other"}, Visibility: ClusterLocal}}},
	}})
	// An exposed rule does not make a <name>.<ns> host local.
	o.AddLocal("com", Table{Routes: []Route{{Namespace: "com", Name: "example", Rules: []Rule{{Hosts: []string{"example.com"}, Visibility: ExternalIP}}}}})
	for host, want := range map[string]string{
		"api.example.com":                  "default",
		"hello.default":                    "default", // listed by default as a local name: the claim does not count
		"hello.default.svc.cluster.local":  "default", // names default: the claim does not count
		"hello.default.svc":                "default",
		"x.tenant-x.svc.example.internal":  "tenant-x",
		"example.com":                      "default",
		"x.other":                          "",
		"unclaimed.example.com":            "",
		"svc.example.com":                  "",
		"a.b.svcx":                         "",
		"hello.default.svc.cluster.local.": "default",
	} {
		got, ok := o.Owner(host)
		if got != want || ok != (want != "") {
			t.Errorf("Owner(%q) = %q, %v; want %q", host, got, ok, want)
		}
	}
}

func TestIsLocalName(t *testing.T) {
	for _, tc := range []struct {
		host, ns string
		want     bool
	}{
		{"hello.default", "default", true},
		{"hello.default.svc", "default", true},
		{"hello.default.svc.cluster.local", "default", true},
		{"hello.default.example.com", "default", false},
		{"hello.other.svc.cluster.local", "default", false},
		{"default", "default", false},
		{".default", "default", false},
	} {
		if got := IsLocalName(tc.host, tc.ns); got != tc.want {
			t.Errorf("IsLocalName(%q, %q) = %v, want %v", tc.host, tc.ns, got, tc.want)
		}
	}
}

func TestRestrict(t *testing.T) {
	split := func(ns, rev string) []Path {
		return []Path{{Splits: []Split{{Namespace: ns, Revision: rev, Percent: 100}}}}
	}
	in := Table{
		Routes: []Route{
			{Namespace: "tenant-x", Name: "evil", Rules: []Rule{
				{Hosts: []string{"api.example.com", "own.example.com"}, Visibility: ExternalIP, Paths: split("tenant-x", "evil-00001")},
				{Hosts: []string{"hello.default.svc.cluster.local", "unclaimed.example.com"}, Visibility: ClusterLocal, Paths: split("tenant-x", "evil-00001")},
				{Hosts: []string{"evil.tenant-x.svc.cluster.local"}, Visibility: ClusterLocal, Paths: split("default", "hello-00001")},
			}},
			{Namespace: "default", Name: "hello", Rules: []Rule{{Hosts: []string{"hello.default"}, Visibility: ClusterLocal, Paths: split("default", "hello-00001")}}},
		},
		Revisions: []Revision{{Namespace: "default", Name: "hello-00001"}, {Namespace: "tenant-x", Name: "evil-00001"}},
	}
	o := NewOwners([]Claim{{Host: "api.example.com", Namespace: "default"}, {Host: "own.example.com", Namespace: "tenant-x"}})
	got, dropped := Restrict(in, "tenant-x", o)
	want := Table{
		Routes: []Route{{Namespace: "tenant-x", Name: "evil", Rules: []Rule{
			{Hosts: []string{"own.example.com"}, Visibility: ExternalIP, Paths: split("tenant-x", "evil-00001")},
		}}},
		Revisions: []Revision{{Namespace: "tenant-x", Name: "evil-00001"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("restricted (-want +got):\n%s", d)
	}
	wantDropped := []string{
		"host api.example.com: owned by another namespace",
		"host hello.default.svc.cluster.local: owned by another namespace",
		"host unclaimed.example.com: not claimed by namespace tenant-x",
		"route tenant-x/evil rule 2 path 0: splits to default/hello-00001, not in namespace tenant-x",
		"route default/hello: not in namespace tenant-x",
		"revision default/hello-00001: not in namespace tenant-x",
	}
	if d := cmp.Diff(wantDropped, dropped); d != "" {
		t.Errorf("dropped (-want +got):\n%s", d)
	}
	if _, dropped := Restrict(want, "tenant-x", o); len(dropped) != 0 {
		t.Errorf("an owned table loses %v", dropped)
	}
}

func TestClaimObjectName(t *testing.T) {
	if got := ClaimObjectName("api.example.com"); got != "ebb-claim.api.example.com" {
		t.Errorf("ClaimObjectName = %q", got)
	}
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 60)
	got := ClaimObjectName(long)
	if len(got) > 253 || !strings.HasPrefix(got, "ebb-claim-") || got == ClaimObjectName(long+"e") {
		t.Errorf("ClaimObjectName(long) = %q", got)
	}
	c := Claim{Host: "api.example.com", Namespace: "default", Source: "main", Kind: "DomainMapping", Name: "api.example.com"}
	back, err := ParseClaim(c.Data())
	if err != nil || back != c {
		t.Errorf("ParseClaim(Data()) = %+v, %v; want %+v", back, err, c)
	}
	if _, err := ParseClaim(map[string]string{ClaimHostKey: "a.example.com"}); err == nil {
		t.Error("a claim without a namespace parses")
	}
}
