package node

import (
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/config"
)

// TestFromConfigLimits checks that every hostile-client limit of `eddy
// serve` reaches the component that enforces it, and that the
// configuration's 0 ("none") becomes the components' negative ("disabled")
// rather than their zero ("default").
func TestFromConfigLimits(t *testing.T) {
	c := config.Default()
	c.IdleTimeout = time.Minute
	c.FrameTimeout = 5 * time.Second
	c.MaxProduceBytesPerConn = 200 << 20
	c.FetchMaxBytes = 8 << 20
	c.MaxUnsentBytesPerConn = 16 << 20
	c.DecompressionRatio = 16
	c.HTTPMaxConnections = 50
	c.HTTPBodyBudget = 8 << 20
	c.HTTPBodyTimeout = 7 * time.Second
	c.HTTPReadHeaderTimeout = 3 * time.Second
	c.HTTPIdleTimeout = 40 * time.Second
	nc := FromConfig(c)
	k, h := nc.Kafka, nc.HTTP
	if k.IdleTimeout != time.Minute || k.FrameTimeout != 5*time.Second || k.ConnBytesLimit != 200<<20 ||
		k.FetchMaxBytes != 8<<20 || k.UnsentBytesLimit != 16<<20 {
		t.Errorf("kafka limits: %+v", *k)
	}
	if nc.Broker.DecompressionRatio != 16 {
		t.Errorf("decompression ratio %d", nc.Broker.DecompressionRatio)
	}
	if h.MaxConnections != 50 || h.BodyBudget != 8<<20 || h.BodyTimeout != 7*time.Second ||
		h.ReadHeaderTimeout != 3*time.Second || h.IdleTimeout != 40*time.Second {
		t.Errorf("http limits: %+v", *h)
	}
	if sr := nc.SchemaRegistry; sr.ReadHeaderTimeout != 3*time.Second || sr.IdleTimeout != 40*time.Second || sr.MaxConnections != 50 {
		t.Errorf("schema registry timeouts: %+v", *sr)
	}

	c.IdleTimeout, c.FrameTimeout, c.MaxUnsentBytesPerConn, c.HTTPBodyBudget, c.HTTPBodyTimeout = 0, 0, 0, 0, 0
	nc = FromConfig(c)
	if k, h := nc.Kafka, nc.HTTP; k.IdleTimeout >= 0 || k.FrameTimeout >= 0 || k.UnsentBytesLimit >= 0 || h.BodyBudget >= 0 || h.BodyTimeout >= 0 {
		t.Errorf("0 in the configuration must disable: kafka %+v, http %+v", *k, *h)
	}
}
