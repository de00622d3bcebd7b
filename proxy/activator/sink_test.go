package activator

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/scaler/metric"
)

// TestHTTPStatsToken: every push carries the token file's content as it
// is at that moment (the kubelet rotates a projected token in place).
func TestHTTPStatsToken(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != metric.PushPath || r.Method != http.MethodPost {
			t.Errorf("%s %s, want POST %s", r.Method, r.URL.Path, metric.PushPath)
		}
		got = append(got, r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "token")
	s := &HTTPStats{URL: srv.URL, TokenFile: file}
	msgs := []metric.Message{{Namespace: "default", Revision: "hello-00001"}}
	if err := s.Send(t.Context(), msgs); err == nil {
		t.Error("a push without its token file succeeded")
	}
	for _, tok := range []string{"first\n", "second"} {
		if err := os.WriteFile(file, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := s.Send(t.Context(), msgs); err != nil {
			t.Fatal(err)
		}
	}
	if err := (&HTTPStats{URL: srv.URL}).Send(t.Context(), msgs); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Bearer first", "Bearer second", ""}, got); diff != "" {
		t.Errorf("Authorization of each push (-want +got):\n%s", diff)
	}
}
