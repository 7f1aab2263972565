package daemon

import "sync"

// changeSignal wakes everyone waiting for "something about the jobs changed":
// a job was queued, started, moved, finished, or sent progress. Waiters then
// read what they need; the signal carries no data, so a burst of progress
// messages costs a waiter one read, not one per message.
type changeSignal struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel that is closed at the next change. Take it before
// reading the state it guards, so that a change between the read and the
// wait is not lost.
func (c *changeSignal) wait() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

// notify wakes the current waiters.
func (c *changeSignal) notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
}
