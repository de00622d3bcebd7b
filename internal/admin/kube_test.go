package admin

import (
	"encoding/base64"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnverifiedClaims(t *testing.T) {
	jwt := func(payload string) string {
		return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
	}
	for _, tc := range []struct {
		tok   string
		want  claims
		isJWT bool
	}{
		{jwt(`{"sub":"system:serviceaccount:ebb-system:ebb-gateway","aud":["ebb-controller"],"exp":1800000000}`),
			claims{Sub: "system:serviceaccount:ebb-system:ebb-gateway", Aud: audience{"ebb-controller"}, Exp: 1800000000}, true},
		{jwt(`{"sub":"u","aud":"ebb-controller"}`), claims{Sub: "u", Aud: audience{"ebb-controller"}}, true},
		{jwt(`{"sub":"u"}`), claims{Sub: "u"}, true},
		{jwt(`{"aud":7}`), claims{}, false},
		{jwt(`not json`), claims{}, false},
		{"opaque-static-token", claims{}, false},
		{"a.!!!.c", claims{}, false},
	} {
		got, isJWT := unverifiedClaims(tc.tok)
		if isJWT != tc.isJWT {
			t.Errorf("unverifiedClaims(%q): JWT %v, want %v", tc.tok, isJWT, tc.isJWT)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("unverifiedClaims(%q) (-want +got):\n%s", tc.tok, diff)
		}
	}
}
