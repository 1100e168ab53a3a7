package writememo

import (
	"fmt"
	"testing"
	"time"
)

func TestAhead(t *testing.T) {
	now := time.Unix(1000, 0)
	m := &Memo[string]{Now: func() time.Time { return now }}
	m.Record("k", "uid-1", "20", "written")

	cases := []struct {
		name, uid, rv string
		want          bool
	}{
		{"stale copy", "uid-1", "19", true},
		{"copy shows the write", "uid-1", "20", false},
		{"copy is newer", "uid-1", "21", false},
		{"another object with the same key", "uid-2", "19", false},
		{"unparsable version", "uid-1", "abc", false},
		{"no version", "uid-1", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, ok := m.Ahead("k", c.uid, c.rv)
			if ok != c.want {
				t.Fatalf("Ahead(%s, %s) = %v, want %v", c.uid, c.rv, ok, c.want)
			}
			if ok && v != "written" {
				t.Fatalf("value %q, want %q", v, "written")
			}
		})
	}
	if _, ok := m.Ahead("other", "uid-1", "1"); ok {
		t.Fatal("a key never recorded is reported ahead")
	}
}

func TestExpiryAndForget(t *testing.T) {
	now := time.Unix(1000, 0)
	m := &Memo[int]{TTL: time.Second, Now: func() time.Time { return now }}
	m.Record("a", "u", "5", 1)
	m.Record("b", "u", "5", 2)
	now = now.Add(2 * time.Second)
	if _, ok := m.Ahead("a", "u", "4"); ok {
		t.Fatal("an expired entry is trusted")
	}
	m.Forget("b")
	if _, ok := m.Ahead("b", "u", "4"); ok {
		t.Fatal("a forgotten entry is trusted")
	}
	m.Record("c", "u", "not-a-number", 3)
	if _, ok := m.Ahead("c", "u", "1"); ok {
		t.Fatal("a write with an unparsable version is trusted")
	}
}

func TestSweepDropsExpiredEntries(t *testing.T) {
	now := time.Unix(1000, 0)
	m := &Memo[int]{TTL: time.Second, Now: func() time.Time { return now }}
	for i := 0; i < sweepEvery-1; i++ {
		m.Record(fmt.Sprint(i), "u", "1", i)
	}
	now = now.Add(2 * time.Second)
	m.Record("last", "u", "1", 0) // the sweepEvery-th record sweeps
	m.mu.Lock()
	n := len(m.entries)
	m.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d entries after the sweep, want 1", n)
	}
}
