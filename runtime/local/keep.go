package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/ebb-dev/ebb/serving/kodigest"
)

// ErrCodeMoved is why a revision's binary cannot be built: the code it
// was created from is no longer what its directory holds, and no binary
// of that code was kept.
var ErrCodeMoved = errors.New("the code this revision was created from is no longer in the directory it builds from")

// BuildCode is BuildIn for a revision created from the code of digest
// (its ko:// image's content digest, see package kodigest; "" when it has
// none, which is BuildIn). The binary is kept under the digest, in
// CacheDir/code, so that the revision runs that code whatever dir holds
// later, across restarts of ebb. A binary not kept yet is built only from
// that code: when dir holds other code, the build fails with ErrCodeMoved
// rather than run newer code under an older revision.
func (b *Builder) BuildCode(ctx context.Context, dir, image, digest string) (string, error) {
	if digest == "" {
		return b.BuildIn(ctx, dir, image)
	}
	kept, err := b.keptPath(image, digest)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(kept); err == nil && st.Mode().IsRegular() {
		return kept, nil
	}
	if err := b.sameCode(dir, image, digest); err != nil {
		return "", err
	}
	bin, err := b.BuildIn(ctx, dir, image)
	if err != nil {
		return "", err
	}
	// The code may have changed while it built.
	if err := b.sameCode(dir, image, digest); err != nil {
		return "", err
	}
	if err := keep(bin, kept); err != nil {
		return "", fmt.Errorf("keep the binary of %s: %w", image, err)
	}
	return kept, nil
}

// keptPath is where the binary of image built from the code of digest is
// kept.
func (b *Builder) keptPath(image, digest string) (string, error) {
	hexSum, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hexSum) != 64 || strings.Trim(hexSum, "0123456789abcdef") != "" {
		return "", fmt.Errorf("image %s: code digest %q is not of the form sha256:<64 hex digits>", image, digest)
	}
	return filepath.Join(b.CacheDir, "code", hexSum, path.Base(strings.TrimPrefix(image, KoPrefix))), nil
}

// sameCode checks that dir holds the code of digest for image.
func (b *Builder) sameCode(dir, image, digest string) error {
	root, ok := kodigest.FindRoot(dir)
	if !ok {
		return fmt.Errorf("%w: it was %s, and no Go module holds %s now", ErrCodeMoved, digest, dir)
	}
	now, err := b.digests.Digest(os.DirFS(root), image)
	if err != nil {
		return fmt.Errorf("%w: it was %s, and %s has none now: %w", ErrCodeMoved, digest, root, err)
	}
	if now != digest {
		return fmt.Errorf("%w: it was %s, %s holds %s; a new revision runs the new code, and this one cannot run again here", ErrCodeMoved, digest, root, now)
	}
	return nil
}

// keep makes kept the binary bin, a hard link when it can be (the two are
// in one cache directory), else a copy; kept appears whole or not at all.
func keep(bin, kept string) error {
	if err := os.MkdirAll(filepath.Dir(kept), 0o755); err != nil {
		return err
	}
	tmp := kept + ".tmp-" + filepath.Base(filepath.Dir(bin))
	_ = os.Remove(tmp)
	if err := os.Link(bin, tmp); err != nil {
		if err := copyFile(bin, tmp); err != nil {
			return err
		}
	}
	return os.Rename(tmp, kept)
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o755)
}
