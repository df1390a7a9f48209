package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/engine/config"
)

func retryOf(initial, max time.Duration) config.Retry {
	return config.Retry{Initial: initial, Max: max}
}

// Ingest waits while the pipeline is max_backlog behind, and goes on as
// soon as a message is routed: the sender's connection is held, not the
// message buffered.
func TestAdmitBackpressure(t *testing.T) {
	p := &pipeline{maxBacklog: 2, room: make(chan struct{}, 1)}
	p.backlog.Store(2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := p.admit(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("admit at the limit: %v, want to wait until the deadline", err)
	}
	done := make(chan error, 1)
	go func() { done <- p.admit(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("admit returned %v while the backlog is full", err)
	case <-time.After(20 * time.Millisecond):
	}
	p.backlog.Add(-1)
	signal(p.room)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("admit still waiting after the backlog shrank")
	}
}

func TestBackoff(t *testing.T) {
	p := struct{ initial, max time.Duration }{time.Second, 8 * time.Second}
	for attempt, ceil := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 10: 8 * time.Second} {
		for range 50 {
			d := backoff(retryOf(p.initial, p.max), attempt)
			if d < ceil/2 || d > ceil {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, ceil/2, ceil)
			}
		}
	}
}
