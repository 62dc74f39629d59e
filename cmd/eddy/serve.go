package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/commitlog"
	"github.com/eddy-streaming/eddy/internal/config"
	"github.com/eddy-streaming/eddy/internal/eventstore"
	"github.com/eddy-streaming/eddy/internal/group"
	"github.com/eddy-streaming/eddy/internal/httpapi"
	"github.com/eddy-streaming/eddy/internal/kafka"
	"github.com/eddy-streaming/eddy/internal/meta"
	"github.com/eddy-streaming/eddy/internal/vfs"
)

func newServeCmd() *cobra.Command {
	var printConfig bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Eddy server",
		Long: `Run the Eddy server: the Kafka protocol listener, the HTTP listener
(/healthz, /readyz, /metrics, /v1/status) and the storage under --data-dir.

Every flag can also be set as an EDDY_* environment variable (--data-dir is
EDDY_DATA_DIR) or as a key of the YAML file named by --config (data-dir: ...).
Flags win over the environment, which wins over the file.`,
		Args: cobra.NoArgs,
	}
	fl := config.BindFlags(cmd.Flags())
	cmd.Flags().BoolVar(&printConfig, "print-config", false, "print the effective configuration as YAML and exit")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		loaded, err := config.Load(fl, os.LookupEnv)
		if err != nil {
			return usageError{fmt.Errorf("invalid configuration:\n%w", err)}
		}
		if printConfig {
			return loaded.Print(cmd.OutOrStdout())
		}
		return runServe(cmd.Context(), loaded.Config, cmd.ErrOrStderr())
	}
	return cmd
}

// newLogger builds the process logger from log-format and log-level.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == config.LogFormatJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// newRegistry is the process's one metrics registry, passed to every
// component's constructor. Nothing registers globally.
func newRegistry() (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "eddy_build_info",
		Help:        "Always 1; the labels say which Eddy build is running.",
		ConstLabels: prometheus.Labels{"version": versionString(), "goversion": runtime.Version()},
	})
	build.Set(1)
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		build,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register process metrics: %w", err)
		}
	}
	return reg, nil
}

// server is one running `eddy serve`: every component in start order.
// Shutdown runs in reverse.
type server struct {
	cfg     config.Config
	log     *slog.Logger
	reg     *prometheus.Registry
	started time.Time
	// fs is the filesystem under the partition logs; nil means the OS.
	// Tests substitute one with slow or failing fsyncs.
	fs vfs.FS

	lock   *dataDirLock
	meta   *meta.Store
	broker *broker.Broker
	groups *group.Coordinator
	events *eventstore.Store
	kafka  *kafka.Server
	http   *httpapi.Server

	// serveErr receives the first error of a listener's Serve goroutine.
	serveErr chan error
	wg       sync.WaitGroup
}

// runServe runs the server until ctx ends or SIGINT/SIGTERM arrives, then
// shuts down gracefully. A second signal exits the process at once.
func runServe(ctx context.Context, cfg config.Config, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	defer applyMemoryLimit(cfg, os.LookupEnv, log)()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case sig := <-sigs:
			log.Info("shutting down", "signal", sig.String(), "timeout", cfg.ShutdownTimeout)
			cancel()
		case <-done:
			return
		}
		select {
		case sig := <-sigs:
			// Safe: every acknowledged write is already durable per its topic's
			// fsync policy; the next start runs recovery.
			log.Warn("second signal: exiting now without a clean shutdown; the next start recovers", "signal", sig.String())
			os.Exit(128 + int(sig.(syscall.Signal)))
		case <-done:
		}
	}()

	s := &server{cfg: cfg, log: log, started: time.Now(), serveErr: make(chan error, 4)}
	if err := s.start(); err != nil {
		if cerr := s.close(context.Background()); cerr != nil {
			log.Error("close after failed start", "err", cerr)
		}
		return err
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-s.serveErr:
		log.Error("listener failed; shutting down", "err", runErr)
	}
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancelShutdown()
	if err := s.close(shutdownCtx); err != nil {
		log.Error("shutdown", "err", err)
		return errors.Join(runErr, err)
	}
	if runErr != nil {
		return runErr
	}
	log.Info("eddy stopped cleanly", "uptime", time.Since(s.started).Round(time.Millisecond).String())
	return nil
}

// start brings the components up in dependency order. /healthz answers
// from the moment the HTTP listener is open; /readyz only once the logs are
// recovered and every listener is open.
func (s *server) start() error {
	cfg := s.cfg
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	s.lock = lock

	if s.reg, err = newRegistry(); err != nil {
		return err
	}
	absData, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		absData = cfg.DataDir
	}
	s.http, err = httpapi.New(httpapi.Config{
		Addr:       cfg.HTTPAddr,
		Logger:     s.log.With("component", "http"),
		Registerer: s.reg,
		Gatherer:   s.reg,
		Version:    versionString(),
		DataDir:    absData,
		StartedAt:  s.started,
		Listeners:  s.listeners,
		Topics:     s.topicStatus,
		Groups:     s.groupStatus,
	})
	if err != nil {
		return err
	}
	if err := s.http.Listen(); err != nil {
		return err
	}
	s.goServe("http", s.http.Serve)

	if s.meta, err = meta.Open(filepath.Join(cfg.DataDir, "meta.db")); err != nil {
		return err
	}

	// Opening the broker recovers every partition log.
	bcfg := broker.DefaultConfig()
	bcfg.DataDir = cfg.DataDir
	bcfg.FS = s.fs
	bcfg.Meta = s.meta
	bcfg.Logger = s.log.With("component", "broker")
	bcfg.Registerer = s.reg
	bcfg.AutoCreateTopics = cfg.AutoCreateTopics
	bcfg.DefaultPartitions = int32(cfg.DefaultPartitions)
	bcfg.TopicDefaults.Fsync = cfg.Fsync
	bcfg.TopicDefaults.RetentionMs = cfg.RetentionMs
	bcfg.TopicDefaults.RetentionBytes = cfg.RetentionBytes
	bcfg.TopicDefaults.SegmentBytes = cfg.SegmentBytes
	logOpts := commitlog.DefaultOptions()
	logOpts.SyncInterval = cfg.FsyncInterval
	logOpts.CacheBytes = cfg.PageCacheBytes
	bcfg.LogOptions = &logOpts
	if s.broker, err = broker.Open(bcfg); err != nil {
		return fmt.Errorf("open broker: %w", err)
	}
	if err := registerLogCollector(s.reg, s.broker); err != nil {
		return err
	}

	if s.groups, err = group.New(group.Config{
		Meta:       s.meta,
		Topics:     group.BrokerTopics(s.broker),
		Logger:     s.log.With("component", "group"),
		Registerer: s.reg,
	}); err != nil {
		return fmt.Errorf("start group coordinator: %w", err)
	}

	kcfg := kafka.Config{
		Addr:               cfg.KafkaAddr,
		AdvertisedAddr:     cfg.AdvertisedAddr,
		MaxRequestBytes:    int32(cfg.MaxRequestBytes), // Validate caps it at 2 GiB-1
		MaxConnections:     cfg.MaxConnections,
		MaxInflightPerConn: cfg.MaxInflightPerConn,
		ProduceBytesBudget: cfg.ProduceBytesBudget,
		Logger:             s.log.With("component", "kafka"),
		Registerer:         s.reg,
	}
	kafka.WithGroups(&kcfg, s.groups)
	if err := s.startProducers(&kcfg); err != nil {
		return err
	}
	if err := s.startEventStore(); err != nil {
		return err
	}
	s.kafka = kafka.New(kcfg, s.broker)
	if err := s.kafka.Listen(); err != nil {
		return err
	}
	s.goServe("kafka", func() error { return s.kafka.Serve(context.Background()) })

	s.http.MarkReady()
	s.log.Info("eddy started",
		"version", versionString(),
		"kafka_addr", s.kafka.Addr().String(),
		"http_addr", s.http.Addr().String(),
		"data_dir", absData,
		"topics", len(s.broker.Topics()),
		"startup", time.Since(s.started).Round(time.Microsecond).String(),
	)
	return nil
}

// goServe runs a listener's Serve loop as a tracked goroutine.
func (s *server) goServe(name string, serve func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := serve(); err != nil {
			s.serveErr <- fmt.Errorf("%s listener: %w", name, err)
		}
	}()
}

// listeners names the bound listen addresses for /v1/status.
func (s *server) listeners() map[string]string {
	m := map[string]string{}
	if s.http != nil && s.http.Addr() != nil {
		m["http"] = s.http.Addr().String()
	}
	if s.kafka != nil && s.kafka.Addr() != nil {
		m["kafka"] = s.kafka.Addr().String()
	}
	return m
}

// close shuts down whatever start opened: stop being ready; stop
// accepting on both listeners and let in-flight requests finish within ctx
// (the two drain in parallel, so the timeout is not spent twice); then,
// with no request left that could touch storage, close the group
// coordinator, the broker (final sync and clean-shutdown markers) and the
// meta store, and release the data directory.
//
// Requests cut short by the timeout are logged, not failures: whatever
// they acknowledged is durable and their clients retry the rest. Only a
// storage component that fails to close makes close return an error.
func (s *server) close(ctx context.Context) error {
	var errs []error
	if s.http != nil {
		s.http.MarkNotReady("shutting down")
	}
	var drain sync.WaitGroup
	if s.kafka != nil {
		drain.Add(1)
		go func() {
			defer drain.Done()
			if err := s.kafka.Shutdown(ctx); err != nil {
				s.log.Warn("kafka requests still in flight at the shutdown timeout; closed their connections", "timeout", s.cfg.ShutdownTimeout)
			}
		}()
	}
	if s.http != nil {
		drain.Add(1)
		go func() {
			defer drain.Done()
			if err := s.http.Shutdown(ctx); err != nil {
				s.log.Warn("http requests still in flight at the shutdown timeout; closed their connections", "timeout", s.cfg.ShutdownTimeout)
			}
		}()
	}
	drain.Wait()
	if s.groups != nil {
		if err := s.groups.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close group coordinator: %w", err))
		}
	}
	if s.events != nil {
		if err := s.events.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close event store: %w", err))
		}
	}
	if s.broker != nil {
		if err := s.broker.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close broker: %w", err))
		}
	}
	if s.meta != nil {
		if err := s.meta.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close meta store: %w", err))
		}
	}
	s.wg.Wait()
	if s.lock != nil {
		if err := s.lock.Unlock(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
