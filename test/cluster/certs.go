package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// keyPair is a PEM encoded certificate and private key.
type keyPair struct {
	CertPEM []byte
	KeyPEM  []byte
}

// pki holds the throwaway credentials of one cluster.
type pki struct {
	CA        keyPair
	Serving   keyPair
	Admin     keyPair
	KCM       keyPair
	Scheduler keyPair
	Kwok      keyPair
	// SAKey signs ServiceAccount tokens (apiserver) and legacy token secrets (KCM).
	SAKeyPEM    []byte
	SAPublicPEM []byte
}

type issuer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newPKI(serviceIP net.IP) (*pki, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating CA key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localcluster-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("creating CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("parsing CA certificate: %w", err)
	}
	caKeyPEM, err := encodeKey(caKey)
	if err != nil {
		return nil, err
	}
	ca := issuer{cert: caCert, key: caKey}
	p := &pki{CA: keyPair{CertPEM: pemBlock("CERTIFICATE", caDER), KeyPEM: caKeyPEM}}

	p.Serving, err = ca.issue(x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{
			"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local",
		},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), serviceIP},
	})
	if err != nil {
		return nil, fmt.Errorf("issuing serving certificate: %w", err)
	}

	clients := []struct {
		dst         *keyPair
		user, group string
	}{
		{&p.Admin, "localcluster-admin", "system:masters"},
		// The bootstrap RBAC roles for these identities are what real clusters use.
		{&p.KCM, "system:kube-controller-manager", ""},
		{&p.Scheduler, "system:kube-scheduler", ""},
		// kwok stands in for every kubelet; it needs broader rights than system:node.
		{&p.Kwok, "localcluster-kwok", "system:masters"},
	}
	for _, c := range clients {
		subj := pkix.Name{CommonName: c.user}
		if c.group != "" {
			subj.Organization = []string{c.group}
		}
		*c.dst, err = ca.issue(x509.Certificate{Subject: subj, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		if err != nil {
			return nil, fmt.Errorf("issuing client certificate for %s: %w", c.user, err)
		}
	}

	// RSA: RS256 is the one algorithm every consumer of ServiceAccount tokens
	// (OIDC discovery clients included) is required to support.
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating ServiceAccount signing key: %w", err)
	}
	p.SAKeyPEM, err = encodeKey(saKey)
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encoding ServiceAccount public key: %w", err)
	}
	p.SAPublicPEM = pemBlock("PUBLIC KEY", pubDER)
	return p, nil
}

func (ca issuer) issue(tmpl x509.Certificate) (keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyPair{}, fmt.Errorf("generating key: %w", err)
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return keyPair{}, fmt.Errorf("generating serial number: %w", err)
	}
	tmpl.SerialNumber = sn
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(5 * 365 * 24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return keyPair{}, fmt.Errorf("signing certificate: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return keyPair{}, err
	}
	return keyPair{CertPEM: pemBlock("CERTIFICATE", der), KeyPEM: keyPEM}, nil
}

func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding private key: %w", err)
	}
	return pemBlock("PRIVATE KEY", der), nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// pkiFiles are the on-disk locations the components read their credentials from.
type pkiFiles struct {
	CACert, CAKey           string
	ServingCert, ServingKey string
	SAKey, SAPub            string
}

func (p *pki) write(dir string) (pkiFiles, error) {
	f := pkiFiles{
		CACert:      filepath.Join(dir, "ca.crt"),
		CAKey:       filepath.Join(dir, "ca.key"),
		ServingCert: filepath.Join(dir, "apiserver.crt"),
		ServingKey:  filepath.Join(dir, "apiserver.key"),
		SAKey:       filepath.Join(dir, "sa.key"),
		SAPub:       filepath.Join(dir, "sa.pub"),
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, fmt.Errorf("creating pki dir: %w", err)
	}
	for path, data := range map[string][]byte{
		f.CACert: p.CA.CertPEM, f.CAKey: p.CA.KeyPEM,
		f.ServingCert: p.Serving.CertPEM, f.ServingKey: p.Serving.KeyPEM,
		f.SAKey: p.SAKeyPEM, f.SAPub: p.SAPublicPEM,
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return f, fmt.Errorf("writing %s: %w", path, err)
		}
	}
	return f, nil
}
