package node

import (
	"fmt"

	"github.com/eddy-streaming/eddy/internal/auth"
)

// AuthConfig configures authentication: the SCRAM user store and the
// first administrator.
type AuthConfig struct {
	// BootstrapUser, with BootstrapPassword, is created (every SCRAM
	// mechanism) at the first start of a data directory and never again.
	BootstrapUser     string
	BootstrapPassword string
}

// openUsers opens the SCRAM credential store on meta (always: the Kafka
// admin APIs manage it even while no listener authenticates) and creates
// the bootstrap administrator at the first start.
func (n *Node) openUsers() error {
	u, err := auth.OpenUsers(n.Meta)
	if err != nil {
		return err
	}
	n.Users = u
	if name := n.cfg.Auth.BootstrapUser; name != "" {
		created, err := u.Bootstrap(name, n.cfg.Auth.BootstrapPassword)
		if err != nil {
			return fmt.Errorf("users: %w", err)
		}
		if created {
			n.log.Info("bootstrap user created", "user", name)
		}
	}
	return nil
}
