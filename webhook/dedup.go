package webhook

import (
	"container/list"
	"sync"
)

// deliveryCache is a bounded LRU set of accepted deliveries (see WithDedup).
type deliveryCache struct {
	mu    sync.Mutex
	size  int
	order *list.List // of string keys, most recent first
	items map[string]*list.Element
}

func newDeliveryCache(size int) *deliveryCache {
	return &deliveryCache{size: size, order: list.New(), items: make(map[string]*list.Element, size)}
}

// dedupKey identifies a delivery of one update. Events without a delivery
// id are never matched: without one, two equal bodies may be distinct
// deliveries the sender meant.
func dedupKey(e *Event) (string, bool) {
	if e.DeliveryID == "" {
		return "", false
	}
	return e.DeliveryID + "\x00" + e.ID + "\x00" + string(e.Status), true
}

// contains reports whether e was accepted before, and marks it recent.
func (c *deliveryCache) contains(e *Event) bool {
	k, ok := dedupKey(e)
	if !ok {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if ok {
		c.order.MoveToFront(el)
	}
	return ok
}

// add records e as accepted, evicting the least recently seen delivery
// when full.
func (c *deliveryCache) add(e *Event) {
	k, ok := dedupKey(e)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(k)
	if c.order.Len() > c.size {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(string))
	}
}
