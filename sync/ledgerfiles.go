package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ebb-dev/ebb/serving"
)

// DirWriter stores ledgers as files in a directory, each written through a
// temporary file and a rename so that a reader never sees half a file.
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
	var paths []string
	for _, l := range changed {
		rel := serving.LedgerPath(l.Namespace, l.Service)
		b, err := serving.MarshalLedger(l)
		if err != nil {
			return paths, err
		}
		ok, err := writeFileAtomic(filepath.Join(w.Dir, filepath.FromSlash(rel)), b)
		if err != nil {
			return paths, fmt.Errorf("ledger %s/%s: %w", l.Namespace, l.Service, err)
		}
		if ok {
			paths = append(paths, rel)
		}
	}
	for _, l := range deleted {
		rel := serving.LedgerPath(l.Namespace, l.Service)
		err := os.Remove(filepath.Join(w.Dir, filepath.FromSlash(rel)))
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

// writeFileAtomic writes b to name unless name already holds b, and says
// whether it wrote.
func writeFileAtomic(name string, b []byte) (bool, error) {
	if old, err := os.ReadFile(name); err == nil && bytes.Equal(old, b) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ledgerTempPrefix+"*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	return true, os.Rename(tmp.Name(), name)
}
