package node

import (
	"github.com/eddy-streaming/eddy/internal/acl"
	"github.com/eddy-streaming/eddy/internal/auth"
	"github.com/eddy-streaming/eddy/internal/commitlog"
	"github.com/eddy-streaming/eddy/internal/config"
	"github.com/eddy-streaming/eddy/internal/httpapi"
	"github.com/eddy-streaming/eddy/internal/kafka"
)

// FromConfig maps `eddy serve`'s configuration (flags, environment, file)
// onto a node Config; the caller adds Logger and Version.
func FromConfig(cfg config.Config) Config {
	nc := DefaultConfig(cfg.DataDir)
	nc.Broker.AutoCreateTopics = cfg.AutoCreateTopics
	nc.Broker.DefaultPartitions = int32(cfg.DefaultPartitions)
	nc.Broker.TopicDefaults.Fsync = cfg.Fsync
	nc.Broker.TopicDefaults.RetentionMs = cfg.RetentionMs
	nc.Broker.TopicDefaults.RetentionBytes = cfg.RetentionBytes
	nc.Broker.TopicDefaults.SegmentBytes = cfg.SegmentBytes
	nc.Broker.RetentionCheckInterval = cfg.RetentionCheckInterval
	logOpts := commitlog.DefaultOptions()
	logOpts.SyncInterval = cfg.FsyncInterval
	logOpts.CacheBytes = cfg.PageCacheBytes
	nc.Broker.LogOptions = &logOpts
	nc.Broker.MaxOpenFiles = cfg.MaxOpenFiles
	nc.Broker.CommitJournalBytes = cfg.CommitJournalBytes
	nc.Kafka = &kafka.Config{
		Addr:               cfg.KafkaAddr,
		AdvertisedAddr:     cfg.AdvertisedAddr,
		MaxRequestBytes:    int32(cfg.MaxRequestBytes), // Validate caps it at 2 GiB-1
		MaxConnections:     cfg.MaxConnections,
		MaxInflightPerConn: cfg.MaxInflightPerConn,
		ProduceBytesBudget: cfg.ProduceBytesBudget,
		IdleTimeout:        orDisabled(cfg.IdleTimeout),
		FrameTimeout:       orDisabled(cfg.FrameTimeout),
		ConnBytesLimit:     cfg.MaxProduceBytesPerConn, // 0: MaxRequestBytes
		FetchMaxBytes:      int32(cfg.FetchMaxBytes),   // Validate caps it at 2 GiB-1
		UnsentBytesLimit:   orDisabled(cfg.MaxUnsentBytesPerConn),
	}
	nc.Broker.DecompressionRatio = cfg.DecompressionRatio
	nc.HTTP = &httpapi.Config{
		Addr:              cfg.HTTPAddr,
		MaxConnections:    cfg.HTTPMaxConnections,
		BodyBudget:        orDisabled(cfg.HTTPBodyBudget),
		BodyTimeout:       orDisabled(cfg.HTTPBodyTimeout),
		ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout,
		IdleTimeout:       cfg.HTTPIdleTimeout,
	}
	nc.SchemaRegistry = &SchemaRegistryConfig{Addr: cfg.SchemaRegistryAddr, MaxConnections: cfg.HTTPMaxConnections,
		ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout, IdleTimeout: cfg.HTTPIdleTimeout}
	kafkaSecurity(cfg, nc.Kafka)
	nc.Auth = AuthConfig{BootstrapUser: cfg.BootstrapUser, BootstrapPassword: cfg.BootstrapPassword,
		HTTPRequired: cfg.AuthenticationConfigured(), MetricsPublic: cfg.MetricsPublic}
	if cert, key := cfg.HTTPTLSFiles(); cert != "" {
		nc.Auth.HTTPTLS = &auth.TLSOptions{CertFile: cert, KeyFile: key}
	}
	nc.Admin.AllowWrites = cfg.ConsoleWrite
	if cfg.Authorizer == config.AuthorizerACL {
		// Validate checked the list's syntax.
		supers, _ := acl.ParseSuperUsers(cfg.SuperUsers)
		nc.ACL = &acl.Options{SuperUsers: supers, AllowIfNoACL: cfg.AllowEveryoneIfNoACLFound}
	}
	return nc
}

// orDisabled maps the configuration's "0 disables" onto the components'
// "negative disables" (their zero takes the default).
func orDisabled[T ~int64](v T) T {
	if v == 0 {
		return -1
	}
	return v
}

// kafkaSecurity maps the listener, TLS and SASL settings (already
// validated) onto the Kafka listener config.
func kafkaSecurity(cfg config.Config, kc *kafka.Config) {
	ls, _ := cfg.KafkaListeners()
	mapper, _ := auth.ParsePrincipalMapping(cfg.SSLPrincipalMappingRules)
	for _, l := range ls {
		kl := kafka.Listener{Name: l.Name, Addr: l.Addr, Protocol: l.Protocol, Advertised: l.Advertised, Mechanisms: l.Mechanisms, Principals: mapper}
		if l.IsTLS() {
			opts := auth.TLSOptions{CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey}
			if l.Protocol == config.ProtocolSSL {
				opts.ClientCAFile, opts.ClientAuth = cfg.TLSClientCA, auth.ClientAuth(cfg.SSLClientAuth)
			}
			kl.TLSFiles = &opts
		}
		kc.Listeners = append(kc.Listeners, kl)
	}
}
