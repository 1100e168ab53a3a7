package function

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/depcheck"
	"github.com/kyma-serverless/serverless/internal/gitsource"
	"github.com/kyma-serverless/serverless/internal/runtime"
	"github.com/kyma-serverless/serverless/internal/workload"
)

// gitListTimeout bounds one listing of a repository's references.
const gitListTimeout = 30 * time.Second

// pollState is the last resolution of a Git Function's reference.
type pollState struct {
	uid                          types.UID
	url, reference, commit, name string
	at                           time.Time
}

// loadConfig reads the controller's configuration. When it is missing or invalid, the
// Function reports it and nothing else is touched: its workload keeps running as it is.
func (r *Reconciler) loadConfig(ctx context.Context, s *scope) error {
	cfg, err := r.Config.Current(ctx)
	if err == nil {
		s.cfg = cfg
		return nil
	}
	ce, ok := AsConfigError(err)
	if !ok {
		return err // transient: retried with backoff
	}
	reason := ReasonConfigInvalid
	if ce.Missing {
		reason = ReasonConfigMissing
	}
	s.setConfigured(metav1.ConditionFalse, reason, ce.Error())
	s.warn(reason, "LoadConfiguration", ce.Error())
	s.final = true
	return errStop
}

// checkRuntime looks the Function's runtime up and prepares the workload parameters.
func (r *Reconciler) checkRuntime(_ context.Context, s *scope) error {
	rt, ok := runtime.Lookup(string(s.fn.Spec.Runtime))
	if !ok {
		msg := fmt.Sprintf("runtime %q is not supported; use one of %s", s.fn.Spec.Runtime, strings.Join(runtime.Names(), ", "))
		s.setConfigured(metav1.ConditionFalse, serverlessv1alpha2.ReasonInvalidFunctionSpec, msg)
		s.warn(serverlessv1alpha2.ReasonInvalidFunctionSpec, "CheckRuntime", msg)
		s.final = true
		return errStop
	}
	s.rt = rt
	s.params = workload.Params{Function: s.fn, Config: s.cfg, Runtime: rt}
	if img, err := workload.RuntimeImage(s.params); err == nil {
		s.runtimeImage = img
	}
	return nil
}

// checkDependencies refuses a malformed dependency file (the Deployment is not changed) and
// notes unpinned dependencies, which only warn.
func (r *Reconciler) checkDependencies(_ context.Context, s *scope) error {
	inline := s.fn.Spec.Source.Inline
	if inline == nil {
		return nil
	}
	findings, err := depcheck.Check(s.rt.Name, inline.Dependencies)
	if err != nil {
		msg := fmt.Sprintf("invalid dependencies: %v", err)
		s.setConfigured(metav1.ConditionFalse, serverlessv1alpha2.ReasonInvalidFunctionSpec, msg)
		s.warn(serverlessv1alpha2.ReasonInvalidFunctionSpec, "CheckDependencies", msg)
		s.final = true
		return errStop
	}
	if len(findings) > 0 {
		msg := depcheck.Summary(findings)
		s.setConfigured(metav1.ConditionTrue, serverlessv1alpha2.ReasonUnpinnedDependencies, msg)
		s.warn(serverlessv1alpha2.ReasonUnpinnedDependencies, "CheckDependencies", msg)
	}
	return nil
}

// resolveGitSource resolves a Git Function's reference to a commit, at most once per
// requeueDuration unless the URL or the reference changed.
func (r *Reconciler) resolveGitSource(ctx context.Context, s *scope) error {
	git := s.fn.Spec.Source.GitRepository
	if git == nil {
		return nil
	}
	key := client.ObjectKeyFromObject(s.fn)
	interval := s.cfg.RequeueDuration.Duration
	if v, ok := r.polled.Load(key); ok {
		p := v.(pollState)
		if p.uid == s.fn.UID && p.url == git.URL && p.reference == git.Reference {
			if age := r.now().Sub(p.at); age < interval {
				s.commit, s.reference, s.gitResolved = p.commit, p.name, true
				s.params.Commit = p.commit
				s.requeue(interval - age)
				return nil
			}
		}
	}

	var auth transport.AuthMethod
	if git.Auth != nil {
		secret := &corev1.Secret{}
		err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: s.fn.Namespace, Name: git.Auth.SecretName}, secret)
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("read Git auth Secret: %w", err)
		}
		if err != nil {
			return s.gitFailed(serverlessv1alpha2.ReasonGitAuthorizationFailed,
				fmt.Sprintf("Git auth Secret %q not found in namespace %s", git.Auth.SecretName, s.fn.Namespace), interval)
		}
		if auth, err = gitsource.AuthFromSecret(git.Auth.Type, secret.Data); err != nil {
			return s.gitFailed(serverlessv1alpha2.ReasonGitAuthorizationFailed,
				fmt.Sprintf("Git auth Secret %q: %v", git.Auth.SecretName, err), interval)
		}
	}

	resolve := r.ResolveGit
	if resolve == nil {
		resolve = gitsource.Resolve
	}
	lctx, cancel := context.WithTimeout(ctx, gitListTimeout)
	defer cancel()
	res, err := resolve(lctx, git.URL, git.Reference, auth)
	if err != nil {
		reason := serverlessv1alpha2.ReasonSourceUpdateFailed
		if gitsource.IsAuthError(err) {
			reason = serverlessv1alpha2.ReasonGitAuthorizationFailed
		}
		// retry sooner than the poll interval while the repository cannot be read
		return s.gitFailed(reason, err.Error(), min(interval, time.Minute))
	}
	if p, ok := r.polled.Load(key); ok && p.(pollState).commit != res.Commit {
		log.FromContext(ctx).Info("New commit", "reference", git.Reference, "commit", res.Commit)
	}
	r.polled.Store(key, pollState{uid: s.fn.UID, url: git.URL, reference: git.Reference, commit: res.Commit, name: res.Ref, at: r.now()})
	s.commit, s.reference, s.gitResolved = res.Commit, res.Ref, true
	s.params.Commit = res.Commit
	s.requeue(interval)
	return nil
}

func (s *scope) gitFailed(reason, message string, retry time.Duration) error {
	s.setConfigured(metav1.ConditionFalse, reason, message)
	s.warn(reason, "ResolveGitReference", message)
	s.requeue(retry)
	return errStop
}

// acceptConfiguration sets ConfigurationReady=True unless an earlier step already said why
// it is True (unpinned dependencies), and notes a deprecated runtime.
func (r *Reconciler) acceptConfiguration(_ context.Context, s *scope) error {
	if s.configured == nil {
		msg := "the Function's inline source is accepted"
		if s.gitResolved {
			msg = fmt.Sprintf("reference %q of %s resolved to commit %s", s.fn.Spec.Source.GitRepository.Reference, s.fn.Spec.Source.GitRepository.URL, s.commit)
		}
		s.setConfigured(metav1.ConditionTrue, serverlessv1alpha2.ReasonSourceUpdated, msg)
	}
	if s.rt.Deprecated {
		s.configured.Message += "; " + deprecationNote(s.rt)
	}
	return nil
}

// deprecationNote tells that a runtime is deprecated and which runtimes of its language are not.
func deprecationNote(rt runtime.Runtime) string {
	var current []string
	for _, name := range runtime.Names() {
		if other, _ := runtime.Lookup(name); other.Language == rt.Language && !other.Deprecated {
			current = append(current, name)
		}
	}
	note := fmt.Sprintf("runtime %s is deprecated", rt.Name)
	if len(current) > 0 {
		note += ": move the Function to " + strings.Join(current, " or ")
	}
	return note
}
