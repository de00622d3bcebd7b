package serving

import (
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"
)

func TestChildNameTable(t *testing.T) {
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

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
