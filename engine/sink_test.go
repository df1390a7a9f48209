package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

// sink is a destination kind for these tests: it records what it gets,
// and fails as a test tells it to. Sinks are found by name, so that a
// routes.yaml in a test can name one.
type sink struct {
	mu        sync.Mutex
	got       []*channels.Message
	fail      func(m *channels.Message) error
	changed   chan struct{}
	inFlight  map[string]bool
	overlaps  int // deliveries of one key that ran at the same time
	attempted int
}

var (
	sinksMu sync.Mutex
	sinks   = map[string]*sink{}
)

func newSink(name string) *sink {
	s := &sink{changed: make(chan struct{}, 1), inFlight: map[string]bool{}}
	sinksMu.Lock()
	sinks[name] = s
	sinksMu.Unlock()
	return s
}

type sinkConfig struct {
	Sink string `yaml:"sink"`
	Raw  bool   `yaml:"raw"`
}

func (c *sinkConfig) Validate() error {
	if c.Sink == "" {
		return channels.Fieldf("sink", "is required")
	}
	return nil
}

func (c *sinkConfig) Open(context.Context, channels.OpenOptions) (channels.Destination, error) {
	sinksMu.Lock()
	defer sinksMu.Unlock()
	s := sinks[c.Sink]
	if s == nil {
		return nil, fmt.Errorf("no sink %s", c.Sink)
	}
	return s, nil
}

func init() {
	channels.Register(channels.Kind{Name: "sink", New: func() channels.Config { return &sinkConfig{} }})
}

func (s *sink) Deliver(ctx context.Context, m *channels.Message) error {
	s.mu.Lock()
	s.attempted++
	if s.inFlight[m.Key] {
		s.overlaps++
	}
	s.inFlight[m.Key] = true
	fail := s.fail
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.inFlight, m.Key)
		s.mu.Unlock()
	}()
	if fail != nil {
		if err := fail(m); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	c := *m
	c.Body = append([]byte(nil), m.Body...)
	s.mu.Lock()
	s.got = append(s.got, &c)
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return nil
}

func (s *sink) Close() error { return nil }

func (s *sink) setFail(f func(m *channels.Message) error) {
	s.mu.Lock()
	s.fail = f
	s.mu.Unlock()
}

func (s *sink) messages() []*channels.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*channels.Message(nil), s.got...)
}

// waitFor waits until the sink holds n messages, or fails after d.
func (s *sink) waitFor(n int, d time.Duration) error {
	deadline := time.After(d)
	for {
		if len(s.messages()) >= n {
			return nil
		}
		select {
		case <-s.changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			return fmt.Errorf("sink has %d messages, want %d", len(s.messages()), n)
		}
	}
}

var errDown = errors.New("endpoint down")
