//go:build !linux

package local

import "syscall"

// sysProcAttr puts the container in its own process group, so that Stop
// reaches everything it started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
