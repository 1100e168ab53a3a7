package cluster

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func parseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPKI(t *testing.T) {
	p, err := newPKI(net.ParseIP("10.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(parseCert(t, p.CA.CertPEM))

	serving := parseCert(t, p.Serving.CertPEM)
	for _, host := range []string{"127.0.0.1", "10.0.0.1", "localhost", "kubernetes.default.svc"} {
		if _, err := serving.Verify(x509.VerifyOptions{Roots: roots, DNSName: host}); err != nil {
			t.Errorf("serving cert for %s: %v", host, err)
		}
	}

	admin := parseCert(t, p.Admin.CertPEM)
	if _, err := admin.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("admin cert: %v", err)
	}
	if len(admin.Subject.Organization) != 1 || admin.Subject.Organization[0] != "system:masters" {
		t.Fatalf("admin cert groups = %v", admin.Subject.Organization)
	}
	if kcm := parseCert(t, p.KCM.CertPEM); kcm.Subject.CommonName != "system:kube-controller-manager" || len(kcm.Subject.Organization) != 0 {
		t.Fatalf("controller-manager identity = %v", kcm.Subject)
	}

	files, err := p.write(filepath.Join(t.TempDir(), "pki"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(files.SAPub)
	if err != nil || !strings.Contains(string(pub), "PUBLIC KEY") {
		t.Fatalf("ServiceAccount public key: %v %q", err, pub)
	}
}

func TestCollectStages(t *testing.T) {
	mod := t.TempDir()
	write := func(rel, content string) {
		path := filepath.Join(mod, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("stage/node/kustomization.yaml", "resources: [a.yaml]\n")
	write("stage/node/a.yaml", "kind: Stage\nmetadata:\n  name: a\n")
	write("stage/pod/b.yaml", "---\nkind: Stage\nmetadata:\n  name: b\n")
	got, err := collectStages(mod, "stage/node", "stage/pod")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "resources:") || strings.Count(got, "kind: Stage") != 2 || strings.Count(got, "\n---\n") != 1 {
		t.Fatalf("unexpected stages:\n%s", got)
	}
	if _, err := collectStages(mod, "stage/missing"); err == nil {
		t.Fatal("expected an error for a dir without stages")
	}
}

func TestComponentUpToDate(t *testing.T) {
	dir := t.TempDir()
	c := component{name: "etcd-v9", version: "v9", files: []string{"etcd"}}
	if c.upToDate(dir) {
		t.Fatal("empty dir reported up to date")
	}
	if err := os.WriteFile(filepath.Join(dir, "etcd"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if c.upToDate(dir) {
		t.Fatal("unstamped build reported up to date")
	}
	if err := os.WriteFile(filepath.Join(dir, stampFile), []byte(c.stamp()), 0o644); err != nil {
		t.Fatal(err)
	}
	if !c.upToDate(dir) {
		t.Fatal("stamped build not reported up to date")
	}
	other := component{name: "etcd-v9", version: "v10", files: []string{"etcd"}}
	if other.upToDate(dir) {
		t.Fatal("a version change must invalidate the cache")
	}
}
