package perf

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
	"github.com/kyma-serverless/serverless/test/cluster"
)

const buildlessImagePrefix = "europe-docker.pkg.dev/kyma-project/prod/function-runtime-"

// TestBenchModeSwitch moves Functions from build mode to buildless mode and
// compares the time with a tight client loop doing the same in-place Pod
// template update (the Functions' own build-mode and buildless templates) on
// as many Deployments with a Service each, with the same concurrency.
// Between runs both go back to the build-mode template, untimed.
func TestBenchModeSwitch(t *testing.T) {
	requireBench(t)
	n := envInt("BENCH_FUNCTIONS", defaultFunctions)
	namespaces := envInt("BENCH_NAMESPACES", defaultNamespaces)
	rounds := envInt("BENCH_SWITCH_RUNS", defaultSwitchRuns)
	ctx := context.Background()

	bench := startFunctionBench(t, cluster.Options{PodsPerNode: 4000, AuditLog: true}, buildModeConfig, createBuildModeObjects,
		"--max-concurrent-reconciles", fmt.Sprint(createWorkers), "--kube-api-qps", "1000", "--kube-api-burst", "2000")
	k8s, lc := bench.client, bench.cluster

	// Untimed: build-mode Functions, built and running.
	setup := time.Now()
	must(t, createFunctions(ctx, k8s, n, namespaces))
	must(t, waitAllRunning(ctx, k8s, n, 30*time.Minute))
	must(t, waitDeployments(ctx, k8s, "bench-", n, builtImage))
	t.Logf("setup: %d build-mode Functions running after %s", n, round(time.Since(setup)))
	buildTemplates, err := podTemplates(ctx, k8s, "bench-")
	must(t, err)
	var buildlessTemplates map[string]corev1.PodTemplateSpec

	var ours, oursWritten, oursClean []time.Duration
	var requests []map[string]int
	for run := 0; run < rounds; run++ {
		if run > 0 {
			back := time.Now()
			must(t, setMode(ctx, k8s, functionconfig.ModeBuild))
			must(t, waitDeployments(ctx, k8s, "bench-", n, builtImage))
			t.Logf("run %d: back in build mode after %s", run+1, round(time.Since(back)))
		}
		before := bench.requests(t)
		start := time.Now()
		must(t, setMode(ctx, k8s, functionconfig.ModeBuildless))
		written := watchTemplates(ctx, k8s, "bench-", n, buildlessImagePrefix)
		must(t, waitDeployments(ctx, k8s, "bench-", n, buildlessImage))
		ours = append(ours, time.Since(start))
		oursWritten = append(oursWritten, <-written)
		// Untimed: the build leftovers go once the Pods they served are replaced.
		must(t, waitNoLeftovers(ctx, k8s, "bench-"))
		if buildlessTemplates == nil {
			buildlessTemplates, err = podTemplates(ctx, k8s, "bench-")
			must(t, err)
		}
		oursClean = append(oursClean, time.Since(start))
		requests = append(requests, diff(bench.requests(t), before))
		t.Logf("run %d: switched in %s, templates written after %s, leftovers gone after %s, controller requests %v",
			run+1, round(ours[run]), round(oursWritten[run]), round(oursClean[run]), requests[run])
	}

	// Baseline in the same run: the same template change, build-mode Pod
	// template to buildless, written by a tight loop onto as many
	// Deployments shaped like the Functions' (each with a Service), with the
	// same concurrency. Between runs they go back untimed.
	must(t, createPlainDeployments(ctx, k8s, n, namespaces, buildTemplates))
	must(t, waitDeployments(ctx, k8s, "plain-", n, builtImage))
	var loop, loopWritten []time.Duration
	for run := 0; run < rounds; run++ {
		if run > 0 {
			must(t, updatePlainDeployments(ctx, k8s, n, namespaces, buildTemplates))
			must(t, waitDeployments(ctx, k8s, "plain-", n, builtImage))
		}
		start := time.Now()
		written := watchTemplates(ctx, k8s, "plain-", n, buildlessImagePrefix)
		must(t, updatePlainDeployments(ctx, k8s, n, namespaces, buildlessTemplates))
		must(t, waitDeployments(ctx, k8s, "plain-", n, buildlessImage))
		loop = append(loop, time.Since(start))
		loopWritten = append(loopWritten, <-written)
	}

	w := os.Stdout
	fmt.Fprintf(w, "\n=== Mode switch benchmark (local cluster: kube-apiserver v1.37.2 + kwok; kube-controller-manager/scheduler client QPS %d; %d workers; %d runs) ===\n",
		lc.ControlPlaneQPS(), createWorkers, rounds)
	comparison{
		name:        fmt.Sprintf("build -> buildless, %d Functions in %d namespaces, until every Deployment rolled and Available", n, namespaces),
		ours:        ours,
		theirs:      loop,
		oursLabel:   "function-controller",
		theirsLabel: "tight client loop",
		target:      1.5,
	}.print(w)
	fmt.Fprintf(w, "  all Pod templates written after: controller median %s %s, loop median %s %s\n",
		round(median(oursWritten)), runs(oursWritten), round(median(loopWritten)), runs(loopWritten))
	fmt.Fprintf(w, "  build leftovers (Jobs, build ConfigMaps, namespace copies) gone after: median %s %s\n",
		round(median(oursClean)), runs(oursClean))
	fmt.Fprintf(w, "  controller requests per switch: %s (the loop: one get and one update per Deployment)\n", perFunction(requests, n))
}

// defaultSwitchRuns is how many times the switch runs; the figures are medians.
const defaultSwitchRuns = 3

func builtImage(d *appsv1.Deployment) bool {
	return !strings.HasPrefix(d.Spec.Template.Spec.Containers[0].Image, buildlessImagePrefix)
}

func buildlessImage(d *appsv1.Deployment) bool {
	return strings.HasPrefix(d.Spec.Template.Spec.Containers[0].Image, buildlessImagePrefix)
}

// setMode writes the controller's mode into its configuration ConfigMap, as
// the Serverless operator does.
func setMode(ctx context.Context, k8s client.Client, mode functionconfig.Mode) error {
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: moduleNamespace, Name: functionconfig.ConfigMapName}, cm); err != nil {
		return err
	}
	cm.Data[functionconfig.ConfigMapKey] = strings.Replace(buildModeConfig, "mode: build\n", "mode: "+string(mode)+"\n", 1)
	return k8s.Update(ctx, cm)
}

// waitNoLeftovers waits until no Job and no build-mode object of the
// controller is left in namespaces with the prefix.
func waitNoLeftovers(ctx context.Context, k8s client.Client, nsPrefix string) error {
	return wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 30*time.Minute, true, func(ctx context.Context) (bool, error) {
		jobs := &batchv1.JobList{}
		if err := k8s.List(ctx, jobs); err != nil {
			return false, err
		}
		for i := range jobs.Items {
			if strings.HasPrefix(jobs.Items[i].Namespace, nsPrefix) {
				return false, nil
			}
		}
		cms := &corev1.ConfigMapList{}
		if err := k8s.List(ctx, cms); err != nil {
			return false, err
		}
		for i := range cms.Items {
			cm := &cms.Items[i]
			if strings.HasPrefix(cm.Namespace, nsPrefix) && (strings.Contains(cm.Name, "-build-src-") || strings.HasPrefix(cm.Name, "dockerfile-")) {
				return false, nil
			}
		}
		return true, nil
	})
}

// perFunction prints the median count of each verb per Function.
func perFunction(requests []map[string]int, n int) string {
	verbs := map[string][]time.Duration{}
	for _, r := range requests {
		for v, c := range r {
			verbs[v] = append(verbs[v], time.Duration(c))
		}
	}
	keys := make([]string, 0, len(verbs))
	for v := range verbs {
		keys = append(keys, v)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	all := 0.0
	for _, v := range keys {
		per := float64(median(verbs[v])) / float64(n)
		all += per
		parts = append(parts, fmt.Sprintf("%s %.2f", v, per))
	}
	return fmt.Sprintf("%.2f per Function (%s)", all, strings.Join(parts, ", "))
}

// buildModeConfig is the Function controller configuration in build mode,
// with enough build slots that the untimed setup does not dominate the run.
var buildModeConfig = strings.Replace(benchConfig, "mode: buildless\n", "mode: build\n", 1) + `build:
  executorImage: gcr.io/kaniko-project/executor:v1.23.2
  maxSimultaneousJobs: 200
  registrySecretName: bench-registry
  dockerfileConfigMapPrefix: dockerfile-
`

func createBuildModeObjects(ctx context.Context, k8s client.Client) error {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: moduleNamespace, Name: "bench-registry"},
		Type:       corev1.SecretTypeDockerConfigJson,
		StringData: map[string]string{
			functionconfig.RegistrySecretDockerConfigKey: `{"auths":{"registry.bench.local":{"auth":"dXNlcjpwYXNz"}}}`,
			functionconfig.RegistrySecretPushAddressKey:  "registry.bench.local",
			functionconfig.RegistrySecretPullAddressKey:  "registry.bench.local",
		},
	}
	if err := k8s.Create(ctx, secret); err != nil {
		return fmt.Errorf("create registry Secret: %w", err)
	}
	for _, rt := range []string{"nodejs20", "nodejs22", "nodejs24", "python312"} {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: moduleNamespace, Name: "dockerfile-" + rt, Labels: map[string]string{
				functionconfig.ConfigLabel: functionconfig.ConfigLabelRuntime, functionconfig.RuntimeLabel: rt,
			}},
			Data: map[string]string{functionconfig.DockerfileKey: "ARG base_image\nFROM ${base_image}\nCOPY ./src /usr/src/app/function\n"},
		}
		if err := k8s.Create(ctx, cm); err != nil {
			return fmt.Errorf("create Dockerfile ConfigMap: %w", err)
		}
	}
	return nil
}

// podTemplates returns the Pod templates of the Deployments in namespaces
// with the prefix, by the index in the Deployment's name.
func podTemplates(ctx context.Context, k8s client.Client, nsPrefix string) (map[string]corev1.PodTemplateSpec, error) {
	list := &appsv1.DeploymentList{}
	if err := k8s.List(ctx, list); err != nil {
		return nil, err
	}
	out := map[string]corev1.PodTemplateSpec{}
	for i := range list.Items {
		if d := &list.Items[i]; strings.HasPrefix(d.Namespace, nsPrefix) {
			out[benchIndex(d.Name)] = d.Spec.Template
		}
	}
	return out, nil
}

// benchIndex is the four-digit index in fn-NNNN or plain-NNNN.
func benchIndex(name string) string { return name[len(name)-4:] }

// plainDeployment is Deployment i of the baseline with a copy of template:
// its own selector, everything else as the Function's.
func plainDeployment(i, namespaces int, template corev1.PodTemplateSpec) *appsv1.Deployment {
	name := fmt.Sprintf("plain-%04d", i)
	labels := map[string]string{"app": name}
	one := int32(1)
	zero := intstr.FromInt32(0)
	surge := intstr.FromInt32(1)
	template = *template.DeepCopy()
	template.Labels = labels
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: fmt.Sprintf("plain-%02d", i%namespaces)},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxUnavailable: &zero, MaxSurge: &surge,
			}},
			Template: template,
		},
	}
}

func createPlainDeployments(ctx context.Context, k8s client.Client, n, namespaces int, templates map[string]corev1.PodTemplateSpec) error {
	for i := 0; i < namespaces; i++ {
		ns := fmt.Sprintf("plain-%02d", i)
		if err := client.IgnoreAlreadyExists(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})); err != nil {
			return err
		}
		// the build-mode template runs as this ServiceAccount
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: serverlessv1alpha2.FunctionServiceAccount}}
		if err := client.IgnoreAlreadyExists(k8s.Create(ctx, sa)); err != nil {
			return err
		}
	}
	return inParallel(n, func(i int) error {
		d := plainDeployment(i, namespaces, templates[fmt.Sprintf("%04d", i)])
		if err := k8s.Create(ctx, d); err != nil {
			return err
		}
		return k8s.Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: d.Namespace, Name: d.Name},
			Spec: corev1.ServiceSpec{
				Selector: d.Spec.Selector.MatchLabels,
				Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
			},
		})
	})
}

// updatePlainDeployments is the limit: one read and one write per
// Deployment, nothing else.
func updatePlainDeployments(ctx context.Context, k8s client.Client, n, namespaces int, templates map[string]corev1.PodTemplateSpec) error {
	return inParallel(n, func(i int) error {
		d := &appsv1.Deployment{}
		want := plainDeployment(i, namespaces, templates[fmt.Sprintf("%04d", i)])
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(want), d); err != nil {
			return err
		}
		d.Spec.Template = want.Spec.Template
		return k8s.Update(ctx, d)
	})
}

func inParallel(n int, do func(i int) error) error {
	jobs := make(chan int)
	errs := make(chan error, createWorkers)
	var wg sync.WaitGroup
	for w := 0; w < createWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := do(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	return <-errs
}

// watchTemplates reports the time by which n Deployments in namespaces with
// the prefix carry an image with imagePrefix: when the writer was done.
func watchTemplates(ctx context.Context, k8s client.Client, nsPrefix string, n int, imagePrefix string) <-chan time.Duration {
	out := make(chan time.Duration, 1)
	origin := time.Now()
	go func() {
		_ = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Minute, true, func(ctx context.Context) (bool, error) {
			list := &appsv1.DeploymentList{}
			if err := k8s.List(ctx, list); err != nil {
				return false, nil //nolint:nilerr // retried until the timeout
			}
			done := 0
			for i := range list.Items {
				d := &list.Items[i]
				if strings.HasPrefix(d.Namespace, nsPrefix) && strings.HasPrefix(d.Spec.Template.Spec.Containers[0].Image, imagePrefix) {
					done++
				}
			}
			return done >= n, nil
		})
		out <- time.Since(origin)
	}()
	return out
}

// waitDeployments waits until n Deployments in namespaces with the prefix
// satisfy want and are fully rolled out and Available.
func waitDeployments(ctx context.Context, k8s client.Client, nsPrefix string, n int, want func(*appsv1.Deployment) bool) error {
	return wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 30*time.Minute, true, func(ctx context.Context) (bool, error) {
		list := &appsv1.DeploymentList{}
		if err := k8s.List(ctx, list); err != nil {
			return false, err
		}
		done := 0
		for i := range list.Items {
			d := &list.Items[i]
			if !strings.HasPrefix(d.Namespace, nsPrefix) || !want(d) {
				continue
			}
			desired := int32(1)
			if d.Spec.Replicas != nil {
				desired = *d.Spec.Replicas
			}
			if d.Status.ObservedGeneration == d.Generation && d.Status.UpdatedReplicas == desired &&
				d.Status.AvailableReplicas == desired && d.Status.Replicas == desired {
				done++
			}
		}
		return done >= n, nil
	})
}
