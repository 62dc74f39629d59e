package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// setting binds one key to one Config field: how to parse a raw string into
// it (the same parser for flags, environment and file) and how to print it.
type setting struct {
	key   string
	typ   string // shown in --help: string, bool, int, bytes, duration
	usage string
	set   func(c *Config, raw string) error
	get   func(c *Config) string
}

// EnvVar returns the environment variable that sets key: EDDY_ and the key
// upper-cased with dashes turned into underscores.
func EnvVar(key string) string {
	return "EDDY_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

// settings lists every key in the order --print-config and --help show them.
var settings = []setting{
	str("data-dir", "directory holding Eddy's data (one eddy serve per directory)", func(c *Config) *string { return &c.DataDir }),
	str("kafka-addr", "Kafka protocol listen address, host:port", func(c *Config) *string { return &c.KafkaAddr }),
	str("advertised-addr", "host:port returned to clients in Metadata (default: the address each client connected to)", func(c *Config) *string { return &c.AdvertisedAddr }),
	str("http-addr", "HTTP listen address for /healthz, /readyz, /metrics and the REST API", func(c *Config) *string { return &c.HTTPAddr }),
	str("schema-registry-addr", "schema registry (Confluent API) listen address; empty disables this listener (the API stays under /schema-registry/ on http-addr)", func(c *Config) *string { return &c.SchemaRegistryAddr }),
	boolean("allow-unauthenticated-remote", "let kafka-addr, http-addr and schema-registry-addr bind non-loopback addresses although no authentication is configured (protected mode otherwise refuses)", func(c *Config) *bool { return &c.AllowUnauthenticatedRemote }),
	byteSize("max-request-bytes", "largest Kafka request frame accepted (e.g. 100MiB)", func(c *Config) *int64 { return &c.MaxRequestBytes }),
	boolean("auto-create-topics", "create unknown topics on Metadata requests that allow it", func(c *Config) *bool { return &c.AutoCreateTopics }),
	integer("default-partitions", "partition count of auto-created topics", func(c *Config) *int { return &c.DefaultPartitions }),
	str("fsync", "default durability policy of topics: always, interval or never", func(c *Config) *string { return &c.Fsync }),
	duration("fsync-interval", "how often logs under fsync=interval are synced", func(c *Config) *time.Duration { return &c.FsyncInterval }),
	integer64("retention-ms", "default retention.ms of topics: delete segments older than this; -1 keeps forever", func(c *Config) *int64 { return &c.RetentionMs }),
	byteSizeOrUnlimited("retention-bytes", "default retention.bytes of topics: per-partition size limit, e.g. 10GiB; -1 is no limit", func(c *Config) *int64 { return &c.RetentionBytes }),
	duration("retention-check-interval", "how often retention runs over every partition", func(c *Config) *time.Duration { return &c.RetentionCheckInterval }),
	byteSize("segment-bytes", "default segment.bytes of topics: roll to a new segment file at this size", func(c *Config) *int64 { return &c.SegmentBytes }),
	str("log-format", "log format: text or json", func(c *Config) *string { return &c.LogFormat }),
	str("log-level", "log level: debug, info, warn or error", func(c *Config) *string { return &c.LogLevel }),
	duration("shutdown-timeout", "how long a graceful shutdown waits for in-flight requests", func(c *Config) *time.Duration { return &c.ShutdownTimeout }),
	integer("max-connections", "maximum concurrently open Kafka connections; 0 is no cap but what the open-files limit leaves", func(c *Config) *int { return &c.MaxConnections }),
	integer("max-open-files", "segment files of partition logs held open at once; the least recently used are closed and reopened on demand; 0 keeps every one open", func(c *Config) *int { return &c.MaxOpenFiles }),
	integer("max-inflight-per-conn", "maximum unanswered requests per Kafka connection before the server stops reading it", func(c *Config) *int { return &c.MaxInflightPerConn }),
	byteSize("produce-bytes-budget", "produce bytes held in memory awaiting write+fsync, across all connections, before producers are slowed by TCP backpressure", func(c *Config) *int64 { return &c.ProduceBytesBudget }),
	duration("idle-timeout", "close a Kafka connection that sends nothing for this long (Kafka's connections.max.idle.ms); 0 never does", func(c *Config) *time.Duration { return &c.IdleTimeout }),
	duration("frame-timeout", "how long one Kafka request frame may take to arrive after its size prefix; a slower one closes its connection; 0 is no bound", func(c *Config) *time.Duration { return &c.FrameTimeout }),
	byteSize("max-produce-bytes-per-conn", "produce bytes one Kafka connection may hold (read, or awaiting fsync and answer); 0 means max-request-bytes", func(c *Config) *int64 { return &c.MaxProduceBytesPerConn }),
	byteSize("fetch-max-bytes", "record bytes of one Fetch response across all its partitions, whatever the request asks (Kafka's broker fetch.max.bytes)", func(c *Config) *int64 { return &c.FetchMaxBytes }),
	byteSize("max-unsent-bytes-per-conn", "fetched record bytes queued on one Kafka connection and not yet written before the server stops reading it; 0 is no cap", func(c *Config) *int64 { return &c.MaxUnsentBytesPerConn }),
	integer("decompression-ratio", "a compressed batch may decompress to this many times its topic's max.message.bytes (at least 1 MiB), at most 256MiB; more is refused with INVALID_RECORD", func(c *Config) *int { return &c.DecompressionRatio }),
	integer("http-max-connections", "maximum open connections on the HTTP listener; more wait to be accepted", func(c *Config) *int { return &c.HTTPMaxConnections }),
	byteSize("http-body-budget", "request-body bytes all HTTP requests may hold at once, taken as they arrive; 0 is no cap", func(c *Config) *int64 { return &c.HTTPBodyBudget }),
	duration("http-body-timeout", "how long one HTTP request body may take to arrive; 0 is no bound", func(c *Config) *time.Duration { return &c.HTTPBodyTimeout }),
	duration("http-read-header-timeout", "how long HTTP request headers may take to arrive", func(c *Config) *time.Duration { return &c.HTTPReadHeaderTimeout }),
	duration("http-idle-timeout", "close an idle keep-alive HTTP connection after this long", func(c *Config) *time.Duration { return &c.HTTPIdleTimeout }),
	byteSize("commit-journal-bytes", "size of the commit journal: a commit round over several partitions appends their new bytes to this one file and syncs only it (their files are synced later, together); 0 syncs every partition's file each round", func(c *Config) *int64 { return &c.CommitJournalBytes }),
	byteSize("page-cache-per-partition", "how much of each partition's end stays in the page cache once on disk; older pages are dropped so busy partitions reuse pages; 0 leaves it to the kernel", func(c *Config) *int64 { return &c.PageCacheBytes }),
	byteSize("memory-limit", "soft memory limit of the Go runtime (the GC works harder near it); 0 is none; GOMEMLIMIT wins when set", func(c *Config) *int64 { return &c.MemoryLimit }),
	str("pprof-addr", "listen address of Go's profiling endpoints (/debug/pprof/), e.g. 127.0.0.1:6060; empty serves none", func(c *Config) *string { return &c.PprofAddr }),
	boolean("console-write", "allow the web console (/ui/) and the HTTP admin routes to create and delete topics; off, they are read-only", func(c *Config) *bool { return &c.ConsoleWrite }),
	str("authorizer", "none (everything allowed) or acl (Kafka's ACLs on every API and HTTP route, managed with eddy acl)", func(c *Config) *string { return &c.Authorizer }),
	str("super-users", "principals allowed everything under --authorizer acl, e.g. 'User:admin;User:ops'", func(c *Config) *string { return &c.SuperUsers }),
	boolean("allow-everyone-if-no-acl-found", "under --authorizer acl, allow actions on resources no ACL names", func(c *Config) *bool { return &c.AllowEveryoneIfNoACLFound }),
	str("listeners", "Kafka listeners, a comma list of NAME://host:port (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, or names mapped by listener-security-protocol-map); empty: one PLAINTEXT listener on kafka-addr", func(c *Config) *string { return &c.Listeners }),
	str("advertised-listeners", "host:port Metadata returns per listener, a comma list of NAME://host:port (default: the address each client connected to)", func(c *Config) *string { return &c.AdvertisedListeners }),
	str("listener-security-protocol-map", "security protocol of each listener not named after one, NAME:PROTOCOL,... e.g. CLIENT:SASL_SSL,INTERNAL:PLAINTEXT", func(c *Config) *string { return &c.ListenerProtocolMap }),
	str("sasl-mechanisms", "SASL mechanisms offered: a comma list for every SASL listener (default PLAIN,SCRAM-SHA-256,SCRAM-SHA-512), or per listener LISTENER=MECH,MECH;...", func(c *Config) *string { return &c.SASLMechanisms }),
	str("tls-cert", "PEM certificate (chain) of the SSL and SASL_SSL listeners; reloaded when the file changes", func(c *Config) *string { return &c.TLSCert }),
	str("tls-key", "PEM private key of tls-cert; reloaded when the file changes", func(c *Config) *string { return &c.TLSKey }),
	str("tls-client-ca", "PEM bundle of the CAs that client certificates must chain to (mutual TLS)", func(c *Config) *string { return &c.TLSClientCA }),
	str("ssl-client-auth", "client certificates on SSL listeners: none, requested or required", func(c *Config) *string { return &c.SSLClientAuth }),
	str("ssl-principal-mapping-rules", "map client certificate subjects to principals, Kafka's ssl.principal.mapping.rules: RULE:pattern/replacement/[LU],...,DEFAULT", func(c *Config) *string { return &c.SSLPrincipalMappingRules }),
	str("bootstrap-user", "user created at the first start of the data directory (password from EDDY_BOOTSTRAP_PASSWORD or bootstrap-password-file)", func(c *Config) *string { return &c.BootstrapUser }),
	str("bootstrap-password-file", "file whose first line is the bootstrap user's password", func(c *Config) *string { return &c.BootstrapPasswordFile }),
	str("http-tls-cert", "PEM certificate of the HTTP and schema registry listeners (default: tls-cert)", func(c *Config) *string { return &c.HTTPTLSCert }),
	str("http-tls-key", "PEM private key of http-tls-cert (default: tls-key)", func(c *Config) *string { return &c.HTTPTLSKey }),
	boolean("metrics-public", "serve /metrics without credentials when authentication is configured", func(c *Config) *bool { return &c.MetricsPublic }),
	boolean("pprof-allow-remote", "allow a pprof-addr that is not loopback (the profiles expose memory contents)", func(c *Config) *bool { return &c.PprofAllowRemote }),
}

// Keys returns every configuration key in display order.
func Keys() []string {
	keys := make([]string, len(settings))
	for i, s := range settings {
		keys[i] = s.key
	}
	return keys
}

func lookup(key string) (*setting, bool) {
	for i := range settings {
		if settings[i].key == key {
			return &settings[i], true
		}
	}
	return nil, false
}

func str(key, usage string, field func(*Config) *string) setting {
	return setting{key: key, typ: "string", usage: usage,
		set: func(c *Config, raw string) error { *field(c) = raw; return nil },
		get: func(c *Config) string { return *field(c) },
	}
}

func boolean(key, usage string, field func(*Config) *bool) setting {
	return setting{key: key, typ: "bool", usage: usage,
		set: func(c *Config, raw string) error {
			v, err := strconv.ParseBool(raw)
			if err != nil {
				return errors.New("want true or false")
			}
			*field(c) = v
			return nil
		},
		get: func(c *Config) string { return strconv.FormatBool(*field(c)) },
	}
}

func integer(key, usage string, field func(*Config) *int) setting {
	return setting{key: key, typ: "int", usage: usage,
		set: func(c *Config, raw string) error {
			v, err := strconv.Atoi(raw)
			if err != nil {
				return errors.New("want a whole number")
			}
			*field(c) = v
			return nil
		},
		get: func(c *Config) string { return strconv.Itoa(*field(c)) },
	}
}

func integer64(key, usage string, field func(*Config) *int64) setting {
	return setting{key: key, typ: "int", usage: usage,
		set: func(c *Config, raw string) error {
			v, err := strconv.ParseInt(raw, 10, 64)
			if err != nil {
				return errors.New("want a whole number")
			}
			*field(c) = v
			return nil
		},
		get: func(c *Config) string { return strconv.FormatInt(*field(c), 10) },
	}
}

// byteSizeOrUnlimited is a byte size that also accepts -1 for "no limit".
func byteSizeOrUnlimited(key, usage string, field func(*Config) *int64) setting {
	s := byteSize(key, usage, field)
	set := s.set
	s.set = func(c *Config, raw string) error {
		if strings.TrimSpace(raw) == "-1" {
			*field(c) = -1
			return nil
		}
		if err := set(c, raw); err != nil {
			return errors.New("want -1 or a byte size such as 1073741824, 512MiB or 10GiB")
		}
		return nil
	}
	s.get = func(c *Config) string {
		if *field(c) == -1 {
			return "-1"
		}
		return formatBytes(*field(c))
	}
	return s
}

func byteSize(key, usage string, field func(*Config) *int64) setting {
	return setting{key: key, typ: "bytes", usage: usage,
		set: func(c *Config, raw string) error {
			v, err := ParseBytes(raw)
			if err != nil {
				return err
			}
			*field(c) = v
			return nil
		},
		get: func(c *Config) string { return formatBytes(*field(c)) },
	}
}

func duration(key, usage string, field func(*Config) *time.Duration) setting {
	return setting{key: key, typ: "duration", usage: usage,
		set: func(c *Config, raw string) error {
			v, err := time.ParseDuration(raw)
			if err != nil {
				return errors.New("want a duration such as 500ms, 30s or 2m")
			}
			*field(c) = v
			return nil
		},
		get: func(c *Config) string { return (*field(c)).String() },
	}
}

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	// Longest suffixes first so "MiB" is not read as "B".
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// ParseBytes parses a byte size: a whole number with an optional unit, one of
// B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024).
// "100MiB", "1048576" and "64 KB" are accepted; negative sizes are not.
func ParseBytes(raw string) (int64, error) {
	s := strings.TrimSpace(raw)
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("want a byte size such as 1048576, 64KiB or 100MiB")
	}
	if n > 0 && mult > 1 && n > (1<<63-1)/mult {
		return 0, errors.New("byte size overflows int64")
	}
	return n * mult, nil
}

// formatBytes prints n with the largest binary unit that divides it exactly,
// so the output parses back to the same value.
func formatBytes(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.mult == 0 {
			return fmt.Sprintf("%d%s", n/u.mult, u.suffix)
		}
	}
	return strconv.FormatInt(n, 10)
}
