package serverless

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	operatorv1alpha1 "github.com/kyma-serverless/serverless/api/operator/v1alpha1"
)

func TestDesiredMode(t *testing.T) {
	cases := []struct {
		name        string
		annotations map[string]string
		current     string
		want        string
		problem     bool
	}{
		{name: "absent means enabled", want: modeEnabled},
		{name: "absent resets a disabled mode", current: modeDisabled, want: modeEnabled},
		{name: "disabled", annotations: map[string]string{operatorv1alpha1.BuildlessModeAnnotation: "disabled"}, want: modeDisabled},
		{name: "enabled", annotations: map[string]string{operatorv1alpha1.BuildlessModeAnnotation: "enabled"}, current: modeDisabled, want: modeEnabled},
		{name: "typo keeps enabled", annotations: map[string]string{operatorv1alpha1.BuildlessModeAnnotation: "disbled"}, current: modeEnabled, want: modeEnabled, problem: true},
		{name: "typo keeps disabled", annotations: map[string]string{operatorv1alpha1.BuildlessModeAnnotation: "Enabled"}, current: modeDisabled, want: modeDisabled, problem: true},
		{name: "typo on first install keeps the default", annotations: map[string]string{operatorv1alpha1.BuildlessModeAnnotation: "false"}, want: modeEnabled, problem: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			mode, problem := desiredMode(tc.annotations, tc.current)
			g.Expect(mode).To(Equal(tc.want))
			if tc.problem {
				g.Expect(problem).To(And(ContainSubstring(`"enabled"`), ContainSubstring(`"disabled"`), ContainSubstring(tc.annotations[operatorv1alpha1.BuildlessModeAnnotation])))
			} else {
				g.Expect(problem).To(BeEmpty())
			}
		})
	}
}

func TestResolveConfigDefaultsAndValues(t *testing.T) {
	g := NewWithT(t)
	cfg := resolveConfig(operatorv1alpha1.ServerlessSpec{}, modeEnabled, "")
	g.Expect(cfg.LogLevel).To(Equal("info"))
	g.Expect(cfg.LogFormat).To(Equal("json"))
	g.Expect(cfg.FunctionRequeueDuration).To(Equal("5m"))
	g.Expect(cfg.DefaultRuntimePodPreset).To(Equal("L"))
	g.Expect(cfg.DefaultBuildJobPreset).To(Equal("normal"))
	g.Expect(cfg.EventingEndpoint).To(Equal(defaultEventingEndpoint))

	internal, secret := false, "my-registry"
	cfg = resolveConfig(operatorv1alpha1.ServerlessSpec{
		LogLevel:                         "debug",
		TargetCPUUtilizationPercentage:   "75",
		FunctionBuildMaxSimultaneousJobs: "2",
		FunctionBuildExecutorArgs:        "--a, --b ,,--c",
		Tracing:                          &operatorv1alpha1.Endpoint{Endpoint: "http://traces:4318"},
		DockerRegistry:                   &operatorv1alpha1.DockerRegistryConfig{EnableInternal: &internal, SecretName: &secret},
		EnableNetworkPolicies:            true,
	}, modeDisabled, "http://detected:4318")
	g.Expect(cfg.TracingEndpoint).To(Equal("http://traces:4318"), "the spec wins over detection")
	values, err := cfg.values(func(key string) string {
		return map[string]string{"IMAGE_FUNCTION_CONTROLLER": "reg/fc:1", "IMAGE_FUNCTION_RUNTIME_NODEJS22": "reg/n22:1"}[key]
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(values["buildless"]).To(BeFalse())
	g.Expect(values["logging"]).To(HaveKeyWithValue("level", "debug"))
	g.Expect(values["function"]).To(HaveKeyWithValue("targetCPUUtilizationPercentage", 75))
	g.Expect(values["build"]).To(HaveKeyWithValue("maxSimultaneousJobs", 2))
	g.Expect(values["build"]).To(HaveKeyWithValue("executorArgs", []any{"--a", "--b", "--c"}))
	g.Expect(values["registry"]).To(HaveKeyWithValue("secretName", "my-registry"))
	g.Expect(values["networkPolicies"]).To(HaveKeyWithValue("enabled", true))
	g.Expect(values["images"]).To(HaveKeyWithValue("functionController", "reg/fc:1"))
	g.Expect(values["images"]).To(HaveKeyWithValue("runtimes", map[string]any{"nodejs22": "reg/n22:1"}))

	cfg = resolveConfig(operatorv1alpha1.ServerlessSpec{}, modeEnabled, "http://detected:4318")
	g.Expect(cfg.TracingEndpoint).To(Equal("http://detected:4318"))
	off := resolveConfig(operatorv1alpha1.ServerlessSpec{
		Tracing: &operatorv1alpha1.Endpoint{}, Eventing: &operatorv1alpha1.Endpoint{},
	}, modeEnabled, "http://detected:4318")
	g.Expect(off.TracingEndpoint).To(BeEmpty(), "an empty endpoint turns tracing off")
	g.Expect(off.EventingEndpoint).To(BeEmpty(), "an empty endpoint turns eventing off")
	values, err = cfg.values(func(string) string { return "" })
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(values).NotTo(HaveKey("images"), "no override keeps the chart's images")
}

func TestValuesRefuseNonNumbers(t *testing.T) {
	g := NewWithT(t)
	cfg := resolveConfig(operatorv1alpha1.ServerlessSpec{TargetCPUUtilizationPercentage: "fifty"}, modeEnabled, "")
	_, err := cfg.values(func(string) string { return "" })
	g.Expect(err).To(MatchError(ContainSubstring(`targetCPUUtilizationPercentage "fifty"`)))
}

func TestSummarizeState(t *testing.T) {
	cond := func(t string, s metav1.ConditionStatus, reason string) metav1.Condition {
		return metav1.Condition{Type: t, Status: s, Reason: reason}
	}
	now := metav1.Now()
	cases := []struct {
		name     string
		served   string
		deleting bool
		conds    []metav1.Condition
		want     string
	}{
		{name: "fresh", want: operatorv1alpha1.StateProcessing},
		{name: "not served", served: operatorv1alpha1.ServedFalse, want: operatorv1alpha1.StateWarning},
		{name: "ready", conds: []metav1.Condition{
			cond(operatorv1alpha1.ConditionConfigured, metav1.ConditionTrue, operatorv1alpha1.ReasonConfigured),
			cond(operatorv1alpha1.ConditionInstalled, metav1.ConditionTrue, operatorv1alpha1.ReasonInstalled),
		}, want: operatorv1alpha1.StateReady},
		{name: "installing", conds: []metav1.Condition{
			cond(operatorv1alpha1.ConditionConfigured, metav1.ConditionTrue, operatorv1alpha1.ReasonConfigured),
			cond(operatorv1alpha1.ConditionInstalled, metav1.ConditionFalse, operatorv1alpha1.ReasonInstalling),
		}, want: operatorv1alpha1.StateProcessing},
		{name: "apply failed", conds: []metav1.Condition{
			cond(operatorv1alpha1.ConditionInstalled, metav1.ConditionFalse, operatorv1alpha1.ReasonApplyFailed),
		}, want: operatorv1alpha1.StateError},
		{name: "deployment failure", conds: []metav1.Condition{
			cond(operatorv1alpha1.ConditionInstalled, metav1.ConditionTrue, operatorv1alpha1.ReasonInstalled),
			cond(operatorv1alpha1.ConditionDeploymentFailure, metav1.ConditionTrue, operatorv1alpha1.ReasonDeploymentFailed),
		}, want: operatorv1alpha1.StateError},
		{name: "typo while installed", conds: []metav1.Condition{
			cond(operatorv1alpha1.ConditionConfigured, metav1.ConditionFalse, operatorv1alpha1.ReasonInvalidBuildlessMode),
			cond(operatorv1alpha1.ConditionInstalled, metav1.ConditionTrue, operatorv1alpha1.ReasonInstalled),
		}, want: operatorv1alpha1.StateWarning},
		{name: "deletion blocked", deleting: true, conds: []metav1.Condition{
			cond(operatorv1alpha1.ConditionDeleted, metav1.ConditionFalse, operatorv1alpha1.ReasonDeletionBlocked),
		}, want: operatorv1alpha1.StateWarning},
		{name: "deleting", deleting: true, conds: []metav1.Condition{
			cond(operatorv1alpha1.ConditionDeleted, metav1.ConditionFalse, operatorv1alpha1.ReasonDeleting),
		}, want: operatorv1alpha1.StateDeleting},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := &operatorv1alpha1.Serverless{}
			obj.Status.Served = tc.served
			obj.Status.Conditions = tc.conds
			if tc.deleting {
				obj.DeletionTimestamp = &now
			}
			NewWithT(t).Expect(summarizeState(obj)).To(Equal(tc.want))
		})
	}
}

func TestPickServed(t *testing.T) {
	g := NewWithT(t)
	old := metav1.NewTime(time.Unix(100, 0))
	young := metav1.NewTime(time.Unix(200, 0))
	mk := func(ns string, created metav1.Time, served string, deleting bool) operatorv1alpha1.Serverless {
		s := operatorv1alpha1.Serverless{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default", CreationTimestamp: created, UID: types.UID("uid-" + ns)}}
		s.Status.Served = served
		if deleting {
			s.DeletionTimestamp = &young
		}
		return s
	}
	g.Expect(pickServed(nil)).To(BeNil())
	g.Expect(pickServed([]operatorv1alpha1.Serverless{mk("b", young, "", false), mk("a", old, "", false)}).Namespace).To(Equal("a"), "the oldest wins")
	g.Expect(pickServed([]operatorv1alpha1.Serverless{mk("a", old, "", false), mk("b", young, operatorv1alpha1.ServedTrue, false)}).Namespace).To(Equal("b"), "a served one stays served")
	g.Expect(pickServed([]operatorv1alpha1.Serverless{mk("a", old, "", true), mk("b", young, "", false)}).Namespace).To(Equal("b"), "a deleting one is not picked")
	g.Expect(pickServed([]operatorv1alpha1.Serverless{mk("b", old, "", false), mk("a", old, "", false)}).Namespace).To(Equal("a"), "ties break by name")
}

func TestDeletionMessagesAndBackoff(t *testing.T) {
	g := NewWithT(t)
	g.Expect(blockedMessage(5, []string{"a", "b", "c", "d"})).To(Equal(
		"deletion is blocked: 5 Function(s) still exist in namespace(s) a, b, c and 1 more; delete them to uninstall Serverless"))
	start := time.Unix(0, 0)
	g.Expect(deletionBackoff(start, start)).To(Equal(minDeletionBackoff))
	g.Expect(deletionBackoff(start, start.Add(20*time.Second))).To(Equal(10 * time.Second))
	g.Expect(deletionBackoff(start, start.Add(time.Hour))).To(Equal(maxDeletionBackoff))
}
