package engine

import "log/slog"

// LedgerWriterFor is the ledger writer of the directory dir: a
// WorktreeWriter, which commits, when dir is the root of a Git work tree
// (finishing first what a crash left half done), else a DirWriter.
func LedgerWriterFor(dir string, log *slog.Logger) LedgerWriter {
	if !IsWorktreeRoot(dir) {
		return DirWriter{Dir: dir}
	}
	w := WorktreeWriter{Dir: dir, Logger: log}
	if err := w.Recover(); err != nil {
		log.Warn("recovering the Git work tree", "error", err)
	}
	return w
}
