package gateway

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/ebb-dev/ebb/proxy/route"
)

// FuzzCompile feeds route tables from outside (a file, a ConfigMap) to the
// compiler and the lookup: they may be refused, never panic, and a split
// always lands on one of the path's revisions.
func FuzzCompile(f *testing.F) {
	b, _ := json.Marshal(helloTable())
	f.Add(b, "hello.default.example.com", "/v1")
	f.Add([]byte(`{"routes":[{"rules":[{"hosts":["a"],"paths":[{"splits":[{"revision":"r","percent":3},{"revision":"s","percent":7}]}]}]}]}`), "A:1", "/")
	f.Fuzz(func(t *testing.T, data []byte, host, path string) {
		var tab route.Table
		if json.Unmarshal(data, &tab) != nil {
			return
		}
		c, err := compile(tab)
		if err != nil {
			return
		}
		p := c.lookup(host, path, http.Header{})
		if p == nil {
			return
		}
		for range 3 {
			if s := p.pick(); s == nil {
				t.Fatal("nil split")
			}
		}
	})
}
