package framework

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// WaitForEvent waits for an Event of the given type and reason about the
// object kind/name in namespace. On timeout the error lists the Events seen.
func WaitForEvent(ctx context.Context, c client.Reader, namespace, kind, name, eventType, reason string, timeout time.Duration) (corev1.Event, error) {
	var found corev1.Event
	var seen []string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		events := &corev1.EventList{}
		if err := c.List(ctx, events, client.InNamespace(namespace)); err != nil {
			return false, err
		}
		seen = seen[:0]
		for _, e := range events.Items {
			if e.InvolvedObject.Kind == kind && e.InvolvedObject.Name == name && e.Type == eventType && e.Reason == reason {
				found = e
				return true, nil
			}
			seen = append(seen, fmt.Sprintf("%s/%s %s %s", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Type, e.Reason))
		}
		return false, nil
	})
	if err != nil {
		return found, fmt.Errorf("no %s Event %s for %s %s/%s (seen: %v): %w", eventType, reason, kind, namespace, name, seen, err)
	}
	return found, nil
}
