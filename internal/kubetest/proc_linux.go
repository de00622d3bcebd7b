package kubetest

import "syscall"

// sysProcAttr starts a control-plane process in its own process group, so
// that stopping it reaches everything it started, and has the kernel kill it
// if the test binary dies without cleaning up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
