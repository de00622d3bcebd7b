package local

import "syscall"

// sysProcAttr puts the container in its own process group, so that Stop
// reaches everything it started, and has the kernel kill it if ebb itself
// dies without cleaning up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
