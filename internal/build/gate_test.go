package build

import (
	"fmt"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
)

func TestCanStart(t *testing.T) {
	cases := []struct {
		active, limit int
		want          bool
	}{
		{0, 1, true}, {1, 1, false}, {1, 2, true}, {2, 2, false}, {3, 2, false},
		{4, 5, true}, {5, 5, false},
		{0, 0, true}, {1, 0, false}, {0, -3, true}, {1, -3, false},
	}
	for _, c := range cases {
		NewWithT(t).Expect(CanStart(c.active, c.limit)).To(Equal(c.want), "CanStart(%d, %d)", c.active, c.limit)
	}
}

// buildJob is a build Job of Function fn; finished marks it Complete.
func buildJob(ns, fn string, finished bool) batchv1.Job {
	job := *Job(inlineFunction(fn, func(f *serverlessv1alpha2.Function) { f.Namespace = ns; f.UID = types.UID("uid-" + fn) }), testJobInput())
	if finished {
		job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	}
	return job
}

func TestActiveBuilds(t *testing.T) {
	failed := buildJob("a", "failed", false)
	failed.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue}}
	terminating := buildJob("a", "terminating", false)
	terminating.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue}}
	legacy := batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "legacy-build-x7k2p", Namespace: "b", Labels: map[string]string{
		"serverless.kyma-project.io/function-name": "legacy",
		"serverless.kyma-project.io/managed-by":    "function-controller",
		"serverless.kyma-project.io/uuid":          "u",
	}}}
	unrelated := batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "backup", Namespace: "b", Labels: map[string]string{"app": "backup"}}}

	cases := []struct {
		name string
		jobs []batchv1.Job
		want int
	}{
		{"none", nil, 0},
		{"running", []batchv1.Job{buildJob("a", "f1", false), buildJob("b", "f2", false)}, 2},
		{"finished ones do not count", []batchv1.Job{buildJob("a", "f1", true), failed, buildJob("b", "f2", false)}, 1},
		{"a decided failure holds its slot until its Pod is gone", []batchv1.Job{terminating}, 1},
		{"legacy build Jobs count", []batchv1.Job{legacy}, 1},
		{"other Jobs do not count", []batchv1.Job{unrelated, buildJob("a", "f1", false)}, 1},
	}
	for _, c := range cases {
		NewWithT(t).Expect(ActiveBuilds(c.jobs)).To(Equal(c.want), c.name)
	}
}

func key(j batchv1.Job) types.NamespacedName {
	return types.NamespacedName{Namespace: j.Namespace, Name: j.Name}
}

func TestGateCountsJobsMissingFromTheCache(t *testing.T) {
	g := NewWithT(t)
	now := time.Unix(1_700_000_000, 0)
	gate := NewGate()
	gate.now = func() time.Time { return now }

	var jobs []batchv1.Job
	for i := range 10 {
		jobs = append(jobs, buildJob("ns", fmt.Sprintf("fn-%d", i), false))
	}

	// The cache shows nothing yet: only two of ten may start.
	var started []batchv1.Job
	for _, j := range jobs {
		if gate.TryStart(key(j), nil, 2) {
			started = append(started, j)
		}
	}
	g.Expect(started).To(HaveLen(2))
	// Asking again for a started Job is fine; it takes no second slot.
	g.Expect(gate.TryStart(key(started[0]), nil, 2)).To(BeTrue())

	// The cache catches up: the same two, still running.
	g.Expect(gate.TryStart(key(jobs[5]), started, 2)).To(BeFalse())
	// One finishes: one more may start.
	started[0].Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	g.Expect(gate.TryStart(key(jobs[5]), started, 2)).To(BeTrue())
	g.Expect(gate.TryStart(key(jobs[6]), started, 2)).To(BeFalse())

	// A failed creation gives its slot back.
	gate.Release(key(jobs[5]))
	g.Expect(gate.TryStart(key(jobs[6]), started, 2)).To(BeTrue())

	// A reservation that never shows up expires.
	g.Expect(gate.TryStart(key(jobs[7]), started, 2)).To(BeFalse())
	now = now.Add(DefaultReservationTTL + time.Second)
	g.Expect(gate.TryStart(key(jobs[7]), started, 2)).To(BeTrue())

	// An observed Job may always be created again (for example after a cache resync).
	g.Expect(gate.TryStart(key(started[1]), started, 1)).To(BeTrue())
}

// Decisions run concurrently, each from its own list of the cache: one that saw a new Job
// running must not make another, with an older list that lacks it, start one more.
func TestGateKeepsReservationsForStaleLists(t *testing.T) {
	g := NewWithT(t)
	gate := NewGate()
	a, b, c := buildJob("ns", "a", false), buildJob("ns", "b", false), buildJob("ns", "c", false)

	g.Expect(gate.TryStart(key(a), nil, 1)).To(BeTrue())
	g.Expect(gate.TryStart(key(b), []batchv1.Job{a}, 1)).To(BeFalse(), "a fresh list shows a running")
	g.Expect(gate.TryStart(key(c), nil, 1)).To(BeFalse(), "a stale list lacks a, whose reservation still counts")

	a.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	g.Expect(gate.TryStart(key(b), []batchv1.Job{a}, 1)).To(BeTrue(), "a finished")
	g.Expect(gate.TryStart(key(c), nil, 1)).To(BeFalse(), "b holds the slot")
}

func TestGateConcurrent(t *testing.T) {
	g := NewWithT(t)
	gate := NewGate()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int
	)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if gate.TryStart(types.NamespacedName{Namespace: "ns", Name: fmt.Sprintf("job-%d", i)}, nil, 3) {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	g.Expect(allowed).To(Equal(3))
}
