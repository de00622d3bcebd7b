package engine

import (
	"context"
	"fmt"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/ebb-dev/ebb/engine/git"
)

// ListRefs lists the refs of the repository at url (an HTTP(S) URL,
// file:// or a local path): full ref name → commit hash, annotated tags
// and symbolic refs left out. Over HTTP(S) it sends auth's user and
// password or bearer token; SSH is not supported here.
func ListRefs(ctx context.Context, url string, auth git.Auth) (map[string]string, error) {
	var am transport.AuthMethod
	switch {
	case strings.HasPrefix(url, "ssh://") || (!strings.Contains(url, "://") && strings.Contains(url, "@") && strings.Contains(url, ":")):
		return nil, fmt.Errorf("list refs of %s: preview refs are listed over HTTP(S) and local paths only", git.Redact(url))
	case auth.BearerToken != "":
		am = &githttp.TokenAuth{Token: auth.BearerToken}
	case auth.Username != "" || auth.Password != "":
		am = &githttp.BasicAuth{Username: auth.Username, Password: auth.Password}
	}
	rem := gogit.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{url}})
	refs, err := rem.ListContext(ctx, &gogit.ListOptions{Auth: am})
	if err != nil {
		return nil, fmt.Errorf("list refs of %s: %w", git.Redact(url), git.RedactError(err))
	}
	out := map[string]string{}
	for _, r := range refs {
		if r.Hash().IsZero() || strings.HasSuffix(r.Name().String(), "^{}") {
			continue
		}
		out[r.Name().String()] = r.Hash().String()
	}
	return out, nil
}
