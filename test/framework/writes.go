package framework

import (
	"net/http"
	"strings"
	"sync"

	"k8s.io/client-go/rest"
)

// WriteCounter records the write requests (anything but GET, HEAD and
// OPTIONS) a client sends, as "METHOD path".
type WriteCounter struct {
	mu       sync.Mutex
	requests []string
}

// Wrap makes every client built from cfg report its writes to w.
func (w *WriteCounter) Wrap(cfg *rest.Config) {
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &countingTransport{next: rt, counter: w} })
}

// Mark is the position of the next write.
func (w *WriteCounter) Mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.requests)
}

// Since returns the writes after mark whose "METHOD path" contains filter.
func (w *WriteCounter) Since(mark int, filter string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, r := range w.requests[mark:] {
		if strings.Contains(r, filter) {
			out = append(out, r)
		}
	}
	return out
}

func (w *WriteCounter) add(r string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.requests = append(w.requests, r)
}

type countingTransport struct {
	next    http.RoundTripper
	counter *WriteCounter
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead && req.Method != http.MethodOptions {
		t.counter.add(req.Method + " " + req.URL.Path)
	}
	return t.next.RoundTrip(req)
}
