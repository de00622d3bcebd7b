package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ebb-dev/ebb/serving"
)

// DirWriter stores ledgers as files in a directory, each written through a
// temporary file and a rename so that a reader never sees half a file.
// It writes through an os.Root: a symbolic link (.ebb itself, say) that
// leads outside the directory is refused, never written through.
type DirWriter struct {
	Dir string
}

var _ LedgerWriter = DirWriter{}

// WriteLedgers writes the changed ledgers whose bytes differ from the
// files and removes the deleted ones.
func (w DirWriter) WriteLedgers(_ context.Context, changed, deleted []*serving.Ledger, _ string) error {
	_, err := w.Store(changed, deleted)
	return err
}

// Store writes the changed ledgers whose bytes differ from the files,
// removes the deleted ones, and returns the repository-relative paths it
// changed.
func (w DirWriter) Store(changed, deleted []*serving.Ledger) ([]string, error) {
	root, err := os.OpenRoot(w.Dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var paths []string
	for _, l := range changed {
		rel := serving.LedgerPath(l.Namespace, l.Service)
		b, err := serving.MarshalLedger(l)
		if err != nil {
			return paths, err
		}
		ok, err := writeFileAtomic(root, filepath.FromSlash(rel), b)
		if err != nil {
			return paths, fmt.Errorf("ledger %s/%s: %w", l.Namespace, l.Service, err)
		}
		if ok {
			paths = append(paths, rel)
		}
	}
	for _, l := range deleted {
		rel := serving.LedgerPath(l.Namespace, l.Service)
		err := root.Remove(filepath.FromSlash(rel))
		switch {
		case err == nil:
			paths = append(paths, rel)
		case !errors.Is(err, os.ErrNotExist):
			return paths, fmt.Errorf("ledger %s/%s: %w", l.Namespace, l.Service, err)
		}
	}
	return paths, nil
}

// ledgerTempPrefix starts the name of a ledger file being written; one
// left by a killed ebb is removed by WorktreeWriter.Recover.
const ledgerTempPrefix = ".ledger-"

// writeFileAtomic writes b to name in root unless name already holds b,
// and says whether it wrote.
func writeFileAtomic(root *os.Root, name string, b []byte) (bool, error) {
	if old, err := root.ReadFile(name); err == nil && bytes.Equal(old, b) {
		return false, nil
	}
	if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return false, err
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(name), ledgerTempPrefix+hex.EncodeToString(rnd[:]))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return false, err
	}
	defer root.Remove(tmp)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	return true, root.Rename(tmp, name)
}
