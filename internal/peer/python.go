package peer

import "os/exec"

// Python returns a python3 that can import module, or "". Debian's
// /usr/bin/python3 comes first: it is the one Debian's python3-* packages
// install into, and a python3 earlier on PATH (pyenv, a venv) may lack them.
func Python(module string) string {
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(p)
		if err == nil && exec.Command(path, "-c", "import "+module).Run() == nil {
			return path
		}
	}
	return ""
}
