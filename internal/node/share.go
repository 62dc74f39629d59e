package node

import (
	"context"
	"fmt"

	"github.com/eddy-streaming/eddy/internal/share"
)

// openShare starts the share-group coordinator on its state log
// (<data>/share-state) and the meta store: it
// loads every share-partition's state (acquired records come back
// available with their delivery counted) before the Kafka listener opens.
func (n *Node) openShare() error {
	sc := n.cfg.Share
	st, err := share.OpenLogStore(share.StateLogDir(n.dataDir), n.Meta)
	if err != nil {
		return fmt.Errorf("open share state: %w", err)
	}
	n.onClose("share state log", func(context.Context) error { return st.Close() })
	sc.Broker, sc.Store = n.Broker, st
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
