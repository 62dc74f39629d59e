// Package config holds the configuration of `eddy serve`: one Config struct,
// its defaults, its validation, and loading with the precedence
// flags > EDDY_* environment variables > config file > defaults.
//
// Every setting has one key used everywhere: the flag `--max-request-bytes`,
// the environment variable `EDDY_MAX_REQUEST_BYTES` and the config-file key
// `max-request-bytes`. All three sources are parsed by the same code, so
// `100MiB` and `30s` mean the same thing in a flag, in the environment and in
// the file.
//
// A Config is a plain value; nothing in this package is shared or mutable
// after Load returns, so it is safe to use from any goroutine.
//
// Usage:
//
//	fl := config.BindFlags(cmd.Flags())   // when building the command
//	...
//	loaded, err := config.Load(fl, os.LookupEnv)
//	if err != nil { /* exit 2: err names every bad key */ }
//	cfg := loaded.Config
package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Fsync policies accepted by the fsync setting.
const (
	FsyncAlways   = "always"
	FsyncInterval = "interval"
	FsyncNever    = "never"
)

// Log formats and levels accepted by log-format and log-level.
const (
	LogFormatText = "text"
	LogFormatJSON = "json"
)

// Config is the effective configuration of one `eddy serve` process.
type Config struct {
	// DataDir is the directory holding every partition log and the metadata
	// store. One process owns it at a time (a lock file enforces this).
	DataDir string
	// KafkaAddr is the Kafka protocol listen address, host:port.
	KafkaAddr string
	// AdvertisedAddr is the host:port that Metadata responses return to
	// clients; empty means derive it from KafkaAddr.
	AdvertisedAddr string
	// HTTPAddr is the HTTP listen address (health, metrics, REST API).
	HTTPAddr string
	// SchemaRegistryAddr is the listen address of the Confluent-compatible
	// schema registry API; empty serves it only under /schema-registry/ on
	// HTTPAddr.
	SchemaRegistryAddr string
	// MaxRequestBytes caps the size of one Kafka request frame; larger frames
	// are refused before anything is allocated for them.
	MaxRequestBytes int64
	// AutoCreateTopics creates unknown topics on Metadata requests that allow it.
	AutoCreateTopics bool
	// DefaultPartitions is the partition count of auto-created topics and of
	// CreateTopics requests that leave it to the server.
	DefaultPartitions int
	// Fsync is the default durability policy of new topics: always, interval
	// or never. Topics can override it with the eddy.fsync config.
	Fsync string
	// FsyncInterval is how often logs under the interval policy are synced.
	FsyncInterval time.Duration
	// RetentionMs is the default retention.ms of topics: segments whose
	// newest record is older are deleted; -1 keeps forever.
	RetentionMs int64
	// RetentionBytes is the default retention.bytes of topics: the oldest
	// segments of a partition larger than this are deleted; -1 is no limit.
	RetentionBytes int64
	// RetentionCheckInterval is how often retention runs over every
	// partition (Kafka's log.retention.check.interval.ms).
	RetentionCheckInterval time.Duration
	// SegmentBytes is the default segment.bytes of topics: the size at
	// which a partition rolls to a new segment file.
	SegmentBytes int64
	// LogFormat is text or json.
	LogFormat string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// ShutdownTimeout bounds how long a graceful shutdown waits for in-flight
	// requests before closing connections.
	ShutdownTimeout time.Duration
	// MaxConnections caps concurrently open Kafka connections; 0 (the
	// default, as Kafka's max.connections) sets no cap of its own: the
	// open-files limit is the cap (see eddy serve).
	MaxConnections int
	// MaxOpenFiles bounds the partition segment files held open at once
	// (commitlog.FileCache: the least recently used are closed and
	// reopened on demand); 0 (the default) keeps every one open.
	MaxOpenFiles int
	// MaxInflightPerConn caps requests read from one connection and not yet
	// answered; past it the server stops reading that socket.
	MaxInflightPerConn int
	// ProduceBytesBudget caps produce bytes held in memory while waiting to
	// be written and fsynced, across all connections; past it the server
	// stops reading from producers (TCP backpressure).
	ProduceBytesBudget int64
	// IdleTimeout closes a Kafka connection that sends nothing for this
	// long (Kafka's connections.max.idle.ms); 0 never does.
	IdleTimeout time.Duration
	// FrameTimeout bounds how long one Kafka request frame may take to
	// arrive once its size prefix is read; 0 is no bound.
	FrameTimeout time.Duration
	// MaxProduceBytesPerConn caps the produce bytes one Kafka connection
	// holds (read, or awaiting fsync and answer); 0 means MaxRequestBytes.
	MaxProduceBytesPerConn int64
	// FetchMaxBytes caps the record bytes of one Fetch response across
	// its partitions (Kafka's broker fetch.max.bytes).
	FetchMaxBytes int64
	// MaxUnsentBytesPerConn caps the fetched record bytes queued on one
	// Kafka connection and not yet written; 0 is no cap.
	MaxUnsentBytesPerConn int64
	// DecompressionRatio bounds what a compressed batch may decompress
	// to, as a multiple of its topic's max.message.bytes (at least 1 MiB).
	DecompressionRatio int
	// HTTPMaxConnections caps open connections on the HTTP listener.
	HTTPMaxConnections int
	// HTTPBodyBudget caps the request-body bytes all HTTP requests hold at
	// once; 0 is no cap.
	HTTPBodyBudget int64
	// HTTPBodyTimeout bounds how long one HTTP request body may take to
	// arrive; 0 is no bound.
	HTTPBodyTimeout time.Duration
	// HTTPReadHeaderTimeout bounds how long HTTP request headers may take
	// to arrive.
	HTTPReadHeaderTimeout time.Duration
	// HTTPIdleTimeout closes an idle keep-alive HTTP connection.
	HTTPIdleTimeout time.Duration
	// MemoryLimit is the Go runtime's soft memory limit for eddy serve
	// (runtime/debug.SetMemoryLimit); 0 sets none. The GOMEMLIMIT
	// environment variable, when set, wins.
	MemoryLimit int64
	// AllowUnauthenticatedRemote lets the listeners bind non-loopback
	// addresses although Eddy has no authentication (protected mode, see
	// protected.go). Default false.
	AllowUnauthenticatedRemote bool
	// PageCacheBytes is how much of each partition's end stays in the page
	// cache after it is on disk; older pages are dropped so busy partitions
	// reuse pages (commitlog.Options.CacheBytes). 0 leaves the page cache to
	// the kernel.
	PageCacheBytes int64
	// CommitJournalBytes sizes the commit journal: a commit round over
	// several partitions appends their new bytes to this one file and
	// syncs it instead of syncing every partition's file
	// (commitlog.CommitterOptions.JournalBytes). 0 disables it.
	CommitJournalBytes int64
	// PprofAddr is the listen address of Go's profiling endpoints
	// (/debug/pprof/), on a listener and mux of their own; empty (the
	// default) serves none. Only a loopback host is accepted unless
	// PprofAllowRemote is set.
	PprofAddr string
	// PprofAllowRemote allows a PprofAddr that is not loopback-only (the
	// profiles expose memory contents and cost CPU).
	PprofAllowRemote bool
	// ConsoleWrite allows the web console's write actions (topic create
	// and delete through the HTTP admin routes); off, they answer 403.
	ConsoleWrite bool
	// Authorizer is "none" (everything allowed, Kafka without an
	// authorizer) or "acl" (Kafka's ACLs, docs/security.md).
	Authorizer string
	// SuperUsers are the principals allowed everything under the acl
	// authorizer, Kafka's super.users: "User:admin;User:ops".
	SuperUsers string
	// AllowEveryoneIfNoACLFound allows actions on resources no ACL names
	// (Kafka's allow.everyone.if.no.acl.found). Default false.
	AllowEveryoneIfNoACLFound bool

	// Security (listeners.go, docs/security.md).

	// Listeners is Kafka's listeners: a comma list of NAME://host:port;
	// empty means one PLAINTEXT listener on KafkaAddr.
	Listeners string
	// AdvertisedListeners is a comma list of NAME://host:port that
	// Metadata returns to clients of each listener.
	AdvertisedListeners string
	// ListenerProtocolMap maps listener names to security protocols,
	// NAME:PROTOCOL,...; a listener named after a protocol needs none.
	ListenerProtocolMap string
	// SASLMechanisms are the SASL mechanisms offered: a comma list for
	// every SASL listener, or LISTENER=MECH,MECH;... per listener.
	SASLMechanisms string
	// TLSCert and TLSKey are the PEM certificate and key of the SSL and
	// SASL_SSL listeners, reloaded when the files change.
	TLSCert, TLSKey string
	// TLSClientCA is the PEM bundle of CAs client certificates must chain
	// to (mutual TLS).
	TLSClientCA string
	// SSLClientAuth is none, requested or required (Kafka's
	// ssl.client.auth) on SSL listeners.
	SSLClientAuth string
	// SSLPrincipalMappingRules map client certificate subjects to
	// principals (Kafka's ssl.principal.mapping.rules).
	SSLPrincipalMappingRules string
	// BootstrapUser is created with BootstrapPassword at the first start
	// of the data directory.
	BootstrapUser string
	// BootstrapPasswordFile holds the bootstrap user's password (first
	// line); EDDY_BOOTSTRAP_PASSWORD is the other way to give it.
	BootstrapPasswordFile string
	// BootstrapPassword is read from EDDY_BOOTSTRAP_PASSWORD or
	// BootstrapPasswordFile by Load; it is no setting of its own, so it is
	// never printed nor given as a flag.
	BootstrapPassword string
	// HTTPTLSCert and HTTPTLSKey serve the HTTP and schema registry
	// listeners over TLS; empty uses TLSCert/TLSKey when set.
	HTTPTLSCert, HTTPTLSKey string
	// MetricsPublic serves /metrics without credentials when
	// authentication is configured.
	MetricsPublic bool
}

// Default returns the configuration used when nothing else is set.
func Default() Config {
	return Config{
		DataDir:                "eddy-data",
		KafkaAddr:              "127.0.0.1:9092",
		HTTPAddr:               "127.0.0.1:8080",
		SchemaRegistryAddr:     "127.0.0.1:8081",
		MaxRequestBytes:        100 << 20,
		AutoCreateTopics:       true,
		DefaultPartitions:      1,
		Fsync:                  FsyncAlways,
		FsyncInterval:          time.Second,
		RetentionMs:            7 * 24 * 3600 * 1000,
		RetentionBytes:         -1,
		RetentionCheckInterval: time.Minute,
		SegmentBytes:           1 << 30,
		LogFormat:              LogFormatText,
		LogLevel:               "info",
		ShutdownTimeout:        30 * time.Second,
		MaxConnections:         0,
		MaxInflightPerConn:     32,
		ProduceBytesBudget:     256 << 20,
		MemoryLimit:            512 << 20,
		IdleTimeout:            10 * time.Minute,
		FrameTimeout:           30 * time.Second,
		FetchMaxBytes:          55 << 20,
		MaxUnsentBytesPerConn:  32 << 20,
		DecompressionRatio:     64,
		HTTPMaxConnections:     1024,
		HTTPBodyBudget:         64 << 20,
		HTTPBodyTimeout:        30 * time.Second,
		HTTPReadHeaderTimeout:  10 * time.Second,
		HTTPIdleTimeout:        2 * time.Minute,
		PageCacheBytes:         256 << 20,
		CommitJournalBytes:     128 << 20, // at 1,000 partitions 64 MiB gave 5-8 % fewer records/s, 256 MiB 1-6 % more (docs/scale.md)
		Authorizer:             AuthorizerNone,
		SSLClientAuth:          ClientAuthNone,
	}
}

// Authorizers.
const (
	AuthorizerNone = "none"
	AuthorizerACL  = "acl"
)

// Limits enforced by Validate.
const (
	minRequestBytes   = 1 << 10
	maxRequestBytes   = 1<<31 - 1 // a Kafka frame length is an int32
	maxPartitions     = 10000
	maxInflightPerCon = 1000
	minSegmentBytes   = 1 << 10
	maxSegmentBytes   = 1<<31 - 1 // segment positions are 32-bit
)

// Validate reports every invalid setting at once, joined with errors.Join.
// Each joined error is a *KeyError naming the setting's key and saying what
// is allowed.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if c.DataDir == "" {
		bad("data-dir", "must not be empty")
	}
	if err := checkListenAddr(c.KafkaAddr); err != nil {
		bad("kafka-addr", "%q: %v; want host:port, e.g. :9092 or 127.0.0.1:9092", c.KafkaAddr, err)
	}
	if c.AdvertisedAddr != "" {
		if err := checkAdvertisedAddr(c.AdvertisedAddr); err != nil {
			bad("advertised-addr", "%q: %v; want host:port with a host clients can reach, e.g. broker1.example.com:9092", c.AdvertisedAddr, err)
		}
	}
	if err := checkListenAddr(c.HTTPAddr); err != nil {
		bad("http-addr", "%q: %v; want host:port, e.g. :8080 or 127.0.0.1:8080", c.HTTPAddr, err)
	} else if c.HTTPAddr == c.KafkaAddr && !hasPortZero(c.HTTPAddr) {
		bad("http-addr", "%q is also kafka-addr; the two listeners need different ports", c.HTTPAddr)
	}
	if c.SchemaRegistryAddr != "" {
		if err := checkListenAddr(c.SchemaRegistryAddr); err != nil {
			bad("schema-registry-addr", "%q: %v; want host:port, e.g. :8081 or 127.0.0.1:8081, or empty to disable the listener", c.SchemaRegistryAddr, err)
		} else if (c.SchemaRegistryAddr == c.KafkaAddr || c.SchemaRegistryAddr == c.HTTPAddr) && !hasPortZero(c.SchemaRegistryAddr) {
			bad("schema-registry-addr", "%q is also the Kafka or HTTP address; each listener needs its own port", c.SchemaRegistryAddr)
		}
	}
	errs = append(errs, c.checkSecurity()...)
	errs = append(errs, c.checkProtectedMode()...)
	if c.MaxRequestBytes < minRequestBytes || c.MaxRequestBytes > maxRequestBytes {
		bad("max-request-bytes", "%d is out of range; allowed %s to %d bytes", c.MaxRequestBytes, formatBytes(minRequestBytes), int64(maxRequestBytes))
	}
	if c.DefaultPartitions < 1 || c.DefaultPartitions > maxPartitions {
		bad("default-partitions", "%d is out of range; allowed 1 to %d", c.DefaultPartitions, maxPartitions)
	}
	switch c.Fsync {
	case FsyncAlways, FsyncInterval, FsyncNever:
	default:
		bad("fsync", "%q is not allowed; use always, interval or never", c.Fsync)
	}
	switch c.Authorizer {
	case AuthorizerNone, AuthorizerACL:
	default:
		bad("authorizer", "%q is not allowed; use none or acl", c.Authorizer)
	}
	for _, p := range strings.Split(c.SuperUsers, ";") {
		if t, n, ok := strings.Cut(strings.TrimSpace(p), ":"); strings.TrimSpace(p) != "" && (!ok || t == "" || n == "") {
			bad("super-users", "%q is not a principal; want Type:Name entries separated by semicolons, e.g. 'User:admin;User:ops'", strings.TrimSpace(p))
		}
	}
	if c.FsyncInterval < time.Millisecond || c.FsyncInterval > time.Hour {
		bad("fsync-interval", "%s is out of range; allowed 1ms to 1h", c.FsyncInterval)
	}
	if c.RetentionMs < -1 {
		bad("retention-ms", "%d is out of range; use -1 (keep forever) or a number of milliseconds", c.RetentionMs)
	}
	if c.RetentionCheckInterval < 100*time.Millisecond || c.RetentionCheckInterval > 24*time.Hour {
		bad("retention-check-interval", "%s is out of range; allowed 100ms to 24h", c.RetentionCheckInterval)
	}
	if c.RetentionBytes < -1 {
		bad("retention-bytes", "%d is out of range; use -1 (no limit) or a byte size", c.RetentionBytes)
	}
	if c.SegmentBytes < minSegmentBytes || c.SegmentBytes > maxSegmentBytes {
		bad("segment-bytes", "%s is out of range; allowed %s to %d bytes", formatBytes(c.SegmentBytes), formatBytes(minSegmentBytes), int64(maxSegmentBytes))
	}
	switch c.LogFormat {
	case LogFormatText, LogFormatJSON:
	default:
		bad("log-format", "%q is not allowed; use text or json", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level", "%q is not allowed; use debug, info, warn or error", c.LogLevel)
	}
	if c.ShutdownTimeout <= 0 || c.ShutdownTimeout > time.Hour {
		bad("shutdown-timeout", "%s is out of range; allowed more than 0s up to 1h", c.ShutdownTimeout)
	}
	if c.MaxConnections < 0 {
		bad("max-connections", "%d is out of range; must be 0 (no cap but the open-files limit) or more", c.MaxConnections)
	}
	if c.MaxOpenFiles < 0 {
		bad("max-open-files", "%d is negative; use 0 (every segment file stays open) or a bound such as 4096", c.MaxOpenFiles)
	}
	if c.MaxInflightPerConn < 1 || c.MaxInflightPerConn > maxInflightPerCon {
		bad("max-inflight-per-conn", "%d is out of range; allowed 1 to %d", c.MaxInflightPerConn, maxInflightPerCon)
	}
	if c.ProduceBytesBudget < c.MaxRequestBytes {
		bad("produce-bytes-budget", "%s is below max-request-bytes (%s); it must hold at least one maximal request", formatBytes(c.ProduceBytesBudget), formatBytes(c.MaxRequestBytes))
	}
	errs = append(errs, c.checkLimits()...)
	if c.CommitJournalBytes < 0 {
		bad("commit-journal-bytes", "%d is negative; use 0 (sync every partition's file) or a size such as 128MiB", c.CommitJournalBytes)
	}
	if c.PageCacheBytes < 0 {
		bad("page-cache-per-partition", "%d is negative; use 0 (leave the page cache to the kernel) or a size such as 256MiB", c.PageCacheBytes)
	}
	if c.PprofAddr != "" {
		if err := checkListenAddr(c.PprofAddr); err != nil {
			bad("pprof-addr", "%q: %v; want host:port, e.g. 127.0.0.1:6060", c.PprofAddr, err)
		} else if !c.PprofAllowRemote && !isLoopback(c.PprofAddr) {
			bad("pprof-addr", "%q listens beyond loopback; use 127.0.0.1:PORT, or set pprof-allow-remote to expose the profiles", c.PprofAddr)
		} else if !hasPortZero(c.PprofAddr) && (c.PprofAddr == c.KafkaAddr || c.PprofAddr == c.HTTPAddr) {
			bad("pprof-addr", "%q is also kafka-addr or http-addr; the listeners need different ports", c.PprofAddr)
		}
	}
	if c.MemoryLimit != 0 && c.MemoryLimit < minMemoryLimit {
		bad("memory-limit", "%s is out of range; use 0 (no limit) or at least %s", formatBytes(c.MemoryLimit), formatBytes(minMemoryLimit))
	}
	return errors.Join(errs...)
}

// minMemoryLimit is the smallest memory-limit accepted: below it the
// garbage collector would run almost continuously.
const minMemoryLimit = 32 << 20

func checkListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("not host:port")
	}
	return checkPort(port, true)
}

func checkAdvertisedAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("not host:port")
	}
	if host == "" {
		return errors.New("missing host")
	}
	return checkPort(port, false)
}

func checkPort(port string, zeroOK bool) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !zeroOK) {
		if zeroOK {
			return fmt.Errorf("port %q is not a number from 0 to 65535", port)
		}
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

// isLoopback reports whether addr's host is localhost or a loopback IP
// (an empty host, ":6060", listens on every interface).
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func hasPortZero(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	return err == nil && port == "0"
}
