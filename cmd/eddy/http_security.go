package main

// The HTTP clients among the subcommands (`eddy status`, `eddy schema`)
// reach a server that requires authentication through the environment:
// HTTP Basic with $EDDY_USER and $EDDY_PASSWORD, and, for an https://
// server address, the CA bundle in $EDDY_TLS_CA (default: the system's).

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"sync"
)

// Environment variables of the HTTP clients' credentials.
const (
	userEnv  = "EDDY_USER"
	tlsCAEnv = "EDDY_TLS_CA"
)

var (
	httpClientOnce sync.Once
	httpClientVal  *http.Client
	httpClientErr  error
)

// cliHTTPClient is the HTTP client of the subcommands: TLS trusting
// $EDDY_TLS_CA when set.
func cliHTTPClient() (*http.Client, error) {
	httpClientOnce.Do(func() {
		ca := os.Getenv(tlsCAEnv)
		if ca == "" {
			httpClientVal = http.DefaultClient
			return
		}
		pem, err := os.ReadFile(ca)
		if err != nil {
			httpClientErr = usageError{fmt.Errorf("$%s: %w", tlsCAEnv, err)}
			return
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			httpClientErr = usageError{fmt.Errorf("$%s %s: no PEM certificate in it", tlsCAEnv, ca)}
			return
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		httpClientVal = &http.Client{Transport: tr}
	})
	return httpClientVal, httpClientErr
}

// doHTTP sends req with the credentials of the environment.
func doHTTP(req *http.Request) (*http.Response, error) {
	cl, err := cliHTTPClient()
	if err != nil {
		return nil, err
	}
	if u := os.Getenv(userEnv); u != "" {
		req.SetBasicAuth(u, os.Getenv(passwordEnv))
	}
	return cl.Do(req)
}
