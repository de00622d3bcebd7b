package header

import (
	"net/http"
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
	f.Fuzz(func(t *testing.T, xff, host, proto string) {
		h := http.Header{}
		h.Set("X-Forwarded-For", xff)
		h.Set("X-Forwarded-Host", host)
		h.Set("X-Forwarded-Proto", proto)
		SetForwarded(h)
	})
}
