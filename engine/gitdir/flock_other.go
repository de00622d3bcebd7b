//go:build !unix

package gitdir

import "os"

// holdLock does nothing where flock is missing.
func holdLock(*os.File) error { return nil }

// ownerGone cannot tell a dead owner from a live one without flock: a
// lock ebb left behind is then never removed for it.
func ownerGone(*os.File) bool { return false }
