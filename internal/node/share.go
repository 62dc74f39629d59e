package node

import (
	"context"
	"fmt"

	"github.com/eddy-streaming/eddy/internal/share"
)

// openShare starts the share-group coordinator on the meta store: it
// loads every share-partition's state (acquired records come back
// available with their delivery counted) before the Kafka listener opens.
func (n *Node) openShare() error {
	sc := n.cfg.Share
	sc.Broker, sc.Store = n.Broker, share.NewMetaStore(n.Meta)
	sc.Logger, sc.Registerer = n.component("share"), n.Registry
	c, err := share.New(sc)
	if err != nil {
		return fmt.Errorf("start share group coordinator: %w", err)
	}
	n.Share = c
	if n.HTTP != nil {
		n.HTTP.RegisterQueues(c)
	}
	n.onClose("share group coordinator", func(context.Context) error { return c.Close() })
	return nil
}
