package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/channels"
	"github.com/plexus-hl7/plexus/engine/config"
	"github.com/plexus-hl7/plexus/mllp"
)

// orderSink records deliveries per key and refuses, retryably, the keys
// it is told to.
type orderSink struct {
	mu    sync.Mutex
	stuck map[string]bool
	got   map[string][]string // key -> control ids in delivery order
	n     int
}

var theOrderSink = &orderSink{}

type orderSinkConfig struct{}

func (*orderSinkConfig) Validate() error { return nil }
func (*orderSinkConfig) Open(context.Context, channels.OpenOptions) (channels.Destination, error) {
	return theOrderSink, nil
}

func init() {
	channels.Register(channels.Kind{Name: "ordersink", New: func() channels.Config { return &orderSinkConfig{} }})
}

func (s *orderSink) Deliver(_ context.Context, m *channels.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stuck[m.Key] {
		return errors.New("refused for now")
	}
	s.got[m.Key] = append(s.got[m.Key], m.ControlID)
	s.n++
	return nil
}
func (s *orderSink) Close() error { return nil }

func (s *orderSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// With a window of 4 entries and 2 per key, three patients refused over
// and over must not stop the fifty others, and once they are accepted
// their messages arrive in order too: what did not fit in memory waited in
// the store.
func TestSchedulerParksOnlyTheFailingKeys(t *testing.T) {
	theOrderSink.stuck = map[string]bool{"S0^H": true, "S1^H": true, "S2^H": true}
	theOrderSink.got = map[string][]string{}
	theOrderSink.n = 0
	dir := t.TempDir()
	file := filepath.Join(dir, "routes.yaml")
	os.WriteFile(file, []byte(`listeners: [{ name: in, mllp: { addr: "127.0.0.1:0" } }]
destinations:
  d: { ordersink: {}, workers: 3, retry: { initial: 2ms, max: 10ms, max_attempts: 0, max_age: 0s } }
routes: [{ name: r, transform: raw, to: d }]
`), 0o644)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), Options{Config: cfg, DataDir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	e.dests["d"].window, e.dests["d"].perKey = 4, 2
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		e.Shutdown(ctx)
	}()
	c := mllp.NewClient(e.Addr("in").String(), mllp.ClientOptions{})
	defer c.Close()
	msg := func(ctrl, pid string) []byte {
		return []byte("MSH|^~\\&|A|B|C|D|20240101||ADT^A08|" + ctrl + "|P|2.5\rPID|1||" + pid + "^^^H\r")
	}
	var sent []string
	for round := range 5 {
		for p := range 3 {
			c.Send(context.Background(), msg(fmt.Sprintf("S%d-%d", p, round), fmt.Sprint("S", p)))
		}
		for p := range 50 {
			if round < 3 {
				id := fmt.Sprintf("P%d-%d", p, round)
				if _, err := c.Send(context.Background(), msg(id, fmt.Sprint("P", p))); err != nil {
					t.Fatal(err)
				}
				sent = append(sent, id)
			}
		}
	}
	waitCount := func(n int) {
		deadline := time.Now().Add(10 * time.Second)
		for theOrderSink.count() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d delivered, want %d", theOrderSink.count(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitCount(len(sent))
	theOrderSink.mu.Lock()
	theOrderSink.stuck = nil
	theOrderSink.mu.Unlock()
	waitCount(len(sent) + 15)
	theOrderSink.mu.Lock()
	defer theOrderSink.mu.Unlock()
	for key, ids := range theOrderSink.got {
		for i := 1; i < len(ids); i++ {
			if ids[i-1] >= ids[i] {
				t.Errorf("%s: %v out of order", key, ids)
			}
		}
	}
	for p := range 3 {
		if got := theOrderSink.got[fmt.Sprintf("S%d^H", p)]; len(got) != 5 {
			t.Errorf("stuck patient %d: %v", p, got)
		}
	}
}
