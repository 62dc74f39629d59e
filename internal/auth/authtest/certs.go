// Package authtest makes TLS material for tests at test time: a CA, a
// server certificate for 127.0.0.1 and localhost, and client certificates,
// written as PEM files, so no key or certificate is checked in.
//
// Usage:
//
//	pki := authtest.NewPKI(t)                    // CA in t.TempDir()
//	srv := pki.Server(t, "server")               // srv.CertFile, srv.KeyFile
//	cli := pki.Client(t, "client1")              // CN=client1
//	pool := pki.Pool()                           // for client tls.Configs
package authtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a test certificate authority.
type PKI struct {
	dir    string
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	CAFile string
	serial int64
}

// Pair is a certificate and its key, in memory and as PEM files.
type Pair struct {
	CertFile, KeyFile string
	TLS               tls.Certificate
}

// NewPKI creates a CA whose files live in a temporary directory.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	return NewPKIIn(t, t.TempDir(), "Eddy Test CA")
}

// NewPKIIn creates a CA called name with its files in dir.
func NewPKIIn(t testing.TB, dir, name string) *PKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Eddy Test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	p := &PKI{dir: dir, cert: cert, key: key, CAFile: filepath.Join(dir, "ca.pem"), serial: 1}
	writePEM(t, p.CAFile, "CERTIFICATE", der)
	return p
}

// Pool returns a cert pool holding the CA.
func (p *PKI) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.cert)
	return pool
}

// Server issues a server certificate for 127.0.0.1, ::1 and localhost,
// written as name.pem and name-key.pem.
func (p *PKI) Server(t testing.TB, name string) Pair {
	t.Helper()
	return p.issue(t, name, pkix.Name{CommonName: "localhost", Organization: []string{"Eddy Test"}}, x509.ExtKeyUsageServerAuth, time.Now().Add(24*time.Hour))
}

// Client issues a client certificate with subject CN=cn,O=Eddy Test.
func (p *PKI) Client(t testing.TB, cn string) Pair {
	t.Helper()
	return p.issue(t, cn, pkix.Name{CommonName: cn, Organization: []string{"Eddy Test"}}, x509.ExtKeyUsageClientAuth, time.Now().Add(24*time.Hour))
}

// ExpiredClient issues a client certificate that expired an hour ago.
func (p *PKI) ExpiredClient(t testing.TB, cn string) Pair {
	t.Helper()
	return p.issue(t, cn+"-expired", pkix.Name{CommonName: cn, Organization: []string{"Eddy Test"}}, x509.ExtKeyUsageClientAuth, time.Now().Add(-time.Hour))
}

func (p *PKI) issue(t testing.TB, name string, subject pkix.Name, usage x509.ExtKeyUsage, notAfter time.Time) Pair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial),
		Subject:      subject,
		NotBefore:    time.Now().Add(-2 * time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pair := Pair{CertFile: filepath.Join(p.dir, name+".pem"), KeyFile: filepath.Join(p.dir, name+"-key.pem")}
	writePEM(t, pair.CertFile, "CERTIFICATE", der)
	writePEM(t, pair.KeyFile, "PRIVATE KEY", kder)
	pair.TLS, err = tls.LoadX509KeyPair(pair.CertFile, pair.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	b := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	// Write beside and rename, so a reloading server never reads half a
	// file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// ClientTLS is a client config trusting p's CA, presenting certs.
func (p *PKI) ClientTLS(certs ...tls.Certificate) *tls.Config {
	return &tls.Config{RootCAs: p.Pool(), Certificates: certs, MinVersion: tls.VersionTLS12}
}
