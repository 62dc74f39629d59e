package node

import (
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
	nc.Kafka = &kafka.Config{
		Addr:               cfg.KafkaAddr,
		AdvertisedAddr:     cfg.AdvertisedAddr,
		MaxRequestBytes:    int32(cfg.MaxRequestBytes), // Validate caps it at 2 GiB-1
		MaxConnections:     cfg.MaxConnections,
		MaxInflightPerConn: cfg.MaxInflightPerConn,
		ProduceBytesBudget: cfg.ProduceBytesBudget,
	}
	nc.HTTP = &httpapi.Config{Addr: cfg.HTTPAddr}
	nc.SchemaRegistry = &SchemaRegistryConfig{Addr: cfg.SchemaRegistryAddr}
	nc.Admin.AllowWrites = cfg.ConsoleWrite
	return nc
}
