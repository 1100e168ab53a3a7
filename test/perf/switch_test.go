package perf

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kyma-serverless/serverless/internal/functionconfig"
	"github.com/kyma-serverless/serverless/test/cluster"
)

const buildlessImagePrefix = "europe-docker.pkg.dev/kyma-project/prod/function-runtime-"

// TestBenchModeSwitch moves Functions from build mode to buildless mode and
// compares the time with a tight client loop doing the same in-place Pod
// template update on as many plain Deployments, with the same concurrency.
func TestBenchModeSwitch(t *testing.T) {
	requireBench(t)
	n := envInt("BENCH_FUNCTIONS", defaultFunctions)
	namespaces := envInt("BENCH_NAMESPACES", defaultNamespaces)
	ctx := context.Background()

	bench := startFunctionBench(t, cluster.Options{PodsPerNode: 3000}, buildModeConfig, createBuildModeObjects,
		"--max-concurrent-reconciles", fmt.Sprint(createWorkers), "--kube-api-qps", "1000", "--kube-api-burst", "2000")
	k8s, lc := bench.client, bench.cluster

	// Untimed: build-mode Functions, built and running.
	setup := time.Now()
	must(t, createFunctions(ctx, k8s, n, namespaces))
	must(t, waitAllRunning(ctx, k8s, n, 30*time.Minute))
	must(t, waitDeployments(ctx, k8s, "bench-", n, func(d *appsv1.Deployment) bool {
		return !strings.HasPrefix(d.Spec.Template.Spec.Containers[0].Image, buildlessImagePrefix)
	}))
	t.Logf("setup: %d build-mode Functions running after %s", n, round(time.Since(setup)))

	// Timed: the switch to buildless, until every Deployment rolled and is Available.
	cm := &corev1.ConfigMap{}
	must(t, k8s.Get(ctx, client.ObjectKey{Namespace: moduleNamespace, Name: functionconfig.ConfigMapName}, cm))
	cm.Data[functionconfig.ConfigMapKey] = strings.Replace(buildModeConfig, "mode: build\n", "mode: buildless\n", 1)
	start := time.Now()
	must(t, k8s.Update(ctx, cm))
	written := watchTemplates(ctx, k8s, "bench-", n, buildlessImagePrefix)
	must(t, waitDeployments(ctx, k8s, "bench-", n, func(d *appsv1.Deployment) bool {
		return strings.HasPrefix(d.Spec.Template.Spec.Containers[0].Image, buildlessImagePrefix)
	}))
	ours := time.Since(start)
	oursWritten := <-written

	// Baseline in the same run: plain Deployments, same count and concurrency.
	must(t, createPlainDeployments(ctx, k8s, n, namespaces))
	must(t, waitDeployments(ctx, k8s, "plain-", n, func(d *appsv1.Deployment) bool { return true }))
	start = time.Now()
	baselineWritten := watchTemplates(ctx, k8s, "plain-", n, "registry.test/after")
	must(t, updatePlainDeployments(ctx, k8s, n, namespaces))
	must(t, waitDeployments(ctx, k8s, "plain-", n, func(d *appsv1.Deployment) bool {
		return d.Spec.Template.Spec.Containers[0].Image == "registry.test/after:1"
	}))
	baseline := time.Since(start)
	baselineTemplates := <-baselineWritten

	w := os.Stdout
	fmt.Fprintf(w, "\n=== Mode switch benchmark (local cluster: kube-apiserver v1.37.2 + kwok; kube-controller-manager/scheduler client QPS %d; %d workers) ===\n",
		lc.ControlPlaneQPS(), createWorkers)
	fmt.Fprintf(w, "build -> buildless, %d Functions, until all Deployments rolled and Available: %s (all templates written after %s)\n",
		n, round(ours), round(oursWritten))
	fmt.Fprintf(w, "tight client loop, same template update on %d Deployments:                  %s (all templates written after %s)\n",
		n, round(baseline), round(baselineTemplates))
	ratio := float64(ours) / float64(baseline)
	verdict := "meets"
	if ratio > 1.5 {
		verdict = "MISSES"
	}
	fmt.Fprintf(w, "ratio %.2f (target <= 1.50: %s)\n", ratio, verdict)
}

// buildModeConfig is the Function controller configuration in build mode,
// with enough build slots that the untimed setup does not dominate the run.
const buildModeConfig = `mode: build
logLevel: info
requeueDuration: 5m
runtimeImages:
  nodejs20: europe-docker.pkg.dev/kyma-project/prod/function-runtime-nodejs20:main
  nodejs22: europe-docker.pkg.dev/kyma-project/prod/function-runtime-nodejs22:main
  nodejs24: europe-docker.pkg.dev/kyma-project/prod/function-runtime-nodejs24:main
  python312: europe-docker.pkg.dev/kyma-project/prod/function-runtime-python312:main
gitFetcherImage: europe-docker.pkg.dev/kyma-project/prod/function-git-fetcher:main
build:
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

func plainDeployment(i, namespaces int) *appsv1.Deployment {
	labels := map[string]string{"app": fmt.Sprintf("plain-%04d", i)}
	one := int32(1)
	zero := intstr.FromInt32(0)
	surge := intstr.FromInt32(1)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("plain-%04d", i), Namespace: fmt.Sprintf("plain-%02d", i%namespaces)},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxUnavailable: &zero, MaxSurge: &surge,
			}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "function", Image: "registry.test/before:1"}}},
			},
		},
	}
}

func createPlainDeployments(ctx context.Context, k8s client.Client, n, namespaces int) error {
	for i := 0; i < namespaces; i++ {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("plain-%02d", i)}}
		if err := client.IgnoreAlreadyExists(k8s.Create(ctx, ns)); err != nil {
			return err
		}
	}
	return inParallel(n, func(i int) error { return k8s.Create(ctx, plainDeployment(i, namespaces)) })
}

// updatePlainDeployments is the limit: one read and one write per
// Deployment, nothing else.
func updatePlainDeployments(ctx context.Context, k8s client.Client, n, namespaces int) error {
	return inParallel(n, func(i int) error {
		d := &appsv1.Deployment{}
		want := plainDeployment(i, namespaces)
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(want), d); err != nil {
			return err
		}
		d.Spec.Template.Spec.Containers[0].Image = "registry.test/after:1"
		d.Spec.Template.Spec.Containers[0].Command = []string{"/bin/sh", "-c", "exec server"}
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
