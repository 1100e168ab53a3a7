// Package writememo remembers what a controller wrote last, per object. A reconcile can start
// from an informer cache that does not show the controller's own latest write yet; with the
// memo it neither writes the same thing again nor has to read the object from the API server
// to find out.
//
// The memo compares resourceVersions as numbers. The API documents them as opaque, but every
// API server backed by etcd hands out increasing integers, and a version that does not parse
// only makes the memo answer "unknown", which costs a read or a write, never correctness.
package writememo

import (
	"strconv"
	"sync"
	"time"
)

// DefaultTTL bounds how long an entry is trusted: a cache lags by milliseconds, so an older
// entry no longer says anything the cache does not.
const DefaultTTL = time.Minute

// sweepEvery is how many records pass between sweeps of expired entries.
const sweepEvery = 256

// Memo maps a key (an object's UID, or its kind, namespace and name) to the value the
// controller wrote last and the resourceVersion the write produced. The zero value is ready.
type Memo[V any] struct {
	// TTL overrides DefaultTTL when positive.
	TTL time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu      sync.Mutex
	entries map[string]entry[V]
	records int
}

type entry[V any] struct {
	value V
	uid   string
	rv    uint64
	at    time.Time
}

// Record notes that the write of value produced the object with uid at resourceVersion.
func (m *Memo[V]) Record(key, uid, resourceVersion string, value V) {
	rv, err := strconv.ParseUint(resourceVersion, 10, 64)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = map[string]entry[V]{}
	}
	now := m.now()
	m.entries[key] = entry[V]{value: value, uid: uid, rv: rv, at: now}
	if m.records++; m.records%sweepEvery == 0 {
		for k, e := range m.entries {
			if now.Sub(e.at) > m.ttl() {
				delete(m.entries, k)
			}
		}
	}
}

// Ahead returns the value last written for key when the observed copy of the object (uid,
// resourceVersion) predates that write: the caller's copy is stale and the value is what the
// API server holds. It returns false when the observed copy is current, is another object, or
// nothing recent was written.
func (m *Memo[V]) Ahead(key, uid, resourceVersion string) (V, bool) {
	var zero V
	rv, err := strconv.ParseUint(resourceVersion, 10, 64)
	if err != nil {
		return zero, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok || e.uid != uid || rv >= e.rv || m.now().Sub(e.at) > m.ttl() {
		return zero, false
	}
	return e.value, true
}

// Forget drops the entry of key.
func (m *Memo[V]) Forget(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, key)
}

func (m *Memo[V]) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Memo[V]) ttl() time.Duration {
	if m.TTL > 0 {
		return m.TTL
	}
	return DefaultTTL
}
