package names

import (
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"
)

// TestChild: Knative's kmeta.ChildName vectors, and ebb's own.
func TestChild(t *testing.T) {
	long := strings.Repeat("a", 60)
	tests := []struct {
		name, parent, suffix, want string
	}{
		{"short", "hello-00001", "-deployment", "hello-00001-deployment"},
		{"exactly 63", strings.Repeat("b", 52), "-deployment", strings.Repeat("b", 52) + "-deployment"},
		// 31-11 = 20 characters of the parent, md5(parent), the suffix.
		{"long parent", long, "-deployment", strings.Repeat("a", 20) + md5hex(long) + "-deployment"},
		{"long suffix", "pp", strings.Repeat("s", 62), "pp" + md5hex("pp"+strings.Repeat("s", 62)) + strings.Repeat("s", 29)},
		{"long both", strings.Repeat("p", 70), strings.Repeat("s", 40), strings.Repeat("p", 31) + "a33b26c7294e84bc2cfd10c0ded4d565"},
		// knative.dev/pkg/kmeta TestChildName.
		{"kmeta asdf", "asdf", "-deployment", "asdf-deployment"},
		{"kmeta f63 deployment", strings.Repeat("f", 63), "-deployment", "ffffffffffffffffffff105d7597f637e83cc711605ac3ea4957-deployment"},
		{"kmeta f63 deploy", strings.Repeat("f", 63), "-deploy", "ffffffffffffffffffffffff105d7597f637e83cc711605ac3ea4957-deploy"},
		{"kmeta f63 f63", strings.Repeat("f", 63), strings.Repeat("f", 63), "fffffffffffffffffffffffffffffff0502661254f13c89973cb3a83e0cbec0"},
		{"kmeta a f63", "a", strings.Repeat("f", 63), "ab5cfd486935decbc0d305799f4ce4414ffffffffffffffffffffffffffffff"},
		{"kmeta b32 f32", strings.Repeat("b", 32), strings.Repeat("f", 32), "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb329c7c81b9ab3ba71aa139066aa5625d"},
		{"kmeta dashes", "aaaa", strings.Repeat("b---a", 20), "aaaa7a3f7966594e3f0849720eced8212c18b---ab---ab---ab---ab---ab"},
		{"kmeta dots", strings.Repeat("a", 17), "a.-.-.-.-.-.-.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaa1eb10dc911444f8434af83b7225442da"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Child(tt.parent, tt.suffix)
			if got != tt.want {
				t.Errorf("Child(%q, %q) = %q, want %q", tt.parent, tt.suffix, got, tt.want)
			}
			if len(got) > 63 {
				t.Errorf("Child gave %d characters", len(got))
			}
		})
	}
	if Child(long+"x", "-private") == Child(long+"y", "-private") {
		t.Error("distinct long parents gave the same child name")
	}
}

// TestRevisionChildren: a revision's children, with Knative's vectors
// for the private Service (serverlessservice/resources/names).
func TestRevisionChildren(t *testing.T) {
	tests := []struct {
		name string
		f    func(string) string
		rev  string
		want string
	}{
		{"private", PrivateService, "foo", "foo-private"},
		{"private 55", PrivateService, strings.Repeat("f", 55), strings.Repeat("f", 55) + "-private"},
		{"private 63", PrivateService, strings.Repeat("f", 63), "fffffffffffffffffffffff105d7597f637e83cc711605ac3ea4957-private"},
		{"deployment", Deployment, "hello-00001", "hello-00001-deployment"},
		{"deployment 63", Deployment, strings.Repeat("f", 63), "ffffffffffffffffffff105d7597f637e83cc711605ac3ea4957-deployment"},
		{"public", PublicService, "hello-00001", "hello-00001"},
		{"public 63", PublicService, strings.Repeat("f", 63), strings.Repeat("f", 63)},
	}
	for _, tt := range tests {
		if got := tt.f(tt.rev); got != tt.want {
			t.Errorf("%s(%q) = %q, want %q", tt.name, tt.rev, got, tt.want)
		}
	}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
