package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/internal/gittest"
)

// Listing the preview refs of a URL with credentials fails without
// printing them.
func TestListRefsRedacts(t *testing.T) {
	url := gittest.WithUserinfo(gittest.UnreachableURL(t, "repo.git"), "ghp_t0ken")
	for _, u := range []string{url, strings.Replace(url, "ghp_t0ken", "alice:s3cret-pw", 1), "ssh://git:s3cret-pw@host/r.git"} {
		_, err := ListRefs(context.Background(), u, git.Auth{})
		if err == nil || strings.Contains(err.Error(), "ghp_t0ken") || strings.Contains(err.Error(), "s3cret-pw") || !strings.Contains(err.Error(), "redacted@") {
			t.Errorf("ListRefs(%s) = %v", u, err)
		}
	}
}
