package recent

import (
	"container/list"
	"time"
)

// Cache holds up to Max entries, each until its expiry time; adding one
// to a full cache drops the oldest. Time is passed in: the cache reads no
// clock. A Cache is not safe for concurrent use; callers lock.
type Cache[V any] struct {
	max   int
	order *list.List // of *entry[V], oldest first
	byKey map[string]*list.Element
}

type entry[V any] struct {
	key     string
	value   V
	expires time.Time
}

// New returns a Cache of at most size entries (at least 1).
func New[V any](size int) *Cache[V] {
	return &Cache[V]{max: max(size, 1), order: list.New(), byKey: map[string]*list.Element{}}
}

// Get returns the value of key if it was put and has not expired at now.
func (c *Cache[V]) Get(key string, now time.Time) (V, bool) {
	el, ok := c.byKey[key]
	if !ok {
		var zero V
		return zero, false
	}
	e := el.Value.(*entry[V])
	if !now.Before(e.expires) {
		c.remove(el)
		var zero V
		return zero, false
	}
	return e.value, true
}

// Put sets key to value until expires, as the newest entry; it first
// drops the entries expired at now and, while the cache is full, the
// oldest.
func (c *Cache[V]) Put(key string, value V, expires, now time.Time) {
	if el, ok := c.byKey[key]; ok {
		c.remove(el)
	}
	for el := c.order.Front(); el != nil; {
		next := el.Next()
		if e := el.Value.(*entry[V]); !now.Before(e.expires) || c.order.Len() >= c.max {
			c.remove(el)
		} else {
			break
		}
		el = next
	}
	c.byKey[key] = c.order.PushBack(&entry[V]{key: key, value: value, expires: expires})
}

// Len is the number of entries held, expired ones not yet dropped
// included.
func (c *Cache[V]) Len() int { return c.order.Len() }

func (c *Cache[V]) remove(el *list.Element) {
	delete(c.byKey, el.Value.(*entry[V]).key)
	c.order.Remove(el)
}
