package storebench

import (
	"errors"
	"sync"
	"time"
)

// MaxGroup bounds one group commit.
const MaxGroup = 1024

// Committer is group commit: any number of goroutines Submit an item and
// wait; one goroutine takes whatever is queued (up to MaxGroup), commits it
// with one call of commit (one transaction, one fsync) and wakes them all.
// While a commit runs, new submissions queue up for the next one, so the group
// size adapts to load: 1 when idle, up to the number of writers when busy.
type Committer[T any] struct {
	in     chan *Waiter[T]
	commit func([]T) error
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool

	// Linger, when set before the first Submit, makes the committer wait up
	// to Linger for the group to reach Target items before committing
	// (Target is e.g. the number of connections with a message in flight).
	Linger time.Duration
	Target int

	// Stats, read after Close.
	Commits int64
	Items   int64
}

// Waiter is one writer's reusable slot: Submit fills Item and blocks on done.
type Waiter[T any] struct {
	Item T
	done chan error
}

// NewWaiter returns a slot for one writer goroutine.
func NewWaiter[T any]() *Waiter[T] { return &Waiter[T]{done: make(chan error, 1)} }

// NewCommitter starts the committer goroutine. commit receives the group in
// submission order and may modify the items (e.g. assign sequence numbers);
// the waiters see the modified items.
func NewCommitter[T any](commit func([]T) error) *Committer[T] {
	c := &Committer[T]{in: make(chan *Waiter[T], MaxGroup), commit: commit}
	c.wg.Add(1)
	go c.loop()
	return c
}

var errClosed = errors.New("committer closed")

// Submit queues w and waits until the group holding it is durable.
func (c *Committer[T]) Submit(w *Waiter[T]) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	c.in <- w
	c.mu.Unlock()
	return <-w.done
}

func (c *Committer[T]) loop() {
	defer c.wg.Done()
	waiters := make([]*Waiter[T], 0, MaxGroup)
	items := make([]T, 0, MaxGroup)
	for {
		w, ok := <-c.in
		if !ok {
			return
		}
		waiters = append(waiters[:0], w)
	drain:
		for len(waiters) < MaxGroup {
			select {
			case w, ok := <-c.in:
				if !ok {
					break drain
				}
				waiters = append(waiters, w)
			default:
				break drain
			}
		}
		if c.Linger > 0 && len(waiters) < c.Target {
			t := time.NewTimer(c.Linger)
		linger:
			for len(waiters) < c.Target {
				select {
				case w, ok := <-c.in:
					if !ok {
						break linger
					}
					waiters = append(waiters, w)
				case <-t.C:
					break linger
				}
			}
			t.Stop()
		}
		items = items[:0]
		for _, w := range waiters {
			items = append(items, w.Item)
		}
		err := c.commit(items)
		c.Commits++
		c.Items += int64(len(items))
		for i, w := range waiters {
			w.Item = items[i]
			w.done <- err
		}
	}
}

// Close stops accepting submissions and waits for queued ones to commit.
func (c *Committer[T]) Close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.in)
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// Op is one item of a group commit: a new message (Msg != nil) or a delivery.
type Op struct {
	Msg *Msg
	Del Delivery
}

// StoreCommitter group-commits Ops to s: new messages get sequence numbers
// after last, in submission order, and each group is one s.Commit.
func StoreCommitter(s Store, last uint64) *Committer[Op] {
	seq := last
	var msgs []*Msg
	var ds []Delivery
	return NewCommitter(func(ops []Op) error {
		msgs, ds = msgs[:0], ds[:0]
		for _, op := range ops {
			if op.Msg != nil {
				seq++
				op.Msg.Seq = seq
				msgs = append(msgs, op.Msg)
			} else {
				ds = append(ds, op.Del)
			}
		}
		return s.Commit(msgs, ds)
	})
}
