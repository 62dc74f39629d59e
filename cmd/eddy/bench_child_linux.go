//go:build linux

package main

import (
	"os/exec"
	"syscall"
)

// stopWithParent makes the kernel send the broker a bench starts SIGTERM
// (a clean stop) when the bench process dies, so an interrupted or killed
// bench leaves no broker behind.
func stopWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
}
