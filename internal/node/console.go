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
	// The Kafka listener opens after the console; the overview reads its
	// request latency once it runs.
	admin.RequestLatency = func(key int16) (uint64, float64) {
		n.live.Lock()
		k := n.live.kafka
		n.live.Unlock()
		if k == nil {
			return 0, 0
		}
		return k.RequestLatency(key)
	}
	n.HTTP.RegisterAdmin(n.Broker, n.Groups, admin)
	return console.Register(n.HTTP, console.Options{Version: n.cfg.Version, AllowWrites: n.cfg.Admin.AllowWrites})
}
