package local

import "syscall"

// prSetDumpable is prctl's PR_SET_DUMPABLE.
const prSetDumpable = 4

// Undumpable marks this process not dumpable: /proc/<pid>/environ, mem
// and the like then belong to root, so other processes of the same user
// (a preview's, when ebb cannot run it as another user) cannot read
// ebb's environment or memory, and cannot ptrace it. Children are not
// affected: exec makes them dumpable again.
func Undumpable() error {
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetDumpable, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
