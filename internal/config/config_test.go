package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func envFrom(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "eddy.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, args []string, env map[string]string) (Loaded, error) {
	t.Helper()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fl := BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return Load(fl, envFrom(env))
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, "log-level: warn\ndefault-partitions: 3\nfsync: interval\n")
	fileEnv := map[string]string{"EDDY_CONFIG": file}
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantLevel  string
		wantSource string
	}{
		{"default", nil, nil, "info", "default"},
		{"file over default", []string{"--config", file}, nil, "warn", "file " + file},
		{"file via EDDY_CONFIG", nil, fileEnv, "warn", "file " + file},
		{"env over file", []string{"--config", file}, map[string]string{"EDDY_LOG_LEVEL": "error"}, "error", "env EDDY_LOG_LEVEL"},
		{"env over default", nil, map[string]string{"EDDY_LOG_LEVEL": "debug"}, "debug", "env EDDY_LOG_LEVEL"},
		{"flag over env over file", []string{"--config", file, "--log-level", "debug"}, map[string]string{"EDDY_LOG_LEVEL": "error"}, "debug", "flag --log-level"},
		{"flag over default", []string{"--log-level=warn"}, nil, "warn", "flag --log-level"},
		{"empty env is unset", []string{"--config", file}, map[string]string{"EDDY_LOG_LEVEL": ""}, "warn", "file " + file},
		{"--config flag over EDDY_CONFIG", []string{"--config", file}, map[string]string{"EDDY_CONFIG": "/nonexistent.yaml"}, "warn", "file " + file},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := load(t, tt.args, tt.env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if l.Config.LogLevel != tt.wantLevel || l.Sources["log-level"] != tt.wantSource {
				t.Errorf("log-level = %q from %q, want %q from %q", l.Config.LogLevel, l.Sources["log-level"], tt.wantLevel, tt.wantSource)
			}
		})
	}
}

func TestEveryKeyFromEverySource(t *testing.T) {
	// One non-default value per key, set once through each source, must land in
	// the same Config field.
	pem := writeFile(t, "not checked by Load")
	pwFile := writeFile(t, "s3cret\nignored second line\n")
	values := map[string]string{
		"data-dir": "/var/lib/eddy", "kafka-addr": "127.0.0.1:19092", "advertised-addr": "eddy.example:19092",
		"http-addr": "127.0.0.1:18080", "max-request-bytes": "2MiB", "auto-create-topics": "false",
		"default-partitions": "6", "fsync": "never", "fsync-interval": "250ms", "log-format": "json",
		"log-level": "debug", "shutdown-timeout": "5s", "max-connections": "7", "max-open-files": "300", "commit-journal-bytes": "16MiB", "max-inflight-per-conn": "4",
		"produce-bytes-budget": "64MiB", "retention-ms": "-1", "retention-bytes": "10GiB", "segment-bytes": "64MiB",
		"memory-limit": "1GiB", "page-cache-per-partition": "64MiB", "retention-check-interval": "2s",
		"pprof-addr": "127.0.0.1:6060", "pprof-allow-remote": "true", "console-write": "true",
		"schema-registry-addr": "127.0.0.1:18081", "allow-unauthenticated-remote": "true",
		"idle-timeout": "1m", "frame-timeout": "5s", "max-produce-bytes-per-conn": "4MiB", "fetch-max-bytes": "8MiB",
		"max-unsent-bytes-per-conn": "16MiB", "decompression-ratio": "16", "http-max-connections": "50",
		"http-body-budget": "8MiB", "http-body-timeout": "7s", "http-read-header-timeout": "3s", "http-idle-timeout": "40s",
		"authorizer": "acl", "super-users": "User:admin;User:ops", "allow-everyone-if-no-acl-found": "true",
		"listeners": "PLAINTEXT://127.0.0.1:19093,CLIENT://0.0.0.0:19094", "listener-security-protocol-map": "CLIENT:SASL_SSL",
		"advertised-listeners": "CLIENT://eddy.example:19094", "sasl-mechanisms": "SCRAM-SHA-512",
		"tls-cert": pem, "tls-key": pem, "tls-client-ca": pem, "ssl-client-auth": "required",
		"ssl-principal-mapping-rules": "RULE:^CN=([^,]+),.*$/$1/L,DEFAULT", "bootstrap-user": "admin",
		"bootstrap-password-file": pwFile, "http-tls-cert": pem, "http-tls-key": pem, "metrics-public": "true",
	}
	want := Config{
		DataDir: "/var/lib/eddy", KafkaAddr: "127.0.0.1:19092", AdvertisedAddr: "eddy.example:19092",
		HTTPAddr: "127.0.0.1:18080", MaxRequestBytes: 2 << 20, AutoCreateTopics: false,
		DefaultPartitions: 6, Fsync: "never", FsyncInterval: 250 * time.Millisecond, LogFormat: "json",
		LogLevel: "debug", ShutdownTimeout: 5 * time.Second, MaxConnections: 7, MaxOpenFiles: 300, CommitJournalBytes: 16 << 20, MaxInflightPerConn: 4,
		ProduceBytesBudget: 64 << 20, RetentionMs: -1, RetentionBytes: 10 << 30, SegmentBytes: 64 << 20,
		MemoryLimit: 1 << 30, PageCacheBytes: 64 << 20, RetentionCheckInterval: 2 * time.Second,
		PprofAddr: "127.0.0.1:6060", PprofAllowRemote: true, ConsoleWrite: true,
		SchemaRegistryAddr: "127.0.0.1:18081", AllowUnauthenticatedRemote: true,
		IdleTimeout: time.Minute, FrameTimeout: 5 * time.Second, MaxProduceBytesPerConn: 4 << 20, FetchMaxBytes: 8 << 20,
		MaxUnsentBytesPerConn: 16 << 20, DecompressionRatio: 16, HTTPMaxConnections: 50,
		HTTPBodyBudget: 8 << 20, HTTPBodyTimeout: 7 * time.Second, HTTPReadHeaderTimeout: 3 * time.Second, HTTPIdleTimeout: 40 * time.Second,
		Authorizer: "acl", SuperUsers: "User:admin;User:ops", AllowEveryoneIfNoACLFound: true,
		Listeners: "PLAINTEXT://127.0.0.1:19093,CLIENT://0.0.0.0:19094", ListenerProtocolMap: "CLIENT:SASL_SSL",
		AdvertisedListeners: "CLIENT://eddy.example:19094", SASLMechanisms: "SCRAM-SHA-512",
		TLSCert: pem, TLSKey: pem, TLSClientCA: pem, SSLClientAuth: "required",
		SSLPrincipalMappingRules: "RULE:^CN=([^,]+),.*$/$1/L,DEFAULT", BootstrapUser: "admin",
		BootstrapPasswordFile: pwFile, BootstrapPassword: "s3cret", HTTPTLSCert: pem, HTTPTLSKey: pem, MetricsPublic: true,
	}
	if len(values) != len(settings) {
		t.Fatalf("test covers %d keys, there are %d", len(values), len(settings))
	}
	var args []string
	env := map[string]string{}
	var yml strings.Builder
	for k, v := range values {
		args = append(args, "--"+k+"="+v)
		env[EnvVar(k)] = v
		yml.WriteString(k + ": " + v + "\n")
	}
	file := writeFile(t, yml.String())
	for name, in := range map[string]struct {
		args []string
		env  map[string]string
	}{
		"flags": {args, nil},
		"env":   {nil, env},
		"file":  {[]string{"--config", file}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			l, err := load(t, in.args, in.env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if l.Config != want {
				t.Errorf("got  %+v\nwant %+v", l.Config, want)
			}
			for k, src := range l.Sources {
				if src == "default" {
					t.Errorf("key %s still from default", k)
				}
			}
		})
	}
}

func TestBoolFlagWithoutValue(t *testing.T) {
	l, err := load(t, []string{"--auto-create-topics"}, map[string]string{"EDDY_AUTO_CREATE_TOPICS": "false"})
	if err != nil {
		t.Fatal(err)
	}
	if !l.Config.AutoCreateTopics {
		t.Error("--auto-create-topics alone did not mean true")
	}
}

func TestInvalidValuesAllReported(t *testing.T) {
	file := writeFile(t, "fsync: sometimes\nbogus-key: 1\nmax-connections: [1, 2]\n")
	_, err := load(t,
		[]string{"--config", file, "--log-format=xml", "--default-partitions=0"},
		map[string]string{"EDDY_SHUTDOWN_TIMEOUT": "soon", "EDDY_MAX_REQUEST_BYTES": "12", "EDDY_RETENTION_BYTES": "lots"},
	)
	if err == nil {
		t.Fatal("Load accepted invalid values")
	}
	msg := err.Error()
	for _, want := range []string{
		`fsync (from file ` + file + `): "sometimes" is not allowed; use always, interval or never`,
		`bogus-key (from file ` + file + `): unknown key (line 2)`,
		`max-connections (from file ` + file + `): line 3: want a single value`,
		`log-format (from flag --log-format): "xml" is not allowed; use text or json`,
		`default-partitions (from flag --default-partitions): 0 is out of range; allowed 1 to 10000`,
		`shutdown-timeout (from env EDDY_SHUTDOWN_TIMEOUT): "soon": want a duration`,
		`max-request-bytes (from env EDDY_MAX_REQUEST_BYTES): 12 is out of range`,
		`retention-bytes (from env EDDY_RETENTION_BYTES): "lots": want -1 or a byte size`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q; got:\n%s", want, msg)
		}
	}
	var ke *KeyError
	if !errors.As(err, &ke) {
		t.Errorf("error is not a *KeyError: %T", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*Config)
		wantKey string // "" means valid
	}{
		{"default", func(*Config) {}, ""},
		{"empty data dir", func(c *Config) { c.DataDir = "" }, "data-dir"},
		{"kafka addr no port", func(c *Config) { c.KafkaAddr = "localhost" }, "kafka-addr"},
		{"kafka addr port 0 ok", func(c *Config) { c.KafkaAddr = "127.0.0.1:0" }, ""},
		{"kafka addr bad port", func(c *Config) { c.KafkaAddr = ":99999" }, "kafka-addr"},
		{"advertised needs host", func(c *Config) { c.AdvertisedAddr = ":9092" }, "advertised-addr"},
		{"advertised port 0", func(c *Config) { c.AdvertisedAddr = "h:0" }, "advertised-addr"},
		{"same listen addr", func(c *Config) { c.HTTPAddr = c.KafkaAddr }, "http-addr"},
		{"schema registry on the http port", func(c *Config) { c.SchemaRegistryAddr = c.HTTPAddr }, "schema-registry-addr"},
		{"schema registry bad addr", func(c *Config) { c.SchemaRegistryAddr = "nope" }, "schema-registry-addr"},
		{"schema registry listener disabled", func(c *Config) { c.SchemaRegistryAddr = "" }, ""},
		{"both port 0 ok", func(c *Config) { c.HTTPAddr, c.KafkaAddr = "127.0.0.1:0", "127.0.0.1:0" }, ""},
		{"request bytes too big", func(c *Config) { c.MaxRequestBytes = 1 << 31 }, "max-request-bytes"},
		{"partitions too many", func(c *Config) { c.DefaultPartitions = 10001 }, "default-partitions"},
		{"fsync unknown", func(c *Config) { c.Fsync = "Always" }, "fsync"},
		{"authorizer unknown", func(c *Config) { c.Authorizer = "simple" }, "authorizer"},
		{"authorizer acl", func(c *Config) { c.Authorizer, c.SuperUsers = "acl", " User:admin ; User:ops;" }, ""},
		{"super user without a type", func(c *Config) { c.SuperUsers = "User:admin;ops" }, "super-users"},
		{"fsync interval zero", func(c *Config) { c.FsyncInterval = 0 }, "fsync-interval"},
		{"log level", func(c *Config) { c.LogLevel = "trace" }, "log-level"},
		{"shutdown zero", func(c *Config) { c.ShutdownTimeout = 0 }, "shutdown-timeout"},
		{"connections negative", func(c *Config) { c.MaxConnections = -1 }, "max-connections"},
		{"open files negative", func(c *Config) { c.MaxOpenFiles = -1 }, "max-open-files"},
		{"journal negative", func(c *Config) { c.CommitJournalBytes = -1 }, "commit-journal-bytes"},
		{"inflight zero", func(c *Config) { c.MaxInflightPerConn = 0 }, "max-inflight-per-conn"},
		{"retention ms -1 ok", func(c *Config) { c.RetentionMs = -1 }, ""},
		{"retention ms -2", func(c *Config) { c.RetentionMs = -2 }, "retention-ms"},
		{"retention bytes -2", func(c *Config) { c.RetentionBytes = -2 }, "retention-bytes"},
		{"retention check interval 0", func(c *Config) { c.RetentionCheckInterval = 0 }, "retention-check-interval"},
		{"segment bytes too small", func(c *Config) { c.SegmentBytes = 100 }, "segment-bytes"},
		{"segment bytes too big", func(c *Config) { c.SegmentBytes = 1 << 31 }, "segment-bytes"},
		{"budget below request", func(c *Config) { c.ProduceBytesBudget = c.MaxRequestBytes - 1 }, "produce-bytes-budget"},
		{"pprof off by default", func(c *Config) { c.PprofAddr = "" }, ""},
		{"pprof loopback ok", func(c *Config) { c.PprofAddr = "127.0.0.1:6060" }, ""},
		{"pprof localhost ok", func(c *Config) { c.PprofAddr = "localhost:6060" }, ""},
		{"pprof ipv6 loopback ok", func(c *Config) { c.PprofAddr = "[::1]:6060" }, ""},
		{"pprof every interface", func(c *Config) { c.PprofAddr = ":6060" }, "pprof-addr"},
		{"pprof remote host", func(c *Config) { c.PprofAddr = "10.0.0.5:6060" }, "pprof-addr"},
		{"pprof remote allowed", func(c *Config) { c.PprofAddr, c.PprofAllowRemote = "0.0.0.0:6060", true }, ""},
		{"pprof no port", func(c *Config) { c.PprofAddr = "127.0.0.1" }, "pprof-addr"},
		{"idle timeout 0 disables", func(c *Config) { c.IdleTimeout = 0 }, ""},
		{"frame timeout negative", func(c *Config) { c.FrameTimeout = -time.Second }, "frame-timeout"},
		{"frame timeout over 1h", func(c *Config) { c.FrameTimeout = 2 * time.Hour }, "frame-timeout"},
		{"per-conn produce bytes below a request", func(c *Config) { c.MaxProduceBytesPerConn = c.MaxRequestBytes - 1 }, "max-produce-bytes-per-conn"},
		{"per-conn produce bytes above the budget", func(c *Config) { c.MaxProduceBytesPerConn = c.ProduceBytesBudget + 1 }, "max-produce-bytes-per-conn"},
		{"fetch max bytes too small", func(c *Config) { c.FetchMaxBytes = 100 }, "fetch-max-bytes"},
		{"unsent bytes negative", func(c *Config) { c.MaxUnsentBytesPerConn = -1 }, "max-unsent-bytes-per-conn"},
		{"decompression ratio 0", func(c *Config) { c.DecompressionRatio = 0 }, "decompression-ratio"},
		{"http connections 0", func(c *Config) { c.HTTPMaxConnections = 0 }, "http-max-connections"},
		{"http body budget tiny", func(c *Config) { c.HTTPBodyBudget = 1000 }, "http-body-budget"},
		{"http body budget 0 disables", func(c *Config) { c.HTTPBodyBudget = 0 }, ""},
		{"http header timeout 0", func(c *Config) { c.HTTPReadHeaderTimeout = 0 }, "http-read-header-timeout"},
		{"http idle timeout 0", func(c *Config) { c.HTTPIdleTimeout = 0 }, "http-idle-timeout"},
		{"pprof on http addr", func(c *Config) { c.HTTPAddr, c.PprofAddr = "127.0.0.1:8080", "127.0.0.1:8080" }, "pprof-addr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mod(&c)
			err := c.Validate()
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ke *KeyError
			if !errors.As(err, &ke) || ke.Key != tt.wantKey {
				t.Fatalf("Validate() = %v, want a KeyError for %s", err, tt.wantKey)
			}
		})
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1048576", 1 << 20, true}, {"100MiB", 100 << 20, true}, {"64 KiB", 64 << 10, true},
		{"1GiB", 1 << 30, true}, {"2KB", 2000, true}, {"3MB", 3e6, true}, {"5B", 5, true},
		{"", 0, false}, {"-1", 0, false}, {"1.5MiB", 0, false}, {"MiB", 0, false}, {"10XB", 0, false},
		{"9999999TiB", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseBytes(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	for _, n := range []int64{0, 1, 1000, 1 << 10, 100 << 20, 3 << 30, 12345} {
		if got, err := ParseBytes(formatBytes(n)); err != nil || got != n {
			t.Errorf("formatBytes(%d) = %q does not parse back: %d, %v", n, formatBytes(n), got, err)
		}
	}
}

func TestPrintRoundTrips(t *testing.T) {
	l, err := load(t, []string{"--kafka-addr=127.0.0.1:19092", "--data-dir=dir with: colon #hash", "--max-request-bytes=12345"}, map[string]string{"EDDY_LOG_FORMAT": "json"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := l.Print(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"# flag --kafka-addr", "# env EDDY_LOG_FORMAT", "# default"} {
		if !strings.Contains(out, want) {
			t.Errorf("print lacks %q:\n%s", want, out)
		}
	}
	back, err := load(t, []string{"--config", writeFile(t, out)}, nil)
	if err != nil {
		t.Fatalf("printed config does not load: %v\n%s", err, out)
	}
	if back.Config != l.Config {
		t.Errorf("round trip changed config:\n got  %+v\n want %+v\n%s", back.Config, l.Config, out)
	}
}

func TestConfigFileErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not a mapping", "- a\n- b\n", "want a mapping"},
		{"bad yaml", "a: [\n", "parse config file"},
		{"null value", "log-level:\n", "empty value"},
		{"duplicate", "log-level: info\nlog-level: warn\n", "duplicate key (first on line 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, []string{"--config", writeFile(t, tt.body)}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := load(t, []string{"--config", "/nonexistent/eddy.yaml"}, nil); err == nil || !strings.Contains(err.Error(), "read config file") {
		t.Errorf("missing file: err = %v", err)
	}
	if l, err := load(t, []string{"--config", writeFile(t, "")}, nil); err != nil || l.Config != Default() {
		t.Errorf("empty file: %v, %+v", err, l.Config)
	}
	if l, err := load(t, []string{"--config", writeFile(t, `{"log-level": "warn", "default-partitions": 2}`)}, nil); err != nil || l.Config.LogLevel != "warn" || l.Config.DefaultPartitions != 2 {
		t.Errorf("JSON file: %v, %+v", err, l.Config)
	}
}

func TestProtectedMode(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string // substring; "" = valid
	}{
		{"defaults are loopback", nil, ""},
		{"all interfaces refused", []string{"--kafka-addr=:9092"}, "kafka-addr"},
		{"0.0.0.0 refused", []string{"--http-addr=0.0.0.0:8080"}, "http-addr"},
		{"ipv6 any refused", []string{"--kafka-addr=[::]:9092"}, "--allow-unauthenticated-remote"},
		{"hostname refused", []string{"--kafka-addr=eddy.example:9092"}, "kafka-addr"},
		{"localhost ok", []string{"--kafka-addr=localhost:9092"}, ""},
		{"::1 ok", []string{"--kafka-addr=[::1]:9092"}, ""},
		{"127.0.0.2 ok", []string{"--http-addr=127.0.0.2:8080"}, ""},
		{"allowed with flag", []string{"--kafka-addr=:9092", "--http-addr=0.0.0.0:8080", "--allow-unauthenticated-remote"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := load(t, tt.args, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if tt.name == "allowed with flag" && len(l.Config.RemoteListeners()) != 2 {
					t.Errorf("RemoteListeners = %v, want both", l.Config.RemoteListeners())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Load error %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}
