package clients

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/auth/authtest"
	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// secureEddy is an `eddy serve` with PLAINTEXT, SASL_SSL and SSL
// (client certificates required) listeners, the bootstrap user
// admin/admin-secret, and its HTTP listener on HTTPS with Basic
// authentication.
type secureEddy struct {
	*eddytest.Process
	pki    *authtest.PKI
	client authtest.Pair
}

const adminPassword = "admin-secret"

func startSecureEddy(t *testing.T, extra ...string) *secureEddy {
	t.Helper()
	dir := t.TempDir()
	pki := authtest.NewPKIIn(t, dir, "Eddy Test CA")
	srv := pki.Server(t, "server")
	pw := filepath.Join(dir, "admin.pw")
	if err := os.WriteFile(pw, []byte(adminPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{
		"--listeners", "PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SSL://127.0.0.1:0",
		"--tls-cert", srv.CertFile, "--tls-key", srv.KeyFile,
		"--tls-client-ca", pki.CAFile, "--ssl-client-auth", "required",
		"--bootstrap-user", "admin", "--bootstrap-password-file", pw,
	}, extra...)
	p := eddytest.Start(t, eddytest.Args(args...), eddytest.HTTPTLS(pki.ClientTLS()))
	return &secureEddy{Process: p, pki: pki, client: pki.Client(t, "client1")}
}

func (s *secureEddy) sasl(t *testing.T) string {
	t.Helper()
	a := s.ListenerAddr("SASL_SSL")
	if a == "" {
		t.Fatalf("no SASL_SSL listener in the start line:\n%s", s.Output())
	}
	return a
}

func kcatSASL(s *secureEddy, addr, mech, user, pass string) []string {
	return []string{"-b", addr, "-X", "security.protocol=SASL_SSL", "-X", "sasl.mechanisms=" + mech,
		"-X", "sasl.username=" + user, "-X", "sasl.password=" + pass, "-X", "ssl.ca.location=" + s.pki.CAFile}
}

func TestKcatSASLSSL(t *testing.T) {
	t.Parallel()
	needKcat(t)
	s := startSecureEddy(t)
	addr := s.sasl(t)
	for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"} {
		topic := "kcat-" + strings.ToLower(mech)
		conn := kcatSASL(s, addr, mech, "admin", adminPassword)
		mustCmd(t, s.Process, 60*time.Second, "one\ntwo\n", "kcat", append(conn, "-P", "-t", topic)...)
		r := mustCmd(t, s.Process, 60*time.Second, "", "kcat", append(conn, "-C", "-t", topic, "-o", "beginning", "-e", "-q")...)
		if got := strings.Join(lines(r.stdout), ","); got != "one,two" {
			t.Fatalf("%s: consumed %q, want one,two", mech, got)
		}
	}
	// Wrong password and unknown user: refused, and the server keeps
	// serving the others.
	for _, up := range [][2]string{{"admin", "wrong"}, {"nobody", "x"}} {
		r := runCmd(t, 30*time.Second, "", "kcat", append(kcatSASL(s, addr, "SCRAM-SHA-256", up[0], up[1]), "-L", "-m", "5")...)
		if r.code == 0 || !strings.Contains(r.stderr, "SASL authentication error") {
			t.Fatalf("kcat as %s/%s: exit %d\n%s", up[0], up[1], r.code, r.stderr)
		}
	}
	mustCmd(t, s.Process, 60*time.Second, "", "kcat", append(kcatSASL(s, addr, "PLAIN", "admin", adminPassword), "-L")...)
}

func TestKcatSSLClientCertificate(t *testing.T) {
	t.Parallel()
	needKcat(t)
	s := startSecureEddy(t)
	addr := s.ListenerAddr("SSL")
	conn := []string{"-b", addr, "-X", "security.protocol=SSL", "-X", "ssl.ca.location=" + s.pki.CAFile,
		"-X", "ssl.certificate.location=" + s.client.CertFile, "-X", "ssl.key.location=" + s.client.KeyFile}
	mustCmd(t, s.Process, 60*time.Second, "by-cert\n", "kcat", append(conn, "-P", "-t", "mtls")...)
	r := mustCmd(t, s.Process, 60*time.Second, "", "kcat", append(conn, "-C", "-t", "mtls", "-o", "beginning", "-e", "-q")...)
	if strings.TrimSpace(r.stdout) != "by-cert" {
		t.Fatalf("consumed %q", r.stdout)
	}
	// No certificate: the TLS handshake fails.
	r = runCmd(t, 30*time.Second, "", "kcat", "-b", addr, "-X", "security.protocol=SSL", "-X", "ssl.ca.location="+s.pki.CAFile, "-L", "-m", "5")
	if r.code == 0 {
		t.Fatalf("kcat without a client certificate listed metadata:\n%s", r.stdout)
	}
	// A plaintext client on the TLS port gets nothing.
	r = runCmd(t, 30*time.Second, "", "kcat", "-b", addr, "-L", "-m", "5")
	if r.code == 0 {
		t.Fatalf("plaintext kcat on the SSL port listed metadata:\n%s", r.stdout)
	}
}

func TestPythonClientsSASLSSL(t *testing.T) {
	t.Parallel()
	needPython(t, "kafka")
	needPython(t, "confluent_kafka")
	s := startSecureEddy(t)
	addr := s.sasl(t)
	for _, tc := range []struct{ lib, mech string }{
		{"kafka-python", "PLAIN"},
		{"kafka-python", "SCRAM-SHA-256"},
		{"kafka-python", "SCRAM-SHA-512"},
		{"confluent-kafka", "SCRAM-SHA-512"},
		{"confluent-kafka", "PLAIN"},
	} {
		topic := "py-" + tc.lib + "-" + strings.ToLower(tc.mech)
		r := python(t, s.Process, "secure_client.py", tc.lib, addr, s.pki.CAFile, tc.mech, "admin", adminPassword, topic)
		if !strings.HasPrefix(r.stdout, "consumed secure-") {
			t.Fatalf("%s %s: %s\n%s", tc.lib, tc.mech, r.stdout, r.stderr)
		}
	}
	for _, lib := range []string{"kafka-python", "confluent-kafka"} {
		r := runCmd(t, 90*time.Second, "", pythonBin, filepath.Join("testdata", "secure_client.py"), lib, addr, s.pki.CAFile, "SCRAM-SHA-256", "admin", "wrong", "py-refused")
		if r.code != 3 {
			t.Fatalf("%s with a wrong password: exit %d\n%s\n%s", lib, r.code, r.stdout, r.stderr)
		}
	}
}

func TestKafkajsSCRAM(t *testing.T) {
	t.Parallel()
	needKafkajs(t)
	s := startSecureEddy(t)
	for _, mech := range []string{"scram-sha-256", "scram-sha-512"} {
		r := mustCmd(t, s.Process, 90*time.Second, "", "node", filepath.Join(kafkajsDir, "secure.js"), s.sasl(t), s.pki.CAFile, mech, "admin", adminPassword, "js-"+mech)
		if !strings.Contains(r.stdout, "consumed secure-") {
			t.Fatalf("kafkajs %s: %s\n%s", mech, r.stdout, r.stderr)
		}
	}
	r := runCmd(t, 90*time.Second, "", "node", filepath.Join(kafkajsDir, "secure.js"), s.sasl(t), s.pki.CAFile, "scram-sha-256", "admin", "wrong", "js-refused")
	if r.code != 3 || !strings.Contains(r.stdout, "auth-failed") {
		t.Fatalf("kafkajs with a wrong password: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestHTTPBasicAuthentication(t *testing.T) {
	t.Parallel()
	s := startSecureEddy(t)
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: s.pki.ClientTLS()}}
	get := func(path, user, pass string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.HTTPURL()+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _, _ := get(path, "", ""); code != 200 {
			t.Errorf("%s without credentials: %d", path, code)
		}
	}
	for _, path := range []string{"/v1/status", "/metrics", "/ui/", "/schema-registry/subjects"} {
		code, h, body := get(path, "", "")
		if code != 401 || h.Get("WWW-Authenticate") == "" || !strings.Contains(h.Get("WWW-Authenticate"), `realm="eddy"`) {
			t.Errorf("%s without credentials: %d %q %s", path, code, h.Get("WWW-Authenticate"), body)
		}
		if code, _, _ := get(path, "admin", "wrong"); code != 401 {
			t.Errorf("%s with a wrong password: %d", path, code)
		}
		if code, _, body := get(path, "admin", adminPassword); code != 200 {
			t.Errorf("%s as admin: %d %s", path, code, body)
		}
	}
	// Plain HTTP on the HTTPS port is refused.
	resp, err := http.Get("http://" + s.HTTPAddr() + "/healthz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the HTTPS port: %s", resp.Status)
		}
	}
	// eddy status takes its credentials and CA from the environment.
	status := func(env ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, eddytest.Binary(), "status", "--server", s.HTTPURL())
		cmd.Env = append(eddytest.CleanEnv(), append([]string{"EDDY_TLS_CA=" + s.pki.CAFile}, env...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := status("EDDY_USER=admin", "EDDY_PASSWORD="+adminPassword); err != nil || !strings.Contains(out, "ready") {
		t.Errorf("eddy status with credentials: %v\n%s", err, out)
	}
	if out, err := status(); err == nil || !strings.Contains(out, "401") {
		t.Errorf("eddy status without credentials: %v\n%s", err, out)
	}
	// The schema registry's own listener: HTTPS and Basic too.
	req, _ := http.NewRequest("GET", strings.Replace(s.SchemaRegistryURL(), "http://", "https://", 1)+"/subjects", nil)
	resp, err = cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("registry without credentials: %s", resp.Status)
	}
}

func TestEddyUserCLIAndRestart(t *testing.T) {
	t.Parallel()
	needKcat(t)
	s := startSecureEddy(t)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(adminPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cli := func(stdin string, args ...string) result {
		t.Helper()
		return mustCmd(t, s.Process, 60*time.Second, stdin, eddytest.Binary(), append(args,
			"--brokers", s.sasl(t), "--tls-ca", s.pki.CAFile, "--user", "admin", "--password-file", pw)...)
	}
	cli("alice-pw\n", "user", "create", "alice")
	cli("bob-pw\n", "user", "create", "bob", "--mechanisms", "SCRAM-SHA-256", "--iterations", "8192")
	out := cli("", "user", "list").stdout
	for _, want := range []string{"admin", "alice", "SCRAM-SHA-512 (4096 iterations)", "bob", "SCRAM-SHA-256 (8192 iterations)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("user list lacks %q:\n%s", want, out)
		}
	}
	// No password for --user: a usage error, exit 2.
	r := runCmd(t, 60*time.Second, "", eddytest.Binary(), "user", "list", "--brokers", s.sasl(t), "--tls-ca", s.pki.CAFile, "--user", "admin", "--password-file", os.DevNull)
	if r.code != 2 || !strings.Contains(r.stderr, "needs a password") {
		t.Fatalf("user list with an empty password file: exit %d %s", r.code, r.stderr)
	}
	s.Restart()
	mustCmd(t, s.Process, 60*time.Second, "", "kcat", append(kcatSASL(s, s.sasl(t), "SCRAM-SHA-512", "alice", "alice-pw"), "-L")...)
	mustCmd(t, s.Process, 60*time.Second, "", "kcat", append(kcatSASL(s, s.sasl(t), "PLAIN", "bob", "bob-pw"), "-L")...)
	cli("", "user", "delete", "alice")
	r = runCmd(t, 30*time.Second, "", "kcat", append(kcatSASL(s, s.sasl(t), "SCRAM-SHA-512", "alice", "alice-pw"), "-L", "-m", "3")...)
	if r.code == 0 {
		t.Fatal("deleted user alice still logs in")
	}
	r = runCmd(t, 60*time.Second, "", eddytest.Binary(), "user", "delete", "alice", "--brokers", s.sasl(t), "--tls-ca", s.pki.CAFile, "--user", "admin", "--password-file", pw)
	if r.code != 1 || !strings.Contains(r.stderr, "does not exist") {
		t.Fatalf("deleting an unknown user: exit %d %s", r.code, r.stderr)
	}
}
