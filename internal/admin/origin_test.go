package admin

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestHostAllowed(t *testing.T) {
	loop := netip.MustParseAddrPort("127.0.0.1:8081")
	loop6 := netip.MustParseAddrPort("[::1]:8081")
	any4 := netip.MustParseAddrPort("0.0.0.0:8081")
	lan := netip.MustParseAddrPort("192.168.1.5:8081")
	for _, tc := range []struct {
		host   string
		listen netip.AddrPort
		want   bool
	}{
		{"127.0.0.1:8081", loop, true},
		{"localhost:8081", loop, true},
		{"LocalHost:8081", loop, true},
		{"[::1]:8081", loop, true},
		{"127.0.0.2:8081", loop, true},
		{"127.0.0.1:8081", loop6, true},
		{"127.0.0.1:8082", loop, false},
		{"127.0.0.1", loop, false}, // port 80
		{"evil.example:8081", loop, false},
		{"localhost.evil.example:8081", loop, false},
		{"localhost.:8081", loop, false},
		{"127.0.0.1.nip.io:8081", loop, false},
		{"192.168.1.5:8081", loop, false},
		{"192.168.1.5:8081", lan, true},
		{"127.0.0.1:8081", lan, false},
		{"localhost:8081", lan, true},
		{"10.0.0.7:8081", any4, true},
		{"evil.example:8081", any4, false},
		{"", loop, false},
		{"[::1:8081", loop, false},
	} {
		if got := hostAllowed(tc.host, tc.listen); got != tc.want {
			t.Errorf("hostAllowed(%q, %s) = %v, want %v", tc.host, tc.listen, got, tc.want)
		}
	}
}

func TestCrossOrigin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers map[string]string
		host    string
		cross   bool
	}{
		{"no browser headers", nil, "127.0.0.1:8081", false},
		{"same origin", map[string]string{"Origin": "http://127.0.0.1:8081", "Sec-Fetch-Site": "same-origin"}, "127.0.0.1:8081", false},
		{"typed in the address bar", map[string]string{"Sec-Fetch-Site": "none"}, "127.0.0.1:8081", false},
		{"foreign origin", map[string]string{"Origin": "https://evil.example"}, "127.0.0.1:8081", true},
		{"another port of the same host", map[string]string{"Origin": "http://127.0.0.1:3000"}, "127.0.0.1:8081", true},
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}, "127.0.0.1:8081", true},
		{"same-site fetch", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:8081"}, "127.0.0.1:8081", true},
		{"opaque origin", map[string]string{"Origin": "null"}, "127.0.0.1:8081", true},
		{"origin case", map[string]string{"Origin": "http://LOCALHOST:8081"}, "localhost:8081", false},
	} {
		h := http.Header{}
		for k, v := range tc.headers {
			h.Set(k, v)
		}
		if got := crossOrigin(h, tc.host); (got != "") != tc.cross {
			t.Errorf("%s: crossOrigin = %q, want cross-origin %v", tc.name, got, tc.cross)
		}
	}
}
