// Package demo is the harness every demo's main uses: the standard flags,
// the three modes (scenario, -serve, -connect), graceful shutdown on a
// signal, and a scenario runner that fails loudly.
//
// A demo's main is thin:
//
//	func main() {
//		p := demo.New("short-polling", "Short polling: ...", demo.Modes{
//			Scenario: scenario, Serve: serve, Connect: connect})
//		tick := p.Flags.Duration("tick", 50*time.Millisecond, "job tick")
//		p.Main()
//	}
//
// With no flags the scenario runs against its own servers and the program
// exits 0, or prints "FAIL: reason" and exits 1 when a step fails or the
// -timeout passes. -serve ADDR runs only the server side until SIGINT or
// SIGTERM; -connect ADDR drives a server started elsewhere.
package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"backend-protocols/internal/timeline"
)

// Modes are the functions a demo provides. Scenario is required; Serve and
// Connect are optional, and their flags exist only when they are set.
type Modes struct {
	// Scenario runs the whole self-contained story and returns nil when
	// everything it teaches happened.
	Scenario func(ctx context.Context, tl *timeline.Timeline) error
	// Serve serves on addr until ctx is done, then shuts down gracefully
	// and returns nil.
	Serve func(ctx context.Context, addr string, tl *timeline.Timeline) error
	// Connect drives a server at addr that was started elsewhere.
	Connect func(ctx context.Context, addr string, tl *timeline.Timeline) error
}

// DefaultTimeout bounds a scenario or -connect run unless -timeout says
// otherwise. Demos normally finish in well under ten seconds.
const DefaultTimeout = 30 * time.Second

// grace is how long a scenario may take to return after its context is
// cancelled before the runner gives up on it.
const grace = 2 * time.Second

// Program is one demo's command line.
type Program struct {
	Name  string
	Flags *flag.FlagSet

	modes   Modes
	serve   string
	connect string
	timeout time.Duration
	quiet   bool
}

// New returns a Program with the standard flags registered on its FlagSet.
// about is the usage text printed by -h above the flags.
func New(name, about string, m Modes) *Program {
	p := &Program{Name: name, modes: m,
		Flags: flag.NewFlagSet(name, flag.ContinueOnError)}
	fs := p.Flags
	if m.Serve != nil {
		fs.StringVar(&p.serve, "serve", "",
			"serve only the server side on `ADDR` (e.g. 127.0.0.1:8080) "+
				"until interrupted")
	}
	if m.Connect != nil {
		fs.StringVar(&p.connect, "connect", "",
			"run only the client side against a server at `ADDR`")
	}
	fs.DurationVar(&p.timeout, "timeout", DefaultTimeout,
		"fail if the scenario (or -connect run) takes longer than this")
	fs.BoolVar(&p.quiet, "quiet", false, "print only failures")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nUsage: go run ./... [flags]\n\n",
			about)
		fs.PrintDefaults()
	}
	return p
}

// Serving reports whether -serve was given; demos use it to pick defaults
// that suit a human (the course's pacing) over those that suit a fast run.
func (p *Program) Serving() bool { return p.serve != "" }

// IsSet reports whether the flag called name was given on the command line,
// so a demo can choose a different default for -serve.
func (p *Program) IsSet(name string) bool {
	set := false
	p.Flags.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// Main parses os.Args, runs the chosen mode and exits with its status.
func (p *Program) Main() {
	ctx, stop := signal.NotifyContext(context.Background(),
		os.Interrupt, syscall.SIGTERM)
	code := p.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Run parses args and runs the chosen mode, printing the narrative to
// stdout and failures to stderr. It returns the exit status: 0 on success,
// 1 on failure, 2 on bad flags. Cancelling ctx is how a signal stops -serve.
func (p *Program) Run(ctx context.Context, args []string,
	stdout, stderr io.Writer) int {
	p.Flags.SetOutput(stderr)
	if err := p.Flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if p.Flags.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", p.Name,
			p.Flags.Args())
		return 2
	}
	if p.serve != "" && p.connect != "" {
		fmt.Fprintf(stderr, "%s: -serve and -connect are exclusive\n", p.Name)
		return 2
	}
	out := stdout
	if p.quiet {
		out = nil
	}
	if p.serve != "" {
		// A server runs until interrupted: print, keep no history.
		tl := timeline.Stream(out)
		tl.Note(p.Name, "serving on %s; Ctrl-C to stop", p.serve)
		if err := p.modes.Serve(ctx, p.serve, tl); err != nil {
			fmt.Fprintf(stderr, "FAIL %s: %v\n", p.Name, err)
			return 1
		}
		tl.Note(p.Name, "stopped")
		return 0
	}
	tl := timeline.New(out)
	run := func(ctx context.Context) error { return p.modes.Scenario(ctx, tl) }
	if p.connect != "" {
		run = func(ctx context.Context) error {
			return p.modes.Connect(ctx, p.connect, tl)
		}
	}
	return p.bounded(ctx, tl, stderr, run)
}

// bounded runs f under the -timeout and reports the outcome. A function
// that ignores its context is abandoned after a grace period, so a hung
// demo still exits non-zero instead of hanging run.sh.
func (p *Program) bounded(ctx context.Context, tl *timeline.Timeline,
	stderr io.Writer, f func(context.Context) error) int {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		select {
		case err = <-done:
		case <-time.After(grace):
			err = errors.New("did not stop after its context was cancelled")
		}
	}
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %v: %w", p.timeout, err)
		}
		fmt.Fprintf(stderr, "FAIL %s: %v\n", p.Name, err)
		return 1
	}
	tl.Note(p.Name, "done in %s", timeline.Ms(tl.Since()))
	return 0
}
