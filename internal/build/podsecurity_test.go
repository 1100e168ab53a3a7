package build

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const refusal = `pods "orders-build-85f0b35914fbff29-x7k2p" is forbidden: violates PodSecurity "restricted:latest": ` +
	`allowPrivilegeEscalation != false (container "executor" must set securityContext.allowPrivilegeEscalation=false), ` +
	`runAsNonRoot != true (pod or container "executor" must set securityContext.runAsNonRoot=true)`

func TestRestrictedNamespace(t *testing.T) {
	cases := []struct {
		labels map[string]string
		want   bool
	}{
		{nil, false},
		{map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}, true},
		{map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}, false},
		{map[string]string{"pod-security.kubernetes.io/enforce": "privileged"}, false},
		{map[string]string{"pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/audit": "restricted"}, false},
		{map[string]string{"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "v1.30"}, true},
	}
	for _, c := range cases {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", Labels: c.labels}}
		NewWithT(t).Expect(RestrictedNamespace(ns)).To(Equal(c.want), "%v", c.labels)
	}
	NewWithT(t).Expect(RestrictedNamespace(nil)).To(BeFalse())
}

func TestPodSecurityRefusal(t *testing.T) {
	g := NewWithT(t)
	g.Expect(IsPodSecurityRefusal(refusal)).To(BeTrue())
	g.Expect(IsPodSecurityRefusal("Error creating: " + refusal)).To(BeTrue())
	for _, other := range []string{
		"",
		"Created pod: orders-build-85f0b35914fbff29-x7k2p",
		`pods "x" is forbidden: exceeded quota: compute, requested: cpu=700m`,
		"Job has reached the specified backoff limit",
	} {
		g.Expect(IsPodSecurityRefusal(other)).To(BeFalse(), other)
	}

	at := func(sec int) metav1.Time { return metav1.NewTime(time.Unix(1_700_000_000+int64(sec), 0)) }
	events := []corev1.Event{
		{Type: corev1.EventTypeNormal, Reason: "SuccessfulCreate", Message: "Created pod: a", LastTimestamp: at(50)},
		{Type: corev1.EventTypeWarning, Reason: "FailedCreate", Message: "Error creating: " + refusal + " (old)", LastTimestamp: at(10)},
		{Type: corev1.EventTypeWarning, Reason: "FailedCreate", Message: "Error creating: " + refusal, LastTimestamp: at(20)},
		{Type: corev1.EventTypeWarning, Reason: "FailedCreate", Message: "Error creating: " + refusal + " (series)",
			Series: &corev1.EventSeries{LastObservedTime: metav1.NewMicroTime(at(5).Time)}},
	}
	msg, ok := PodSecurityRefusal(events)
	g.Expect(ok).To(BeTrue())
	g.Expect(msg).To(Equal("Error creating: " + refusal))

	_, ok = PodSecurityRefusal(events[:1])
	g.Expect(ok).To(BeFalse())
	_, ok = PodSecurityRefusal(nil)
	g.Expect(ok).To(BeFalse())

	g.Expect(MessageRestrictedNamespace).To(ContainSubstring("restricted"))
	g.Expect(MessageRestrictedNamespace).To(ContainSubstring("buildless mode"))
}
