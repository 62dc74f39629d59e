package kafka_test

import (
	"log/slog"
	"os"

	"github.com/eddy-streaming/eddy/internal/kafka"
	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
)

// withDebugLog sends server logs to stderr when EDDY_TEST_LOG=1.
func withDebugLog() kafkatest.Option {
	return kafkatest.WithServerConfig(func(c *kafka.Config) {
		if os.Getenv("EDDY_TEST_LOG") == "1" {
			c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	})
}
