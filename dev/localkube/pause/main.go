// Minimal pod sandbox ("pause") process: holds the pod's namespaces and
// sleeps until SIGTERM/SIGINT. Built static and imported as the kubelet's
// sandbox image, because registry.k8s.io cannot be reached here.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	// As PID 1 we must also reap orphans that end up reparented to us.
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	go func() {
		for range chld {
			for {
				var ws syscall.WaitStatus
				if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
					break
				}
			}
		}
	}()
	<-sig
	os.Exit(0)
}
