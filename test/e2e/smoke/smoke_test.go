package smoke

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var _ = Describe("Local cluster", func() {
	It("makes a 3-replica Deployment Available on kwok nodes", func(ctx SpecContext) {
		ns := newNamespace(ctx, nil)
		labels := map[string]string{"app": "web"}
		dep := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](3),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
				},
			},
		}
		Expect(k8sClient.Create(ctx, dep)).To(Succeed())

		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(dep), dep)).To(Succeed())
			g.Expect(dep.Status.AvailableReplicas).To(Equal(int32(3)))
			g.Expect(deploymentCondition(dep, appsv1.DeploymentAvailable)).To(Equal(corev1.ConditionTrue))
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())

		var pods corev1.PodList
		Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels(labels))).To(Succeed())
		Expect(pods.Items).To(HaveLen(3))
		for _, p := range pods.Items {
			Expect(p.Spec.NodeName).To(HavePrefix("kwok-node-"), "scheduled by kube-scheduler onto a kwok node")
			Expect(p.Status.Phase).To(Equal(corev1.PodRunning))
		}
	}, SpecTimeout(2*time.Minute))

	It("runs a Job to completion", func(ctx SpecContext) {
		ns := newNamespace(ctx, nil)
		job := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "once", Namespace: ns},
			Spec: batchv1.JobSpec{
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"true"}}},
				}},
			},
		}
		Expect(k8sClient.Create(ctx, job)).To(Succeed())

		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(job), job)).To(Succeed())
			g.Expect(job.Status.Succeeded).To(Equal(int32(1)))
			g.Expect(jobCondition(job, batchv1.JobComplete)).To(Equal(corev1.ConditionTrue))
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
	}, SpecTimeout(2*time.Minute))

	It("enforces PodSecurity restricted in a labelled namespace", func(ctx SpecContext) {
		ns := newNamespace(ctx, map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})

		violating := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "privileged", Namespace: ns},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "main", Image: "busybox",
				SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
			}}},
		}
		err := k8sClient.Create(ctx, violating)
		Expect(err).To(HaveOccurred(), "a privileged Pod must be refused")
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "unexpected error: %v", err)
		Expect(err.Error()).To(And(ContainSubstring("violates PodSecurity"), ContainSubstring("restricted")))

		compliant := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "restricted", Namespace: ns},
			Spec: corev1.PodSpec{
				SecurityContext: &corev1.PodSecurityContext{
					RunAsNonRoot:   ptr.To(true),
					RunAsUser:      ptr.To[int64](1000),
					SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				},
				Containers: []corev1.Container{{
					Name: "main", Image: "busybox",
					SecurityContext: &corev1.SecurityContext{
						AllowPrivilegeEscalation: ptr.To(false),
						Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
					},
				}},
			},
		}
		Expect(k8sClient.Create(ctx, compliant)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(compliant), compliant)).To(Succeed())
			g.Expect(compliant.Status.Phase).To(Equal(corev1.PodRunning))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
	}, SpecTimeout(time.Minute))

	It("denies a ServiceAccount without RBAC permissions", func(ctx SpecContext) {
		ns := newNamespace(ctx, nil)
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "no-permissions", Namespace: ns}}
		Expect(k8sClient.Create(ctx, sa)).To(Succeed())
		username := "system:serviceaccount:" + ns + ":" + sa.Name

		By("impersonating the ServiceAccount")
		impersonating := rest.CopyConfig(restConfig)
		impersonating.Impersonate = rest.ImpersonationConfig{UserName: username}
		impClient, err := client.New(impersonating, client.Options{})
		Expect(err).NotTo(HaveOccurred())
		err = impClient.List(ctx, &corev1.PodList{}, client.InNamespace(ns))
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "unexpected error: %v", err)
		Expect(err.Error()).To(ContainSubstring(username))

		By("authenticating with a token from the TokenRequest API")
		tr, err := clientset.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		tokenConfig := rest.AnonymousClientConfig(restConfig)
		tokenConfig.BearerToken = tr.Status.Token
		saClient, err := kubernetes.NewForConfig(tokenConfig)
		Expect(err).NotTo(HaveOccurred())
		_, err = saClient.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
		// Forbidden rather than Unauthorized: the token is valid, the permission is missing.
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "unexpected error: %v", err)

		By("granting a Role, the same token is allowed")
		role := &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "read-secrets", Namespace: ns},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list"}}},
		}
		Expect(k8sClient.Create(ctx, role)).To(Succeed())
		binding := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "read-secrets", Namespace: ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa.Name, Namespace: ns}},
		}
		Expect(k8sClient.Create(ctx, binding)).To(Succeed())
		Eventually(func() error {
			_, err := saClient.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
			return err
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
	}, SpecTimeout(time.Minute))

	It("reports the release version, not a development build", func(ctx SpecContext) {
		v, err := clientset.Discovery().ServerVersion()
		Expect(err).NotTo(HaveOccurred())
		Expect(v.GitVersion).To(HavePrefix("v1."))
		Expect(strings.Contains(v.GitVersion, "master")).To(BeFalse(), "version %q", v.GitVersion)
	}, SpecTimeout(30*time.Second))
})

func deploymentCondition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) corev1.ConditionStatus {
	for _, c := range d.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

func jobCondition(j *batchv1.Job, t batchv1.JobConditionType) corev1.ConditionStatus {
	for _, c := range j.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}
