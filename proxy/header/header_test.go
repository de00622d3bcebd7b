package header

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSetForwarded(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   http.Header
		want string
	}{
		{"none", http.Header{}, ""},
		{"kept", http.Header{"Forwarded": {"for=1.2.3.4"}, "X-Forwarded-For": {"5.6.7.8"}}, "for=1.2.3.4"},
		{"one hop", http.Header{"X-Forwarded-For": {"10.0.0.1"}, "X-Forwarded-Proto": {"http"}, "X-Forwarded-Host": {"a.example.com"}},
			"for=10.0.0.1;host=a.example.com;proto=http"},
		{"two hops", http.Header{"X-Forwarded-For": {"10.0.0.1, 10.0.0.2"}}, "for=10.0.0.1, for=10.0.0.2"},
		{"ipv6 and port host", http.Header{"X-Forwarded-For": {"::1"}, "X-Forwarded-Host": {"a:8080"}}, `for="[::1]";host="a:8080"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			SetForwarded(tc.in)
			if diff := cmp.Diff(tc.want, tc.in.Get("Forwarded")); diff != "" {
				t.Errorf("Forwarded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStripServing(t *testing.T) {
	h := http.Header{"Knative-Serving-Revision": {"r"}, "Knative-Serving-Namespace": {"n"}, "Knative-Serving-Tag": {"t"}, "Other": {"x"}}
	StripServing(h)
	if diff := cmp.Diff(http.Header{"Other": {"x"}}, h); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
}

func FuzzSetForwarded(f *testing.F) {
	f.Add("10.0.0.1, ::1", "h", "http")
	f.Add("", "a:8080", "")
	f.Add(" , ,", "", "ht tp")
	f.Add("127.0.0.1", "127.0.0.1:8080", "http")
	f.Add("\"x\\", "", "")
	f.Fuzz(func(t *testing.T, xff, host, proto string) {
		h := http.Header{}
		h.Set("X-Forwarded-For", xff)
		h.Set("X-Forwarded-Host", host)
		h.Set("X-Forwarded-Proto", proto)
		want := h.Clone()
		setForwardedReference(want)
		SetForwarded(h)
		if diff := cmp.Diff(want, h); diff != "" {
			t.Errorf("SetForwarded(%q, %q, %q) (-reference +got):\n%s", xff, host, proto, diff)
		}
	})
}

// setForwardedReference is the first, straightforward SetForwarded: the
// fuzz test holds the faster one to its output.
func setForwardedReference(h http.Header) {
	if h.Get(Forwarded) != "" {
		return
	}
	xff := h.Values("X-Forwarded-For")
	host := h.Get("X-Forwarded-Host")
	proto := h.Get("X-Forwarded-Proto")
	if len(xff) == 0 && host == "" && proto == "" {
		return
	}
	var hops []string
	for _, v := range xff {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				hops = append(hops, f)
			}
		}
	}
	var b strings.Builder
	n := max(len(hops), 1)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		var parts []string
		if i < len(hops) {
			parts = append(parts, "for="+nodeName(hops[i]))
		}
		if i == 0 {
			if host != "" {
				parts = append(parts, "host="+quoteIfNeeded(host))
			}
			if proto != "" {
				parts = append(parts, "proto="+quoteIfNeeded(proto))
			}
		}
		b.WriteString(strings.Join(parts, ";"))
	}
	if v := b.String(); v != "" {
		h.Set(Forwarded, v)
	}
}

// BenchmarkForwarded is the per-request header work of a queue-proxy hop:
// X-Forwarded-* from the client, then Forwarded from them (and the same
// with the reference Forwarded builder).
func BenchmarkForwarded(b *testing.B) {
	in, _ := http.NewRequest(http.MethodGet, "http://hello.default.example.com/", nil)
	in.RemoteAddr = "127.0.0.1:41234"
	for name, set := range map[string]func(http.Header){"fast": SetForwarded, "reference": setForwardedReference} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out := &http.Request{Header: http.Header{"User-Agent": {"wrk"}}}
				SetXForwarded(out, in)
				set(out.Header)
			}
		})
	}
}
