package config

import (
	"net"
	"net/netip"
	"strings"
)

// Protected mode, as Redis's: a listener that does not authenticate its
// clients binds loopback only by default (127.0.0.1:9092, 127.0.0.1:8080
// and the schema registry's 127.0.0.1:8081), and Validate refuses any
// other bind address for it unless allow-unauthenticated-remote is set;
// `eddy serve` then logs a warning at start (RemoteListeners names what is
// exposed). Listeners that authenticate may bind any address: SASL
// listeners, SSL listeners with ssl-client-auth=required, and the HTTP
// and schema registry listeners once authentication is configured
// (AuthenticationConfigured).

// checkProtectedMode refuses non-loopback listen addresses without
// allow-unauthenticated-remote.
func (c Config) checkProtectedMode() []error {
	if c.AllowUnauthenticatedRemote {
		return nil
	}
	var errs []error
	for _, l := range c.listenAddrs() {
		if host, _, err := net.SplitHostPort(stripScheme(l.addr)); err == nil && !IsLoopbackHost(host) {
			errs = append(errs, &KeyError{Key: l.key, Msg: "\"" + l.addr + "\" is reachable from other machines and does not authenticate its clients; " +
				"bind a loopback address (e.g. 127.0.0.1" + portOf(stripScheme(l.addr)) + "), use an authenticating listener (SASL_SSL, or SSL with ssl-client-auth=required), or pass --allow-unauthenticated-remote " +
				"(EDDY_ALLOW_UNAUTHENTICATED_REMOTE=true) to expose it anyway"})
		}
	}
	return errs
}

// RemoteListeners returns the keys of the listen addresses that are not
// loopback-only (for the start-up warning).
func (c Config) RemoteListeners() []string {
	var keys []string
	for _, l := range c.listenAddrs() {
		if host, _, err := net.SplitHostPort(stripScheme(l.addr)); err == nil && !IsLoopbackHost(host) {
			keys = append(keys, l.key+"="+l.addr)
		}
	}
	return keys
}

// listenAddrs are the client listeners protected mode covers: the Kafka
// listeners that do not authenticate (PLAINTEXT, SSL without required
// client certificates), and the HTTP and schema registry listeners (the
// latter only when it has its own) unless authentication is configured.
func (c Config) listenAddrs() []struct{ key, addr string } {
	type la = struct{ key, addr string }
	var ls []la
	kls, _ := c.KafkaListeners()
	for _, l := range kls {
		if l.Authenticates(c.SSLClientAuth) {
			continue
		}
		if c.Listeners == "" {
			ls = append(ls, la{"kafka-addr", l.Addr})
		} else {
			ls = append(ls, la{"listeners", l.Name + "://" + l.Addr})
		}
	}
	if c.AuthenticationConfigured() {
		return ls
	}
	ls = append(ls, la{"http-addr", c.HTTPAddr})
	if c.SchemaRegistryAddr != "" {
		ls = append(ls, la{"schema-registry-addr", c.SchemaRegistryAddr})
	}
	return ls
}

// IsLoopbackHost reports whether a listen host binds loopback only:
// "localhost", or an IP literal in 127.0.0.0/8 or ::1. An empty host (all
// interfaces), 0.0.0.0, :: and other names are not.
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

func portOf(addr string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil {
		return ":" + port
	}
	return ""
}

// stripScheme drops a listener's NAME:// prefix.
func stripScheme(addr string) string {
	if _, a, ok := strings.Cut(addr, "://"); ok {
		return a
	}
	return addr
}
