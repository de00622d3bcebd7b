package render

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/serving"
)

func TestHostOwners(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	use := func(host, ns, kind, name string, since time.Time) HostUse {
		return HostUse{Host: host, Namespace: ns, Kind: kind, Name: name, Since: since}
	}
	local := func(u HostUse) HostUse { u.Local = true; return u }
	claims := map[string]string{"api.example.com": "default", "hello.default": "tenant-x"}
	claimed := func(h string) (string, bool) { ns, ok := claims[h]; return ns, ok }
	type refusal struct{ Host, Namespace, Owner, By string }
	for _, tc := range []struct {
		name    string
		uses    []HostUse
		claimed func(string) (string, bool)
		claim   []string // namespace/host
		refused []refusal
	}{{
		name: "first come by the first revision",
		uses: []HostUse{
			use("shop.example.com", "b-team", "DomainMapping", "shop.example.com", day(3)),
			use("shop.example.com", "a-team", "DomainMapping", "shop.example.com", day(5)),
			use("shop.example.com", "c-team", "Service", "shop", time.Time{}),
		},
		claim:   []string{"b-team/shop.example.com"},
		refused: []refusal{{"shop.example.com", "a-team", "b-team", "b-team"}, {"shop.example.com", "c-team", "b-team", "b-team"}},
	}, {
		name: "ties go by namespace, kind and name",
		uses: []HostUse{
			use("shop.example.com", "a-team", "DomainMapping", "shop.example.com", day(3)),
			use("shop.example.com", "a-team", "Service", "shop", day(3)),
			use("shop.example.com", "b-team", "DomainMapping", "shop.example.com", day(3)),
		},
		claim:   []string{"a-team/shop.example.com"},
		refused: []refusal{{"shop.example.com", "b-team", "a-team", "a-team"}},
	}, {
		name: "a claim beats an earlier use",
		uses: []HostUse{
			use("api.example.com", "tenant-x", "DomainMapping", "api.example.com", day(1)),
			use("api.example.com", "default", "DomainMapping", "api.example.com", day(9)),
		},
		claimed: claimed,
		refused: []refusal{{"api.example.com", "tenant-x", "default", "default"}},
	}, {
		name: "a claim of a namespace with no use here",
		uses: []HostUse{
			use("api.example.com", "tenant-x", "DomainMapping", "api.example.com", day(1)),
		},
		claimed: claimed,
		refused: []refusal{{"api.example.com", "tenant-x", "default", ""}},
	}, {
		name: "local names belong to their namespace, claimed or not",
		uses: []HostUse{
			use("hello.default", "tenant-x", "DomainMapping", "hello.default", day(1)),
			local(use("hello.default", "default", "Service", "hello", day(9))),
			use("hello.default.svc.cluster.local", "tenant-x", "Service", "hello", day(1)),
			local(use("own.tenant-x", "tenant-x", "Service", "own", day(1))),
		},
		claimed: claimed,
		refused: []refusal{{"hello.default", "tenant-x", "default", "default"}, {"hello.default.svc.cluster.local", "tenant-x", "default", ""}},
	}, {
		name: "one namespace may serve a host from several objects",
		uses: []HostUse{
			use("hello.example.com", "default", "DomainMapping", "hello.example.com", day(1)),
			use("hello.example.com", "default", "Service", "hello", day(2)),
		},
		claim: []string{"default/hello.example.com"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			claim, refused := HostOwners(tc.uses, tc.claimed)
			var gotClaim []string
			for _, u := range claim {
				gotClaim = append(gotClaim, u.Namespace+"/"+u.Host)
			}
			var gotRefused []refusal
			for _, r := range refused {
				by := ""
				if r.By != nil {
					by = r.By.Namespace
				}
				gotRefused = append(gotRefused, refusal{r.Host, r.Namespace, r.Owner, by})
			}
			if d := cmp.Diff(tc.claim, gotClaim); d != "" {
				t.Errorf("claims (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.refused, gotRefused); d != "" {
				t.Errorf("refused (-want +got):\n%s", d)
			}
		})
	}
}

// TestRenderRefusesSharedHosts renders one repository in which Services
// and DomainMappings of two namespaces serve the same hosts: the later of
// each pair is an error naming the earlier, whatever the input order.
func TestRenderRefusesSharedHosts(t *testing.T) {
	cfg := testConfig(t, map[string]map[string]string{
		"config-domain":  {"example.com": ""},
		"config-network": {"domain-template": "{{.Name}}.{{.Domain}}"},
	})
	svc := func(ns, name string, day int) (*serving.Service, *serving.Ledger) {
		s := testService(name)
		s.Namespace = ns
		l := testLedger(s)
		l.Revisions[0].Created.Time = metav1.NewTime(time.Date(2026, 11, day, 0, 0, 0, 0, time.UTC))
		return s, l
	}
	dm := func(ns, name, target string) *serving.DomainMapping {
		d := &serving.DomainMapping{}
		d.Name, d.Namespace = name, ns
		d.Spec.Ref = serving.KReference{Kind: "Service", Name: target}
		return d
	}
	s1, l1 := svc("default", "hello", 2)
	s2, l2 := svc("tenant-x", "hello", 1) // earlier: takes hello.example.com
	s3, l3 := svc("tenant-x", "shop", 5)
	in := Input{
		Services: []*serving.Service{s1, s2, s3}, Ledgers: []*serving.Ledger{l1, l2, l3}, Config: cfg,
		DomainMappings: []*serving.DomainMapping{
			dm("default", "api.example.com", "hello"),  // by default's hello: day 2
			dm("tenant-x", "api.example.com", "shop"),  // by tenant-x's shop: day 5
			dm("tenant-x", "shop.example.org", "shop"), // tenant-x's own: fine
		},
	}
	_, err := Render(in)
	var list serving.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Render = %v, want a serving.ErrorList", err)
	}
	var got []string
	for _, fe := range list {
		got = append(got, fe.Error())
	}
	want := []string{
		"DomainMapping.serving.knative.dev tenant-x/api.example.com: metadata.name: host api.example.com is already in use by another namespace (DomainMapping default/api.example.com)",
		"Service.serving.knative.dev default/hello: metadata.name: host hello.example.com is already in use by another namespace (Service tenant-x/hello)",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
	// The same answer from the memo, in any order of input.
	in.Services[0], in.Services[2] = in.Services[2], in.Services[0]
	var m Memo
	if _, err := m.RenderLean(in); err == nil || err.Error() != list.Error() {
		t.Errorf("Memo.RenderLean = %v, want\n%v", err, list)
	}

	// Without the other namespace's uses, the same objects render.
	in.DomainMappings = in.DomainMappings[1:]
	in.Services, in.Ledgers = []*serving.Service{s2, s3}, []*serving.Ledger{l2, l3}
	if _, err := Render(in); err != nil {
		t.Errorf("one namespace's hosts: %v", err)
	}
}

// TestMemoCheckHosts: the memo's check keeps the hosts of unchanged
// Services, and sees a Service, a ledger or a configuration that changed.
func TestMemoCheckHosts(t *testing.T) {
	plain := testConfig(t, map[string]map[string]string{"config-domain": {"example.com": ""}})
	flat := testConfig(t, map[string]map[string]string{
		"config-domain":  {"example.com": ""},
		"config-network": {"domain-template": "{{.Name}}.{{.Domain}}"},
	})
	svc := func(ns, name string) (*serving.Service, *serving.Ledger) {
		s := testService(name)
		s.Namespace = ns
		return s, testLedger(s)
	}
	a, la := svc("default", "hello")
	b, lb := svc("tenant-x", "other")
	in := Input{Services: []*serving.Service{a, b}, Ledgers: []*serving.Ledger{la, lb}, Config: flat}
	var m Memo
	step := func(name string, in Input, wantErr bool) {
		t.Helper()
		err := m.CheckHosts(in)
		if (err != nil) != wantErr || (err == nil) != (CheckHosts(in) == nil) {
			t.Errorf("%s: Memo.CheckHosts = %v, CheckHosts = %v, want an error: %v", name, err, CheckHosts(in), wantErr)
		}
	}
	step("apart", in, false)
	// tenant-x's Service renamed hello: a new pointer.
	c, lc := svc("tenant-x", "hello")
	in.Services, in.Ledgers = []*serving.Service{a, c}, []*serving.Ledger{la, lc}
	step("a new Service on the same host", in, true)
	// The same Service, routed nowhere by a new ledger.
	quiet := *lc
	quiet.Traffic = nil
	in.Ledgers = []*serving.Ledger{la, &quiet}
	step("a ledger that routes nothing", in, false)
	in.Ledgers = []*serving.Ledger{la, lc}
	step("routed again", in, true)
	// The same pointers under a template with the namespace in the host.
	in.Config = plain
	step("a new configuration", in, false)
}
