package netns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// reexecEnv marks the copy of the program that Reexec started.
const reexecEnv = "BACKEND_PROTOCOLS_USERNS"

// reexecErr says why Reexec could not enter a user namespace.
var reexecErr error

// Reexec lets a program that is not root use network namespaces where the
// kernel allows unprivileged user namespaces. When namespaces already work
// it returns at once. Otherwise it runs the program again, with the same
// arguments, environment and standard streams, as root of a new user
// namespace and a new network namespace of its own (its lo is up), passes
// on SIGINT and SIGTERM, and exits with the copy's status. If the kernel
// refuses, it returns, and Available explains why.
//
// A user namespace cannot be entered by a running Go program (it has
// threads), hence the new process. Call Reexec first thing in TestMain or
// in main, and only where the program does not need the host's own network
// (in the copy, nothing outside can reach its listeners).
func Reexec() {
	if os.Getenv(reexecEnv) == "1" {
		// We are the copy: the whole process sits in the new namespace.
		if err := setUp("lo"); err != nil {
			reexecErr = fmt.Errorf("lo up: %w", err)
		}
		return
	}
	if os.Geteuid() == 0 || Available() == nil {
		return // root, or namespaces already work: nothing to gain
	}
	// The forking thread must outlive the copy, or Pdeathsig kills it.
	runtime.LockOSThread()
	exe, err := os.Executable()
	if err != nil {
		reexecErr = err
		return
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), reexecEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{
			{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{
			{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
		Pdeathsig: syscall.SIGKILL,
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		reexecErr = err // e.g. EPERM: user namespaces are not allowed
		return
	}
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		os.Exit(max(ee.ExitCode(), 1))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}
