package shopify

import (
	"sync"
	"time"
)

// maxSKUCacheEntries bounds the cache; past it, expired entries go first and
// then arbitrary ones, which only costs a lookup call later.
const maxSKUCacheEntries = 100_000

// skuCache remembers what SKUs resolved to, including that a SKU is missing
// or ambiguous, for a while.
type skuCache struct {
	ttl time.Duration

	mu      sync.Mutex
	entries map[string]skuEntry
}

// skuEntry is a resolved variant, or the *SKUNotFoundError or
// *AmbiguousSKUError the lookup gave.
type skuEntry struct {
	v   Variant
	err error
	at  time.Time
}

func newSKUCache(ttl time.Duration) *skuCache {
	return &skuCache{ttl: ttl, entries: make(map[string]skuEntry)}
}

// get returns what sku resolved to, if that is known and fresh.
func (c *skuCache) get(sku string, now time.Time) (skuEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[sku]
	if !ok || now.Sub(e.at) >= c.ttl {
		return skuEntry{}, false
	}
	return e, true
}

func (c *skuCache) put(sku string, v Variant, err error, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxSKUCacheEntries {
		for k, e := range c.entries {
			if now.Sub(e.at) >= c.ttl {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < maxSKUCacheEntries {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[sku] = skuEntry{v: v, err: err, at: now}
}

func (c *skuCache) forget(sku string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, sku)
}
