// Package gitdir changes a Git repository on disk the way git itself
// does, so that a git command running at the same time is never
// overwritten and a process killed at any instant leaves a repository
// git reads: a reference or the index is replaced through <file>.lock,
// created exclusively, written whole, synced and renamed over the file;
// a lock ebb leaves behind when it dies is recognised as its own and
// removed on the next start, and a lock anyone else holds never is.
package gitdir
