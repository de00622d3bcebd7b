package render

import (
	"crypto/md5"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
)

func TestChildName(t *testing.T) {
	long := strings.Repeat("a", 60)
	tests := []struct {
		name, parent, suffix, want string
	}{
		{"short", "hello-00001", "-deployment", "hello-00001-deployment"},
		{"exactly 63", strings.Repeat("b", 52), "-deployment", strings.Repeat("b", 52) + "-deployment"},
		// 31-11 = 20 characters of the parent, md5(parent), the suffix.
		{"long parent", long, "-deployment", strings.Repeat("a", 20) + md5hex(long) + "-deployment"},
		{"long suffix", "pp", strings.Repeat("s", 62), "pp" + md5hex("pp"+strings.Repeat("s", 62)) + strings.Repeat("s", 29)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ChildName(tt.parent, tt.suffix)
			if got != tt.want {
				t.Errorf("ChildName(%q, %q) = %q, want %q", tt.parent, tt.suffix, got, tt.want)
			}
			if len(got) > 63 {
				t.Errorf("ChildName gave %d characters", len(got))
			}
		})
	}
	if ChildName(long+"x", "-private") == ChildName(long+"y", "-private") {
		t.Error("distinct long parents gave the same child name")
	}
}

func TestRevisionUID(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a := RevisionUID("default", "hello-00001")
	if !uuid.MatchString(a) {
		t.Errorf("RevisionUID = %q, not a version 5 UUID", a)
	}
	if b := RevisionUID("default", "hello-00001"); a != b {
		t.Errorf("RevisionUID is not stable: %q then %q", a, b)
	}
	for _, other := range [][2]string{{"prod", "hello-00001"}, {"default", "hello-00002"}, {"default/hello", "00001"}} {
		if RevisionUID(other[0], other[1]) == a {
			t.Errorf("RevisionUID%v equals RevisionUID(default, hello-00001)", other)
		}
	}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
