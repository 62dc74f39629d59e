package main

// Connection security of the client subcommands: TLS (--tls, --tls-ca,
// --tls-cert/--tls-key) and SASL (--user with the password in
// $EDDY_PASSWORD or --password-file, --sasl-mechanism), so that every
// client subcommand can reach an SSL, SASL_PLAINTEXT or SASL_SSL listener.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// passwordEnv holds the password of --user.
const passwordEnv = "EDDY_PASSWORD"

// securityOptions are the client's TLS and SASL flags.
type securityOptions struct {
	tls          bool
	tlsCA        string
	tlsCert      string
	tlsKey       string
	user         string
	passwordFile string
	mechanism    string
}

func addSecurityFlags(cmd *cobra.Command) *securityOptions {
	o := &securityOptions{}
	f := cmd.PersistentFlags()
	f.BoolVar(&o.tls, "tls", false, "connect with TLS (implied by --tls-ca and --tls-cert)")
	f.StringVar(&o.tlsCA, "tls-ca", "", "PEM bundle of the CAs to trust for the server certificate (default: the system's)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "PEM client certificate, for listeners that require one")
	f.StringVar(&o.tlsKey, "tls-key", "", "PEM key of --tls-cert")
	f.StringVar(&o.user, "user", "", "authenticate with SASL as this user (password from $"+passwordEnv+" or --password-file)")
	f.StringVar(&o.passwordFile, "password-file", "", "file whose first line is the password of --user")
	f.StringVar(&o.mechanism, "sasl-mechanism", "SCRAM-SHA-512", "SASL mechanism: SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN")
	return o
}

// kgoOpts returns the client options the flags ask for.
func (o *securityOptions) kgoOpts() ([]kgo.Opt, error) {
	if o == nil {
		return nil, nil
	}
	var opts []kgo.Opt
	if o.tls || o.tlsCA != "" || o.tlsCert != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if o.tlsCA != "" {
			pem, err := os.ReadFile(o.tlsCA)
			if err != nil {
				return nil, usageError{fmt.Errorf("--tls-ca: %w", err)}
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, usageError{fmt.Errorf("--tls-ca %s: no PEM certificate in it", o.tlsCA)}
			}
		}
		if (o.tlsCert == "") != (o.tlsKey == "") {
			return nil, usageError{errors.New("--tls-cert and --tls-key go together")}
		}
		if o.tlsCert != "" {
			c, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
			if err != nil {
				return nil, usageError{fmt.Errorf("--tls-cert/--tls-key: %w", err)}
			}
			cfg.Certificates = []tls.Certificate{c}
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if o.user == "" {
		if o.passwordFile != "" {
			return nil, usageError{errors.New("--password-file needs --user")}
		}
		return opts, nil
	}
	pass := os.Getenv(passwordEnv)
	if o.passwordFile != "" {
		b, err := os.ReadFile(o.passwordFile)
		if err != nil {
			return nil, usageError{fmt.Errorf("--password-file: %w", err)}
		}
		first, _, _ := strings.Cut(string(b), "\n")
		pass = strings.TrimRight(first, "\r")
	}
	if pass == "" {
		return nil, usageError{fmt.Errorf("--user %s needs a password: set $%s or --password-file", o.user, passwordEnv)}
	}
	switch strings.ToUpper(o.mechanism) {
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: o.user, Pass: pass}.AsSha512Mechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: o.user, Pass: pass}.AsSha256Mechanism()))
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: o.user, Pass: pass}.AsMechanism()))
	default:
		return nil, usageError{fmt.Errorf("--sasl-mechanism %q: use SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN", o.mechanism)}
	}
	return opts, nil
}
