package config

import (
	"net"
	"net/netip"
)

// Protected mode, as Redis's: Eddy has no authentication yet, so by
// default its listeners bind loopback only (127.0.0.1:9092, 127.0.0.1:8080
// and the schema registry's 127.0.0.1:8081) and Validate refuses any other bind address unless
// allow-unauthenticated-remote is set; `eddy serve` then logs a warning at
// start (RemoteListeners names what is exposed).

// checkProtectedMode refuses non-loopback listen addresses without
// allow-unauthenticated-remote.
func (c Config) checkProtectedMode() []error {
	if c.AllowUnauthenticatedRemote {
		return nil
	}
	var errs []error
	for _, l := range c.listenAddrs() {
		if host, _, err := net.SplitHostPort(l.addr); err == nil && !IsLoopbackHost(host) {
			errs = append(errs, &KeyError{Key: l.key, Msg: "\"" + l.addr + "\" is reachable from other machines and Eddy has no authentication; " +
				"bind a loopback address (e.g. 127.0.0.1" + portOf(l.addr) + "), or pass --allow-unauthenticated-remote " +
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
		if host, _, err := net.SplitHostPort(l.addr); err == nil && !IsLoopbackHost(host) {
			keys = append(keys, l.key+"="+l.addr)
		}
	}
	return keys
}

// listenAddrs are the client listeners protected mode covers (the
// schema registry's only when it has its own).
func (c Config) listenAddrs() []struct{ key, addr string } {
	ls := []struct{ key, addr string }{{"kafka-addr", c.KafkaAddr}, {"http-addr", c.HTTPAddr}}
	if c.SchemaRegistryAddr != "" {
		ls = append(ls, struct{ key, addr string }{"schema-registry-addr", c.SchemaRegistryAddr})
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
