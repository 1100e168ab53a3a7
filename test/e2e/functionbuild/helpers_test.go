package functionbuild

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/build"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
	"github.com/kyma-serverless/serverless/test/framework"
)

const (
	timeout = 3 * time.Minute
	poll    = 200 * time.Millisecond

	nodeSource = "module.exports = { main: function (event, context) { return 'hello' } }\n"
	nodeDeps   = `{"name": "hello", "version": "1.0.0", "dependencies": {"lodash": "4.17.21"}}`
	// runtimeImage is the configured image of nodejs22, the base of the built images.
	runtimeImage = "registry.test/function-runtime-nodejs22:test"
)

var restricted = map[string]string{
	"pod-security.kubernetes.io/enforce":         "restricted",
	"pod-security.kubernetes.io/enforce-version": "latest",
}

func newNamespace(ctx context.Context, labels map[string]string) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "fnb-", Labels: labels}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

func inlineFunction(ns, name, source string) *serverlessv1alpha2.Function {
	return &serverlessv1alpha2.Function{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: serverlessv1alpha2.FunctionSpec{
			Runtime: serverlessv1alpha2.RuntimeNodejs22,
			Source:  serverlessv1alpha2.Source{Inline: &serverlessv1alpha2.InlineSource{Source: source, Dependencies: nodeDeps}},
		},
	}
}

// builtImage is the image the Deployment of fn runs in build mode (for a Git source, of the
// commit in its status).
func builtImage(fn *serverlessv1alpha2.Function) string {
	return build.ImageName(pullAddress, fn.Namespace, fn.Name, build.ContentHash(fn, runtimeImage, fn.Status.Commit))
}

func getFunction(ctx context.Context, g Gomega, fn *serverlessv1alpha2.Function) *serverlessv1alpha2.Function {
	got := &serverlessv1alpha2.Function{}
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), got)).To(Succeed())
	return got
}

// expectCondition checks one condition of a Function for its current generation.
func expectCondition(g Gomega, fn *serverlessv1alpha2.Function, typ string, status metav1.ConditionStatus, reason string) *metav1.Condition {
	c := meta.FindStatusCondition(fn.Status.Conditions, typ)
	g.Expect(c).NotTo(BeNil(), "condition %s", typ)
	g.Expect(c.Status).To(Equal(status), "%s: %s %s", typ, c.Reason, c.Message)
	if reason != "" {
		g.Expect(c.Reason).To(Equal(reason), "%s: %s", typ, c.Message)
	}
	g.Expect(c.ObservedGeneration).To(Equal(fn.Generation))
	return c
}

// waitBuiltAndRunning waits until the Function's current content is built and its
// Deployment runs the image with every replica available.
func waitBuiltAndRunning(ctx context.Context, fn *serverlessv1alpha2.Function) *serverlessv1alpha2.Function {
	var got *serverlessv1alpha2.Function
	Eventually(func(g Gomega) {
		got = getFunction(ctx, g, fn)
		expectCondition(g, got, serverlessv1alpha2.ConditionConfigurationReady, metav1.ConditionTrue, "")
		expectCondition(g, got, serverlessv1alpha2.ConditionBuildReady, metav1.ConditionTrue, serverlessv1alpha2.ReasonJobFinished)
		expectCondition(g, got, serverlessv1alpha2.ConditionRunning, metav1.ConditionTrue, serverlessv1alpha2.ReasonDeploymentReady)
		dep := &appsv1.Deployment{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), dep)).To(Succeed())
		g.Expect(dep.Spec.Template.Spec.Containers[0].Image).To(Equal(builtImage(got)))
		g.Expect(rolledOut(dep)).To(BeTrue())
	}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	return got
}

// rolledOut reports whether a Deployment's current template runs every desired replica,
// available.
func rolledOut(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	return st.ObservedGeneration >= d.Generation && st.UpdatedReplicas == want && st.AvailableReplicas == want && st.Replicas == want
}

// buildJobs lists the build Jobs of a Function.
func buildJobs(ctx context.Context, g Gomega, fn *serverlessv1alpha2.Function) []string {
	jobs := &batchv1.JobList{}
	g.Expect(k8s.List(ctx, jobs, client.InNamespace(fn.Namespace), client.MatchingLabels{
		serverlessv1alpha2.LabelFunctionName: fn.Name,
	})).To(Succeed())
	var names []string
	for _, j := range jobs.Items {
		names = append(names, j.Name)
	}
	return names
}

func expectWarningEvent(ctx context.Context, fn *serverlessv1alpha2.Function, reason string) corev1.Event {
	GinkgoHelper()
	e, err := framework.WaitForEvent(ctx, k8s, fn.Namespace, "Function", fn.Name, corev1.EventTypeWarning, reason, 30*time.Second)
	Expect(err).NotTo(HaveOccurred())
	return e
}

// watchEach calls handle for every event of the objects list selects until ctx ends, and
// watches again when the API server ends a watch (the new watch starts with the current
// objects as Added events).
func watchEach(ctx context.Context, list client.ObjectList, handle func(watch.Event), opts ...client.ListOption) {
	wc, err := client.NewWithWatch(h.Cluster.RESTConfig(), client.Options{Scheme: k8s.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	started := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		first := true
		for ctx.Err() == nil {
			w, err := wc.Watch(ctx, list, opts...)
			if first {
				close(started)
				first = false
			}
			if err != nil {
				if ctx.Err() == nil {
					GinkgoWriter.Printf("watch: %v\n", err)
					time.Sleep(100 * time.Millisecond)
				}
				continue
			}
			for ev := range w.ResultChan() {
				if ev.Type == watch.Error || ev.Type == watch.Bookmark {
					continue
				}
				handle(ev)
			}
			w.Stop()
		}
	}()
	<-started
}

// expectNoSecret checks that the registry password appears nowhere the controller reports.
func expectNoSecret(ctx context.Context, namespaces ...string) {
	Expect(logs.String()).NotTo(ContainSubstring(registryPassword), "controller logs")
	for _, ns := range namespaces {
		fns := &serverlessv1alpha2.FunctionList{}
		Expect(k8s.List(ctx, fns, client.InNamespace(ns))).To(Succeed())
		for _, fn := range fns.Items {
			for _, c := range fn.Status.Conditions {
				Expect(c.Message).NotTo(ContainSubstring(registryPassword))
			}
		}
		events := &corev1.EventList{}
		Expect(k8s.List(ctx, events, client.InNamespace(ns))).To(Succeed())
		for _, e := range events.Items {
			Expect(strings.Contains(e.Message, registryPassword)).To(BeFalse(), "Event %s", e.Name)
		}
	}
}

// summarize counts write requests by method and resource ("PATCH deployments",
// "PATCH functions/status").
func summarize(writes []string) map[string]int {
	out := map[string]int{}
	for _, w := range writes {
		method, path, _ := strings.Cut(w, " ")
		parts := strings.Split(strings.Trim(path, "/"), "/")
		resource := ""
		for i := range parts {
			if parts[i] == "namespaces" && i+2 < len(parts) {
				resource = parts[i+2]
				if i+4 < len(parts) {
					resource += "/" + parts[i+4]
				}
				break
			}
		}
		out[method+" "+resource]++
	}
	return out
}

// dockerfileName is the name of the Dockerfile ConfigMap of a runtime, the original in the
// configuration namespace and its copies.
func dockerfileName(rt serverlessv1alpha2.Runtime) string { return "dockerfile-" + string(rt) }

// missingMounts names the ConfigMaps a build Job mounts that do not exist in its namespace:
// a Pod can mount ConfigMaps of its own namespace only.
func missingMounts(ctx context.Context, job *batchv1.Job) []string {
	var missing []string
	for _, v := range job.Spec.Template.Spec.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		err := k8s.Get(ctx, client.ObjectKey{Namespace: job.Namespace, Name: v.ConfigMap.Name}, &corev1.ConfigMap{})
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s/%s (%v)", job.Namespace, v.ConfigMap.Name, err))
		}
	}
	return missing
}

// expectDockerfileCopy checks the copy of a runtime's Dockerfile ConfigMap in a namespace:
// the original's Dockerfile, labelled as a copy of the Function controller.
func expectDockerfileCopy(ctx context.Context, g Gomega, ns string, rt serverlessv1alpha2.Runtime) {
	src := &corev1.ConfigMap{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ConfigNamespace, Name: dockerfileName(rt)}, src)).To(Succeed())
	cp := &corev1.ConfigMap{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: dockerfileName(rt)}, cp)).To(Succeed(), "Dockerfile copy in %s", ns)
	g.Expect(cp.Data).To(Equal(map[string]string{functionconfig.DockerfileKey: src.Data[functionconfig.DockerfileKey]}))
	g.Expect(cp.Labels).To(And(
		HaveKeyWithValue(functionconfig.ConfigLabel, functionconfig.ConfigLabelRuntime),
		HaveKeyWithValue(functionconfig.RuntimeLabel, string(rt)),
		HaveKeyWithValue(serverlessv1alpha2.LabelManagedBy, serverlessv1alpha2.ManagedByFunctionController)))
	g.Expect(cp.OwnerReferences).To(BeEmpty(), "shared by the namespace's Functions")
}
