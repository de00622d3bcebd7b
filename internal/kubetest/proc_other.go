//go:build unix && !linux

package kubetest

import "syscall"

// sysProcAttr starts a control-plane process in its own process group.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
