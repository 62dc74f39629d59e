package node

import "github.com/eddy-streaming/eddy/internal/console"

// openConsole adds the HTTP admin routes (topics, messages, groups) and
// the web console at /ui/ to the HTTP listener, once the broker and the
// group coordinator exist.
func (n *Node) openConsole() error {
	if n.HTTP == nil {
		return nil
	}
	admin := n.cfg.Admin
	admin.Schemas = n.Schemas
	n.HTTP.RegisterAdmin(n.Broker, n.Groups, admin)
	return console.Register(n.HTTP, console.Options{Version: n.cfg.Version, AllowWrites: n.cfg.Admin.AllowWrites})
}
