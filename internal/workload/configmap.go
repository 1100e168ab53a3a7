package workload

import (
	corev1 "k8s.io/api/core/v1"
)

// SourceConfigMap is the ConfigMap that brings an inline Function's handler and dependency
// file into the Pod (mounted read-only at runtime.DefaultSourceDir). The keys are the file
// names the runtime expects (Runtime.HandlerFile, Runtime.DepsFile); the dependency key is left
// out when the Function has no dependencies. It returns nil for Git sources, which the init
// container fetches instead.
func SourceConfigMap(p Params) (*corev1.ConfigMap, error) {
	fn := p.Function
	inline := fn.Spec.Source.Inline
	if inline == nil {
		return nil, nil
	}
	cm := &corev1.ConfigMap{
		TypeMeta:   metaType("v1", "ConfigMap"),
		ObjectMeta: objectMeta(fn, SourceConfigMapName(fn), ResourceSource),
		Data:       map[string]string{p.Runtime.HandlerFile: inline.Source},
	}
	if inline.Dependencies != "" {
		cm.Data[p.Runtime.DepsFile] = inline.Dependencies
	}
	if err := setHash(cm); err != nil {
		return nil, err
	}
	return cm, nil
}

// SourceChecksum identifies the Function's code: the inline source and dependencies, or the
// repository, commit and folder of a Git source.
func SourceChecksum(p Params) string {
	src := p.Function.Spec.Source
	if src.Inline != nil {
		return shortHash([]byte("inline"), []byte(src.Inline.Source), []byte(src.Inline.Dependencies))
	}
	if git := src.GitRepository; git != nil {
		return shortHash([]byte("git"), []byte(git.URL), []byte(p.Commit), []byte(git.BaseDir))
	}
	return ""
}
