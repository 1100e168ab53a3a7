package build

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"path"
	"strings"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
)

// hashLength is the number of hex digits of ContentHash and of the source hash.
const hashLength = 16

// ContentHash returns the image tag of a Function: a hash over what ends up in its image,
// which is the runtime, the runtime image the build starts from, and the code: the inline
// source and dependencies, or the Git repository's URL, the resolved commit and the base
// directory. Nothing else enters it (not the Function's name, replicas, env, resources or
// Git credentials), so the controller rebuilds exactly when the tag changes. commit is
// ignored for inline sources.
//
// The tag is 16 lowercase hex digits and stable across releases of this package: changing
// the encoding would rebuild every Function.
func ContentHash(fn *serverlessv1alpha2.Function, runtimeImage string, commit string) string {
	h := sha256.New()
	field(h, "runtime", string(fn.Spec.Runtime))
	field(h, "runtimeImage", runtimeImage)
	switch src := fn.Spec.Source; {
	case src.Inline != nil:
		field(h, "inline.source", src.Inline.Source)
		field(h, "inline.dependencies", src.Inline.Dependencies)
	case src.GitRepository != nil:
		field(h, "git.url", src.GitRepository.URL)
		field(h, "git.commit", commit)
		field(h, "git.baseDir", cleanBaseDir(src.GitRepository.BaseDir))
	}
	return hex.EncodeToString(h.Sum(nil))[:hashLength]
}

// sourceHash is a hash over the content of the build input ConfigMap.
func sourceHash(files map[string]string, keys ...string) string {
	h := sha256.New()
	for _, k := range keys {
		field(h, k, files[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:hashLength]
}

// field writes a named value so that no two different sequences of fields hash alike:
// every name and value is preceded by its length.
func field(h hash.Hash, name, value string) {
	var n [8]byte
	for _, s := range []string{name, value} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
}

// cleanBaseDir makes equivalent spellings of a repository folder equal: "", "/", "." and
// "./" are the repository's root, "/fn/", "fn" and "./fn" the same folder.
func cleanBaseDir(dir string) string {
	return strings.Trim(path.Clean("/"+dir), "/")
}
