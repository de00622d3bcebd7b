package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHandler(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail bool
		want string
	}{
		{"serves", false, "200 web-00002 (v2)\n"},
		{"fails as asked", true, "500 web-00002 (v2) fails as asked\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(handler("web-00002", "v2", tc.fail))
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, fmt.Sprintf("%d %s", resp.StatusCode, b)); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}
