package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
)

// fetchRefs brings refs (the followed branch or tag, the write branch)
// into the cache the way the git CLI does, in one upload-pack session:
// read the advertisement, stop there when no ref has moved, otherwise ask for the new commit with
// the cached heads as haves and the cache's shallow boundary, so the
// server sends only the objects that changed. (go-git's Fetch with a depth
// makes the server resend the whole tree; without one it does not tell
// the server the cache is shallow.) The first fetch is a depth-1 clone.
// It returns the hash of each ref the server has.
func (s *Source) fetchRefs(ctx context.Context, names ...plumbing.ReferenceName) (map[plumbing.ReferenceName]plumbing.Hash, error) {
	ep, err := transport.NewEndpoint(s.cfg.URL)
	if err != nil {
		return nil, err
	}
	ep.CaBundle = s.cfg.Auth.CABundle
	ep.Proxy = s.proxy(ctx)
	cl, err := client.NewClient(ep)
	if err != nil {
		return nil, err
	}
	sess, err := cl.NewUploadPackSession(ep, s.auth)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	adv, err := sess.AdvertisedReferencesContext(ctx)
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return nil, fmt.Errorf("%w: the repository is empty", ErrRefNotFound)
	}
	if err != nil {
		return nil, err
	}
	refs, err := adv.AllReferences()
	if err != nil {
		return nil, err
	}
	got := map[plumbing.ReferenceName]plumbing.Hash{}
	var wants []plumbing.Hash
	for _, name := range names {
		ref, err := refs.Reference(name)
		if err != nil {
			continue
		}
		got[name] = ref.Hash()
		if !s.has(ref.Hash()) && !slices.Contains(wants, ref.Hash()) {
			wants = append(wants, ref.Hash())
		}
	}
	if len(wants) > 0 {
		if err := s.fetchObjects(ctx, sess, adv, wants); err != nil {
			return nil, err
		}
	}
	for name, h := range got {
		if !s.has(h) {
			return nil, fmt.Errorf("server did not send %s (%s)", h, name)
		}
		if err := s.repo.Storer.SetReference(plumbing.NewHashReference(name, h)); err != nil {
			return nil, err
		}
	}
	return got, nil
}

// proxy bounds SSH operations by ctx's deadline (see sshdeadline.go).
func (s *Source) proxy(ctx context.Context) transport.ProxyOptions {
	if sch, _ := parseScheme(s.cfg.URL); sch != schemeSSH {
		return transport.ProxyOptions{}
	}
	return deadlineProxy(ctx)
}

func (s *Source) has(h plumbing.Hash) bool {
	return s.repo.Storer.HasEncodedObject(h) == nil
}

func (s *Source) fetchObjects(ctx context.Context, sess transport.UploadPackSession, adv *packp.AdvRefs, wants []plumbing.Hash) error {
	req := packp.NewUploadPackRequestFromCapabilities(adv.Capabilities)
	req.Wants = wants
	haves, err := s.haves()
	if err != nil {
		return err
	}
	req.Haves = haves
	if adv.Capabilities.Supports(capability.Shallow) {
		if len(haves) == 0 {
			req.Depth = packp.DepthCommits(1)
		} else if req.Shallows, err = s.repo.Storer.Shallow(); err != nil {
			return err
		}
		if err := req.Capabilities.Set(capability.Shallow); err != nil {
			return err
		}
	}
	if adv.Capabilities.Supports(capability.NoProgress) {
		if err := req.Capabilities.Set(capability.NoProgress); err != nil {
			return err
		}
	}
	resp, err := sess.UploadPack(ctx, req)
	if err != nil {
		return err
	}
	defer resp.Close()
	if len(resp.Shallows) > 0 {
		shallows, err := s.repo.Storer.Shallow()
		if err != nil {
			return err
		}
		for _, h := range resp.Shallows {
			if !slices.Contains(shallows, h) {
				shallows = append(shallows, h)
			}
		}
		if err := s.repo.Storer.SetShallow(shallows); err != nil {
			return err
		}
	}
	var pack io.Reader = resp
	switch {
	case req.Capabilities.Supports(capability.Sideband64k):
		pack = sideband.NewDemuxer(sideband.Sideband64k, resp)
	case req.Capabilities.Supports(capability.Sideband):
		pack = sideband.NewDemuxer(sideband.Sideband, resp)
	}
	return packfile.UpdateObjectStorage(s.repo.Storer, pack)
}

// haves lists the commits the cache's refs point at.
func (s *Source) haves() ([]plumbing.Hash, error) {
	it, err := s.repo.Storer.IterReferences()
	if err != nil {
		return nil, err
	}
	var out []plumbing.Hash
	err = it.ForEach(func(r *plumbing.Reference) error {
		if r.Type() == plumbing.HashReference && s.has(r.Hash()) && !slices.Contains(out, r.Hash()) {
			out = append(out, r.Hash())
		}
		return nil
	})
	return out, err
}
