package build

import (
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/types"
)

// CanStart reports whether one more build may start while active builds run, with at most
// limit (functionconfig Build.MaxSimultaneousJobs) at once. A limit below 1 counts as 1, so
// builds never stall on a misconfiguration.
func CanStart(active, limit int) bool {
	return active < max(limit, 1)
}

// ActiveBuilds counts the build Jobs (IsBuildJob) among jobs that have not finished
// (IsJobFinished). Pass every build Job of the cluster: the limit is cluster-wide.
func ActiveBuilds(jobs []batchv1.Job) int {
	n := 0
	for i := range jobs {
		if IsBuildJob(&jobs[i]) && !IsJobFinished(&jobs[i]) {
			n++
		}
	}
	return n
}

// IsBuildJob reports whether a Job is a Function's build Job, ours or one of Kyma's
// legacy controller: it carries the Function labels and LabelResource is build-job or
// absent (the Function controller creates no other Jobs).
func IsBuildJob(job *batchv1.Job) bool {
	return job != nil && hasFunctionLabels(job.Labels) && resourceIs(job.Labels, ResourceBuildJob)
}

// DefaultReservationTTL is how long a Gate counts a started build that has not shown up in
// the observed Jobs.
const DefaultReservationTTL = 2 * time.Minute

// Gate holds the cluster-wide limit on simultaneous builds when the controller decides
// from a cache. A Job it just created is missing from the cache for a moment; without the
// Gate, the next decisions would not count it and start too many builds. The Gate counts
// each build it let start until the Job is observed finished, until Release, or for at most
// its TTL. Seeing the Job unfinished does not end the reservation: a concurrent decision may
// work from an older list that lacks it. It is safe for concurrent use; the zero value is
// not: use NewGate.
type Gate struct {
	mu       sync.Mutex
	reserved map[types.NamespacedName]time.Time
	ttl      time.Duration
	now      func() time.Time
}

// NewGate returns a Gate whose reservations expire after DefaultReservationTTL.
func NewGate() *Gate {
	return &Gate{reserved: map[types.NamespacedName]time.Time{}, ttl: DefaultReservationTTL, now: time.Now}
}

// TryStart reports whether the build Job job may be created now, given every build Job the
// caller observes and the limit, and reserves its slot when it may. A Job that is already
// observed or reserved may always start (creating it again is harmless). On failure to
// create the Job, call Release.
func (g *Gate) TryStart(job types.NamespacedName, observed []batchv1.Job, limit int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()

	now := g.now()
	seen := make(map[types.NamespacedName]bool, len(observed))
	active := map[types.NamespacedName]bool{}
	for i := range observed {
		key := types.NamespacedName{Namespace: observed[i].Namespace, Name: observed[i].Name}
		seen[key] = true
		if IsJobFinished(&observed[i]) {
			delete(g.reserved, key)
		} else if IsBuildJob(&observed[i]) {
			active[key] = true
		}
	}
	for key, at := range g.reserved {
		if now.Sub(at) > g.ttl {
			delete(g.reserved, key)
			continue
		}
		active[key] = true
	}
	if _, ok := g.reserved[job]; ok || seen[job] {
		return true
	}
	if !CanStart(len(active), limit) {
		return false
	}
	g.reserved[job] = now
	return true
}

// Release gives back the slot TryStart reserved for job, when its creation failed.
func (g *Gate) Release(job types.NamespacedName) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.reserved, job)
}
