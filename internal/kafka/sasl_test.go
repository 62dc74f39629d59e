package kafka_test

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/eddy-streaming/eddy/internal/acl"
	"github.com/eddy-streaming/eddy/internal/auth"
	"github.com/eddy-streaming/eddy/internal/auth/authtest"
	"github.com/eddy-streaming/eddy/internal/kafka"
	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
	"github.com/eddy-streaming/eddy/internal/node"
)

// secureServer runs a node with one listener of each security protocol
// and the bootstrap user admin/admin-secret.
type secureServer struct {
	*kafkatest.Server
	pki    *authtest.PKI
	server authtest.Pair
}

func (s *secureServer) addr(t *testing.T, name string) string {
	t.Helper()
	a := s.Kafka.ListenerAddr(name)
	if a == nil {
		t.Fatalf("no listener %s", name)
	}
	return a.String()
}

func startSecure(t *testing.T, opts ...kafkatest.Option) *secureServer {
	t.Helper()
	s := &secureServer{pki: authtest.NewPKI(t)}
	s.server = s.pki.Server(t, "server")
	tlsCfg, err := auth.ServerTLS(auth.TLSOptions{CertFile: s.server.CertFile, KeyFile: s.server.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	mtls, err := auth.ServerTLS(auth.TLSOptions{CertFile: s.server.CertFile, KeyFile: s.server.KeyFile, ClientCAFile: s.pki.CAFile, ClientAuth: auth.ClientAuthRequired})
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := auth.ParsePrincipalMapping(`RULE:^CN=([a-z0-9]+),O=Eddy Test$/$1/L,DEFAULT`)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]kafkatest.Option{kafkatest.WithNodeConfig(func(c *node.Config) {
		c.Kafka.Listeners = []kafka.Listener{
			{Name: "PLAINTEXT", Addr: "127.0.0.1:0", Protocol: kafka.ProtocolPlaintext},
			{Name: "SASL_SSL", Addr: "127.0.0.1:0", Protocol: kafka.ProtocolSASLSSL, TLS: tlsCfg},
			{Name: "SASL_PLAINTEXT", Addr: "127.0.0.1:0", Protocol: kafka.ProtocolSASLPlaintext, Mechanisms: []string{kafka.MechanismSCRAMSHA512}},
			{Name: "SSL", Addr: "127.0.0.1:0", Protocol: kafka.ProtocolSSL, TLS: mtls, Principals: mapper},
		}
		c.Broker.AutoCreateTopics = true
		c.Auth = node.AuthConfig{BootstrapUser: "admin", BootstrapPassword: "admin-secret"}
	})}, opts...)
	s.Server = kafkatest.Start(t, opts...)
	return s
}

func saslClient(t *testing.T, addr string, tlsCfg *tls.Config, m sasl.Mechanism, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	o := []kgo.Opt{kgo.SeedBrokers(addr), kgo.SASL(m), kgo.RequestRetries(0), kgo.RetryTimeout(2 * time.Second), kgo.AllowAutoTopicCreation()}
	if tlsCfg != nil {
		o = append(o, kgo.DialTLSConfig(tlsCfg))
	}
	cl, err := kgo.NewClient(append(o, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// roundTrip produces one record to topic and consumes it back.
func roundTrip(t *testing.T, cl *kgo.Client, topic, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(value)}).FirstErr(); err != nil {
		t.Fatalf("produce %s: %v", topic, err)
	}
	cl.AddConsumeTopics(topic)
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consume %s: %v", topic, err)
		}
		for _, r := range fs.Records() {
			if string(r.Value) == value {
				return
			}
		}
	}
}

func TestSASLMechanismsOverSASLSSL(t *testing.T) {
	s := startSecure(t)
	addr := s.addr(t, "SASL_SSL")
	tc := s.pki.ClientTLS()
	for _, tc2 := range []struct {
		name string
		m    sasl.Mechanism
	}{
		{"PLAIN", plain.Auth{User: "admin", Pass: "admin-secret"}.AsMechanism()},
		{"SCRAM-SHA-256", scram.Auth{User: "admin", Pass: "admin-secret"}.AsSha256Mechanism()},
		{"SCRAM-SHA-512", scram.Auth{User: "admin", Pass: "admin-secret"}.AsSha512Mechanism()},
	} {
		t.Run(tc2.name, func(t *testing.T) {
			cl := saslClient(t, addr, tc, tc2.m)
			// Metadata advertises the listener the client came in on:
			// the client's follow-up connection to the broker it learns
			// about must stay on SASL_SSL.
			md, err := kadm.NewClient(cl).BrokerMetadata(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			_, port, _ := net.SplitHostPort(addr)
			if len(md.Brokers) != 1 || strconv.Itoa(int(md.Brokers[0].Port)) != port {
				t.Fatalf("metadata brokers %+v, want the SASL_SSL port %s", md.Brokers, port)
			}
			roundTrip(t, cl, "sasl-"+strings.ToLower(tc2.name), "hello "+tc2.name)
		})
	}
}

func TestSASLPlaintextOffersOnlyConfiguredMechanisms(t *testing.T) {
	s := startSecure(t)
	addr := s.addr(t, "SASL_PLAINTEXT")
	roundTrip(t, saslClient(t, addr, nil, scram.Auth{User: "admin", Pass: "admin-secret"}.AsSha512Mechanism()), "scram512", "v")
	cl := saslClient(t, addr, nil, plain.Auth{User: "admin", Pass: "admin-secret"}.AsMechanism())
	err := cl.Ping(context.Background())
	if !errors.Is(err, kerr.UnsupportedSaslMechanism) {
		t.Fatalf("PLAIN on a SCRAM-SHA-512 listener: %v, want UNSUPPORTED_SASL_MECHANISM", err)
	}
}

func TestSASLFailuresAreGenericAndOthersKeepWorking(t *testing.T) {
	s := startSecure(t)
	addr := s.addr(t, "SASL_SSL")
	tc := s.pki.ClientTLS()
	good := saslClient(t, addr, tc, scram.Auth{User: "admin", Pass: "admin-secret"}.AsSha256Mechanism())
	roundTrip(t, good, "before", "1")
	for _, m := range []sasl.Mechanism{
		scram.Auth{User: "admin", Pass: "wrong"}.AsSha256Mechanism(),
		scram.Auth{User: "nobody", Pass: "x"}.AsSha512Mechanism(),
		plain.Auth{User: "admin", Pass: "wrong"}.AsMechanism(),
		plain.Auth{User: "nobody", Pass: "x"}.AsMechanism(),
	} {
		cl := saslClient(t, addr, tc, m)
		err := cl.Ping(context.Background())
		if !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Fatalf("%s bad login: %v, want SASL_AUTHENTICATION_FAILED", m.Name(), err)
		}
		if strings.Contains(err.Error(), "nobody") || strings.Contains(err.Error(), "unknown user") {
			t.Fatalf("failure message says too much: %v", err)
		}
	}
	roundTrip(t, good, "after", "2")
}

// rawConn dials addr (over TLS when cfg is set) and returns it.
func secConn(t *testing.T, addr string, cfg *tls.Config) net.Conn {
	t.Helper()
	var c net.Conn
	var err error
	if cfg != nil {
		c, err = tls.Dial("tcp", addr, cfg)
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func secWriteReq(t *testing.T, c net.Conn, corr int32, req kmsg.Request) {
	t.Helper()
	b := []byte{0, 0, 0, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(req.Key()))
	b = binary.BigEndian.AppendUint16(b, uint16(req.GetVersion()))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = append(b, 0xff, 0xff) // null client id
	if req.IsFlexible() {
		b = append(b, 0)
	}
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// readClosed reports whether the server closed c (EOF or reset) without
// sending anything.
func secReadClosed(t *testing.T, c net.Conn) {
	t.Helper()
	buf := make([]byte, 1)
	n, err := c.Read(buf)
	if n != 0 || err == nil || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		t.Fatalf("read = %d, %v; want the connection closed without a reply", n, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestRequestBeforeAuthenticationClosesConnection(t *testing.T) {
	s := startSecure(t)
	c := secConn(t, s.addr(t, "SASL_PLAINTEXT"), nil)
	secWriteReq(t, c, 1, kmsg.NewPtrMetadataRequest())
	secReadClosed(t, c)

	// ApiVersions is served before authentication; SaslAuthenticate
	// before SaslHandshake is not.
	c = secConn(t, s.addr(t, "SASL_PLAINTEXT"), nil)
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	av.ClientSoftwareName, av.ClientSoftwareVersion = "test", "1"
	secWriteReq(t, c, 2, av)
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		t.Fatalf("ApiVersions before auth: %v", err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatal(err)
	}
	secWriteReq(t, c, 3, kmsg.NewPtrSASLAuthenticateRequest())
	secReadClosed(t, c)

	// A big frame before authentication: closed before it is read
	// (Kafka's sasl.server.max.receive.size).
	c = secConn(t, s.addr(t, "SASL_PLAINTEXT"), nil)
	if _, err := c.Write(binary.BigEndian.AppendUint32(nil, 1<<20)); err != nil {
		t.Fatal(err)
	}
	secReadClosed(t, c)

	// SaslHandshake on a PLAINTEXT listener: ILLEGAL_SASL_STATE.
	cl := s.Client(t)
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, "PLAIN"
	resp, err := hs.RequestWith(context.Background(), cl)
	if err != nil || resp.ErrorCode != kerr.IllegalSaslState.Code {
		t.Fatalf("handshake on PLAINTEXT: %v %v", resp, err)
	}
}

func TestLegacyV0HandshakeRawTokens(t *testing.T) {
	s := startSecure(t)
	c := secConn(t, s.addr(t, "SASL_SSL"), s.pki.ClientTLS())
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 0, "PLAIN"
	secWriteReq(t, c, 1, hs)
	secReadFrame(t, c)
	tok := []byte("\x00admin\x00admin-secret")
	if _, err := c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(tok))), tok...)); err != nil {
		t.Fatal(err)
	}
	if got := secReadFrame(t, c); len(got) != 0 {
		t.Fatalf("PLAIN v0 success token = %q, want empty", got)
	}
	md := kmsg.NewPtrMetadataRequest()
	md.Version = 1
	secWriteReq(t, c, 2, md)
	if got := secReadFrame(t, c); len(got) < 4 || binary.BigEndian.Uint32(got) != 2 {
		t.Fatalf("metadata after raw PLAIN login: %x", got)
	}
}

func secReadFrame(t *testing.T, c net.Conn) []byte {
	t.Helper()
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		t.Fatalf("read frame: %v", err)
	}
	b := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTLSListenersRefuseWrongProtocol(t *testing.T) {
	s := startSecure(t)
	good := s.Client(t)
	// A plaintext client on the TLS port: the handshake fails, the
	// connection closes.
	c := secConn(t, s.addr(t, "SASL_SSL"), nil)
	secWriteReq(t, c, 1, kmsg.NewPtrApiVersionsRequest())
	secReadClosed(t, c)
	// A TLS client on the plaintext port.
	d := &net.Dialer{Timeout: 5 * time.Second}
	_, err := tls.DialWithDialer(d, "tcp", s.addr(t, "PLAINTEXT"), s.pki.ClientTLS())
	if err == nil {
		t.Fatal("TLS handshake with the PLAINTEXT listener succeeded")
	}
	if err := good.Ping(context.Background()); err != nil {
		t.Fatalf("other client after refused connections: %v", err)
	}
}

func TestMutualTLSPrincipalAndRefusals(t *testing.T) {
	s := startSecure(t)
	addr := s.addr(t, "SSL")
	cert := s.pki.Client(t, "client1")
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DialTLSConfig(s.pki.ClientTLS(cert.TLS)), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	roundTrip(t, cl, "mtls", "by cert")
	var got auth.Principal
	for _, c := range kafka.ConnInfos(s.Kafka) {
		if c.Listener() == "SSL" {
			got = c.Principal
		}
	}
	if got != "User:client1" {
		t.Fatalf("principal of CN=client1,O=Eddy Test = %q, want User:client1 (mapping rule)", got)
	}

	// No certificate, an expired one, one from another CA: refused.
	other := authtest.NewPKIIn(t, t.TempDir(), "Other CA").Client(t, "mallory")
	for name, certs := range map[string][]tls.Certificate{
		"none":      nil,
		"expired":   {s.pki.ExpiredClient(t, "old").TLS},
		"untrusted": {other.TLS},
	} {
		c := secConn(t, addr, s.pki.ClientTLS(certs...))
		// TLS 1.3 reports a refused client certificate at the first read.
		secWriteReq(t, c, 1, kmsg.NewPtrApiVersionsRequest())
		buf := make([]byte, 1)
		if _, err := c.Read(buf); err == nil {
			t.Fatalf("client certificate %s: the server answered", name)
		}
	}
	roundTrip(t, cl, "mtls", "by cert")
}

func TestUserScramCredentialsAPIsAndRestart(t *testing.T) {
	s := startSecure(t)
	adminCl := saslClient(t, s.addr(t, "SASL_SSL"), s.pki.ClientTLS(), scram.Auth{User: "admin", Pass: "admin-secret"}.AsSha256Mechanism())
	admin := kadm.NewClient(adminCl)
	ctx := context.Background()
	res, err := admin.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{
		{User: "alice", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "alice-pw"},
		{User: "alice", Mechanism: kadm.ScramSha512, Iterations: 8192, Password: "alice-pw"},
	})
	if err != nil || res["alice"].Err != nil {
		t.Fatalf("upsert alice: %v %v", res, err)
	}
	// kadm checks iterations itself; send the request by hand.
	bad := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	for _, u := range []struct {
		name  string
		mech  int8
		iters int32
	}{{"bob", 1, 100}, {"", 1, 4096}, {"dave", 7, 4096}, {"erin", 1, 4096}, {"erin", 1, 4096}} {
		up := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
		up.Name, up.Mechanism, up.Iterations, up.Salt, up.SaltedPassword = u.name, u.mech, u.iters, []byte("salt"), []byte("salted")
		bad.Upsertions = append(bad.Upsertions, up)
	}
	badResp, err := bad.RequestWith(ctx, adminCl)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int16{"bob": kerr.UnacceptableCredential.Code, "": kerr.UnacceptableCredential.Code, "dave": kerr.UnsupportedSaslMechanism.Code, "erin": kerr.DuplicateResource.Code}
	for _, r := range badResp.Results {
		if r.ErrorCode != want[r.User] {
			t.Errorf("user %q: code %d, want %d", r.User, r.ErrorCode, want[r.User])
		}
	}
	if len(badResp.Results) != len(want) {
		t.Errorf("results %+v, want one per user", badResp.Results)
	}
	del, err := admin.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: "carol", Mechanism: kadm.ScramSha256}}, nil)
	if err != nil || !errors.Is(del["carol"].Err, kerr.ResourceNotFound) {
		t.Fatalf("delete unknown: %v %v", del, err)
	}
	desc, err := admin.DescribeUserSCRAMs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(desc) != 2 || len(desc["alice"].CredInfos) != 2 || desc["alice"].CredInfos[1].Iterations != 8192 {
		t.Fatalf("describe all: %+v", desc)
	}
	one, err := admin.DescribeUserSCRAMs(ctx, "nobody")
	if err != nil || !errors.Is(one["nobody"].Err, kerr.ResourceNotFound) {
		t.Fatalf("describe unknown: %+v %v", one, err)
	}
	// Nothing of the password is stored: not the password, nor the
	// salted password kadm sent.
	if found := metaContains(t, s, "alice-pw"); found {
		t.Fatal("meta holds the password")
	}
	for _, m := range []sasl.Mechanism{
		scram.Auth{User: "alice", Pass: "alice-pw"}.AsSha512Mechanism(),
		plain.Auth{User: "alice", Pass: "alice-pw"}.AsMechanism(),
	} {
		roundTrip(t, saslClient(t, s.addr(t, "SASL_SSL"), s.pki.ClientTLS(), m), "alice-"+strings.ToLower(m.Name()), "a")
	}

	s.Restart(t)
	alice := saslClient(t, s.addr(t, "SASL_SSL"), s.pki.ClientTLS(), scram.Auth{User: "alice", Pass: "alice-pw"}.AsSha256Mechanism())
	if err := alice.Ping(ctx); err != nil {
		t.Fatalf("alice after restart: %v", err)
	}
	// The bootstrap user is not recreated once deleted.
	admin = kadm.NewClient(alice)
	if _, err := admin.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: "admin", Mechanism: kadm.ScramSha256}, {User: "admin", Mechanism: kadm.ScramSha512}}, nil); err != nil {
		t.Fatal(err)
	}
	s.Restart(t)
	cl := saslClient(t, s.addr(t, "SASL_SSL"), s.pki.ClientTLS(), plain.Auth{User: "admin", Pass: "admin-secret"}.AsMechanism())
	if err := cl.Ping(ctx); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("deleted bootstrap user after restart: %v", err)
	}
}

func metaContains(t *testing.T, s *secureServer, needle string) bool {
	t.Helper()
	found := false
	for _, bucket := range []string{"scram_credentials", "auth_state"} {
		_ = s.Meta.ForEach(bucket, "", func(k string, v []byte) error {
			if strings.Contains(string(v), needle) {
				found = true
			}
			return nil
		})
	}
	return found
}

func TestCertificateRotationWithoutRestart(t *testing.T) {
	s := startSecure(t)
	addr := s.addr(t, "SASL_SSL")
	serial := func() string {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	client := saslClient(t, addr, s.pki.ClientTLS(), scram.Auth{User: "admin", Pass: "admin-secret"}.AsSha256Mechanism())
	roundTrip(t, client, "rotate", "1")
	// Issue a new server certificate over the same files.
	time.Sleep(10 * time.Millisecond) // a distinct modification time
	s.pki.Server(t, "server")
	deadline := time.Now().Add(5 * time.Second)
	for serial() == before {
		if time.Now().After(deadline) {
			t.Fatal("the new certificate was not served")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The old connection keeps working; new ones verify the new cert.
	roundTrip(t, client, "rotate", "2")
	roundTrip(t, saslClient(t, addr, s.pki.ClientTLS(), plain.Auth{User: "admin", Pass: "admin-secret"}.AsMechanism()), "rotate2", "3")
}

// With the ACL authorizer on, the principal a SASL login or a client
// certificate establishes is what the ACLs are checked against, and the
// SCRAM credential APIs need the cluster permissions Kafka's do.
func TestAuthenticatedPrincipalMeetsACLs(t *testing.T) {
	s := startSecure(t, kafkatest.WithNodeConfig(func(c *node.Config) {
		c.ACL = &acl.Options{SuperUsers: []string{"User:admin"}}
	}))
	ctx := context.Background()
	tc := s.pki.ClientTLS()
	adminCl := saslClient(t, s.addr(t, "SASL_SSL"), tc, scram.Auth{User: "admin", Pass: "admin-secret"}.AsSha512Mechanism())
	admin := kadm.NewClient(adminCl)
	res, err := admin.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "alice", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "alice-pw"}})
	if err != nil || res["alice"].Err != nil {
		t.Fatalf("admin (super user) creates alice: %v %v", res, err)
	}
	roundTrip(t, adminCl, "acl-orders", "by admin")

	alice := saslClient(t, s.addr(t, "SASL_SSL"), tc, scram.Auth{User: "alice", Pass: "alice-pw"}.AsSha256Mechanism())
	err = alice.ProduceSync(ctx, &kgo.Record{Topic: "acl-orders", Value: []byte("x")}).FirstErr()
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("alice without ACLs produces: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	aliceAdm := kadm.NewClient(alice)
	up, err := aliceAdm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "alice", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "mine"}})
	if !errors.Is(err, kerr.ClusterAuthorizationFailed) && !errors.Is(up["alice"].Err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("alice alters credentials without ALTER on the cluster: %v %v", up, err)
	}
	if _, err := aliceAdm.DescribeUserSCRAMs(ctx); !errors.Is(err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("alice describes credentials without DESCRIBE on the cluster: %v", err)
	}
	// An ACL for User:alice lets her write: the SASL principal is the one
	// the ACLs name.
	if _, err := admin.CreateACLs(ctx, kadm.NewACLs().Allow("User:alice").AllowHosts("*").Topics("acl-orders").Operations(kadm.OpWrite, kadm.OpDescribe)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err = alice.ProduceSync(ctx, &kgo.Record{Topic: "acl-orders", Value: []byte("by alice")}).FirstErr()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice with a WRITE ACL: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAuthorizationMatrixKafkaSASL runs the authorization matrix as a user
// signed in with SCRAM-SHA-512 on a SASL_PLAINTEXT listener: every API
// refused without its ACL and served with it, for the SASL principal.
func TestAuthorizationMatrixKafkaSASL(t *testing.T) {
	s := startSecure(t, kafkatest.WithNodeConfig(func(c *node.Config) {
		c.ACL = &acl.Options{}
	}))
	kafkaMatrix(t, s.Server, "User:admin", kgo.SeedBrokers(s.addr(t, "SASL_PLAINTEXT")),
		kgo.SASL(scram.Auth{User: "admin", Pass: "admin-secret"}.AsSha512Mechanism()))
}
