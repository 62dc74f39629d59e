package kafka

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/auth"
	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/meta"
)

// saslSeeds are connection byte streams on a SASL listener: the handshake
// and authenticate requests of each mechanism, v0 raw tokens, requests
// before authentication, and damaged variants.
func saslSeeds() [][]byte {
	hs := func(v int16, mech string, corr int32) []byte {
		r := kmsg.NewPtrSASLHandshakeRequest()
		r.Mechanism = mech
		return fuzzFrame(r, v, corr)
	}
	authn := func(v int16, tok string, corr int32) []byte {
		r := kmsg.NewPtrSASLAuthenticateRequest()
		r.SASLAuthBytes = []byte(tok)
		return fuzzFrame(r, v, corr)
	}
	raw := func(tok string) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(tok))), tok...)
	}
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	md := fuzzFrame(kmsg.NewPtrMetadataRequest(), 1, 9)
	av := fuzzFrame(kmsg.NewPtrApiVersionsRequest(), 0, 1)
	return [][]byte{
		{},
		md,
		cat(av, hs(1, "PLAIN", 2), authn(2, "\x00u\x00p", 3), md),
		cat(hs(1, "PLAIN", 2), authn(1, "\x00u\x00wrong", 3), md),
		cat(hs(0, "PLAIN", 2), raw("\x00u\x00p"), md),
		cat(hs(0, "SCRAM-SHA-256", 2), raw("n,,n=u,r=abcdefgh"), raw("c=biws,r=abcdefgh,p=AAAA")),
		cat(hs(1, "SCRAM-SHA-512", 2), authn(2, "n,,n=u,r=abcdefgh", 3), authn(2, "c=biws,r=x,p=AAAA", 4)),
		cat(hs(1, "GSSAPI", 2), md),
		cat(authn(2, "\x00u\x00p", 3)),
		cat(hs(0, "PLAIN", 2), []byte{0xff, 0xff, 0xff, 0xff}),
		cat(hs(1, "PLAIN", 2), authn(2, "\x00u\x00p", 3), hs(1, "PLAIN", 4), authn(2, "x", 5)),
	}
}

// FuzzSASLConn feeds byte streams to a connection on a SASL_PLAINTEXT
// listener through the real reader, SASL state machine and writer: the
// server must answer with whole frames (or close) and never panic.
func FuzzSASLConn(f *testing.F) {
	for _, s := range saslSeeds() {
		f.Add(s)
	}
	dir := f.TempDir()
	m, err := meta.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		f.Fatal(err)
	}
	users, err := auth.OpenUsers(m)
	if err != nil {
		f.Fatal(err)
	}
	if err := users.SetPassword("u", "p", auth.MinIterations); err != nil {
		f.Fatal(err)
	}
	bc := broker.DefaultConfig()
	bc.DataDir, bc.Meta, bc.AutoCreateTopics = dir, m, false
	b, err := broker.Open(bc)
	if err != nil {
		f.Fatal(err)
	}
	pc := &panicCatcher{}
	s := New(Config{MaxRequestBytes: 1 << 20, Logger: slog.New(pc), Users: users}, b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	bl := &boundListener{cfg: Listener{Name: "SASL", Protocol: ProtocolSASLPlaintext}, ln: ln, mechs: DefaultMechanisms}
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		_ = ln.Close()
		_ = b.Close()
		_ = m.Close()
	})
	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		s.accept(server, bl)
		done := make(chan []byte)
		go func() {
			out, _ := io.ReadAll(client)
			done <- out
		}()
		_ = client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = client.Write(in)
		s.mu.Lock()
		for c := range s.mu.conns {
			if c.nc == server {
				c.stopReading()
				c.cancel()
			}
		}
		s.mu.Unlock()
		var out []byte
		select {
		case out = <-done:
		case <-time.After(15 * time.Second):
			t.Fatal("connection did not finish")
		}
		client.Close()
		for len(out) > 0 {
			if len(out) < 4 {
				t.Fatalf("truncated response frame: %x", out)
			}
			n := int(binary.BigEndian.Uint32(out))
			if n > len(out)-4 {
				t.Fatalf("response frame size %d with %d bytes left", n, len(out)-4)
			}
			out = out[4+n:]
		}
		if n := pc.panics.Load(); n > 0 {
			t.Fatalf("%d handler panics", n)
		}
	})
}

// TestPlainParse checks the SASL/PLAIN message parser (RFC 4616).
func TestPlainParse(t *testing.T) {
	for in, ok := range map[string]bool{
		"\x00u\x00p": true, "u\x00u\x00p": true, "x\x00u\x00p": false, "\x00\x00p": false,
		"\x00u\x00": false, "u\x00p": false, "\x00u\x00p\x00": false,
	} {
		if _, _, err := parsePlain([]byte(in)); (err == nil) != ok {
			t.Errorf("parsePlain(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}
