//go:build unix

package gitdir

import (
	"os"
	"syscall"
)

// holdLock takes flock on f's file: the kernel releases it when the
// process dies, however it dies.
func holdLock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// ownerGone reports whether no live process holds flock on f's file,
// taking it if so. Any doubt (an error) counts as a live owner.
func ownerGone(f *os.File) bool {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}
