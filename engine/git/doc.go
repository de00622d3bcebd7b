// Package git follows one Git source (a remote URL over HTTPS, SSH or
// file://, or a local repository) into immutable Commit values read from a
// bare local cache, skipping all work when the head has not moved, and
// writes ledger changes back as commits pushed without ever forcing.
package git
