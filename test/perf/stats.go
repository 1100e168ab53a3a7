// Package perf holds the benchmarks run by `make bench`. They print figures
// and side-by-side ratios (medians over several runs); they are not timed
// pass/fail tests.
package perf

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// requireBench keeps the benchmarks out of `make test`: they take minutes and
// print figures rather than pass or fail.
func requireBench(t *testing.T) {
	t.Helper()
	if os.Getenv("SERVERLESS_BENCH") == "" {
		t.Skip("benchmark: runs only under `make bench` (SERVERLESS_BENCH=1)")
	}
}

// median of a non-empty sample.
func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// comparison is one row of a side-by-side table.
type comparison struct {
	name         string
	ours, theirs []time.Duration
	oursLabel    string
	theirsLabel  string
	target       float64
}

func (c comparison) ratio() float64 {
	t := median(c.theirs)
	if t == 0 {
		return 0
	}
	return float64(median(c.ours)) / float64(t)
}

func (c comparison) print(w io.Writer) {
	verdict := "meets"
	if c.ratio() > c.target {
		verdict = "MISSES"
	}
	fmt.Fprintf(w, "%s\n", c.name)
	fmt.Fprintf(w, "  %-28s runs %s  median %s\n", c.oursLabel, runs(c.ours), round(median(c.ours)))
	fmt.Fprintf(w, "  %-28s runs %s  median %s\n", c.theirsLabel, runs(c.theirs), round(median(c.theirs)))
	fmt.Fprintf(w, "  ratio %.2f (target <= %.2f: %s)\n", c.ratio(), c.target, verdict)
}

func runs(d []time.Duration) string {
	parts := make([]string, len(d))
	for i, v := range d {
		parts[i] = round(v).String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }
