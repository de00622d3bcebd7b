package admin

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

// TestHandler serves each option of the one admin handler on loopback:
// what is set is served, what is not answers 404.
func TestHandler(t *testing.T) {
	var ready atomic.Bool
	var kicks, pushes atomic.Int32
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "ebb_test_total"}))
	full := Options{
		Metrics: reg,
		Ready: func() error {
			if !ready.Load() {
				return errors.New("endpoints not synced")
			}
			return nil
		},
		JSON:   map[string]func() any{"/v1/services": func() any { return []string{"default/hello"} }},
		Source: &Source{Kick: func() { kicks.Add(1) }, Sync: Bearer("sync-token")},
		Stats: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pushes.Add(1)
			w.WriteHeader(http.StatusAccepted)
		}),
		StatsAuth: Bearer("stats-token"),
		Pprof:     true,
	}
	type req struct{ method, path, token string }
	type answer struct {
		Code int
		Body string
	}
	get := func(t *testing.T, addr string, r req) answer {
		hr, err := http.NewRequest(r.method, "http://"+addr+r.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.token != "" {
			hr.Header.Set("Authorization", "Bearer "+r.token)
		}
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		first, _, _ := strings.Cut(string(b), "\n")
		return answer{resp.StatusCode, first}
	}
	for _, tc := range []struct {
		name  string
		opts  Options
		ready bool
		reqs  []req
		want  []answer
	}{
		{"every option, not ready", full, false,
			[]req{{"GET", "/healthz", ""}, {"GET", "/readyz", ""}, {"GET", "/v1/services", ""}, {"POST", "/v1/sync", "sync-token"},
				{"POST", "/v1/stats", ""}, {"POST", "/v1/stats", "stats-token"}, {"GET", "/debug/pprof/", ""}},
			[]answer{{200, "ok"}, {503, "endpoints not synced"}, {200, `["default/hello"]`}, {202, ""},
				{401, "unauthenticated: an Authorization: Bearer token is required"}, {202, ""}, {200, "<html>"}}},
		{"every option, ready", full, true,
			[]req{{"GET", "/readyz", ""}, {"GET", "/metrics", ""}},
			[]answer{{200, "ok"}, {200, "# HELP ebb_test_total "}}},
		{"none", Options{}, true,
			[]req{{"GET", "/healthz", ""}, {"GET", "/readyz", ""}, {"GET", "/v1/services", ""}, {"POST", "/v1/sync", "sync-token"},
				{"POST", "/v1/stats", "stats-token"}, {"GET", "/debug/pprof/", ""}, {"GET", "/metrics", ""}},
			[]answer{{200, "ok"}, {404, "404 page not found"}, {404, "404 page not found"}, {404, "404 page not found"},
				{404, "404 page not found"}, {404, "404 page not found"}, {200, ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ready.Store(tc.ready)
			h, err := NewHandler(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			serve(t, NewLocalServer(l.Addr(), h), l)
			var got []answer
			for _, r := range tc.reqs {
				got = append(got, get(t, l.Addr().String(), r))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
		})
	}
	if got := [2]int32{kicks.Load(), pushes.Load()}; got != [2]int32{1, 1} {
		t.Errorf("kicks and stats pushes %v, want [1 1]", got)
	}
}

func TestHandlerRefusesStatsWithoutAuthenticator(t *testing.T) {
	if _, err := NewHandler(Options{Stats: http.NotFoundHandler()}); err == nil {
		t.Error("NewHandler took stats pushes open to anyone")
	}
}
