package config

import (
	"strings"
	"testing"
)

func TestKafkaListeners(t *testing.T) {
	c := Default()
	ls, errs := c.KafkaListeners()
	if len(errs) != 0 || len(ls) != 1 || ls[0].Name != "PLAINTEXT" || ls[0].Addr != "127.0.0.1:9092" || ls[0].Protocol != "PLAINTEXT" {
		t.Fatalf("default listeners %+v %v", ls, errs)
	}
	c.Listeners = "PLAINTEXT://127.0.0.1:9092, SASL_SSL://:9093,client://127.0.0.1:9094"
	c.ListenerProtocolMap = "CLIENT:SASL_PLAINTEXT"
	c.AdvertisedListeners = "SASL_SSL://broker.example:19093"
	c.SASLMechanisms = "SASL_SSL=SCRAM-SHA-256,SCRAM-SHA-512;CLIENT=PLAIN"
	ls, errs = c.KafkaListeners()
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if len(ls) != 3 || ls[1].Protocol != "SASL_SSL" || ls[1].Advertised != "broker.example:19093" ||
		strings.Join(ls[1].Mechanisms, ",") != "SCRAM-SHA-256,SCRAM-SHA-512" || ls[2].Name != "CLIENT" ||
		ls[2].Protocol != "SASL_PLAINTEXT" || strings.Join(ls[2].Mechanisms, ",") != "PLAIN" {
		t.Fatalf("listeners %+v", ls)
	}
}

func TestListenerErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no scheme", func(c *Config) { c.Listeners = "127.0.0.1:9092" }, "want NAME://host:port"},
		{"unknown protocol", func(c *Config) { c.Listeners = "CLIENT://127.0.0.1:9092" }, "has no security protocol"},
		{"bad map", func(c *Config) { c.Listeners = "C://127.0.0.1:9092"; c.ListenerProtocolMap = "C:TLS" }, "want NAME:PROTOCOL"},
		{"dup name", func(c *Config) { c.Listeners = "SSL://127.0.0.1:9092,SSL://127.0.0.1:9093" }, "appears twice"},
		{"dup port", func(c *Config) { c.Listeners = "PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9092" }, "own port"},
		{"advertise unknown", func(c *Config) { c.AdvertisedListeners = "SSL://x:1" }, "not in listeners"},
		{"tls without cert", func(c *Config) { c.Listeners = "SSL://127.0.0.1:9093" }, "needs a certificate"},
		{"bad mechanism", func(c *Config) { c.Listeners = "SASL_PLAINTEXT://127.0.0.1:9093"; c.SASLMechanisms = "GSSAPI" }, "not a mechanism"},
		{"client auth without CA", func(c *Config) { c.SSLClientAuth = "required" }, "needs tls-client-ca"},
		{"bad client auth", func(c *Config) { c.SSLClientAuth = "maybe" }, "use none, requested or required"},
		{"bootstrap without password", func(c *Config) { c.BootstrapUser = "admin" }, "EDDY_BOOTSTRAP_PASSWORD"},
		{"bad mapping rule", func(c *Config) { c.SSLPrincipalMappingRules = "RULE:x" }, "ssl-principal-mapping-rules"},
		{"plaintext remote", func(c *Config) { c.Listeners = "PLAINTEXT://0.0.0.0:9092" }, "does not authenticate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestProtectedModeAllowsAuthenticatingListeners(t *testing.T) {
	c := Default()
	c.Listeners = "SASL_PLAINTEXT://0.0.0.0:9092"
	c.HTTPAddr = "0.0.0.0:8080"
	c.SchemaRegistryAddr = ""
	if err := c.Validate(); err != nil {
		t.Fatalf("SASL listener and HTTP (authenticated) on every interface: %v", err)
	}
	if !c.AuthenticationConfigured() {
		t.Fatal("a SASL listener configures authentication")
	}
	pem := writeFile(t, "x")
	c.Listeners = "SSL://0.0.0.0:9093"
	c.TLSCert, c.TLSKey, c.TLSClientCA, c.SSLClientAuth = pem, pem, pem, ClientAuthRequired
	// Client certificates make no HTTP users: HTTP stays on loopback.
	c.HTTPAddr = "127.0.0.1:8080"
	if err := c.Validate(); err != nil {
		t.Fatalf("SSL with required client certificates on every interface: %v", err)
	}
	c.SSLClientAuth = ClientAuthRequested
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "SSL://0.0.0.0:9093") {
		t.Fatalf("SSL with requested client certificates on every interface: %v", err)
	}
	c.HTTPAddr = "0.0.0.0:8080"
	c.Listeners = "SASL_PLAINTEXT://0.0.0.0:9092,PLAINTEXT://0.0.0.0:9093"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "PLAINTEXT://0.0.0.0:9093") {
		t.Fatalf("PLAINTEXT on every interface: %v", err)
	}
}
