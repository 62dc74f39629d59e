package kafka

import (
	"context"
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/auth"
)

// Handler serves one Kafka API. It is called on the connection's reader
// goroutine, one request at a time in arrival order, so whatever it does
// before returning (for example appending to a partition) is ordered with
// the connection's other requests, as in Kafka. The request's version is
// already checked against the registered range and its body decoded into
// req.Msg; build the response with req.Msg.ResponseKind() (its version is
// set to the request's).
//
// A Handler must not block on anything slow (an fsync, a long-poll, a group
// rebalance): return Defer(fn) and do the waiting in fn, which runs on its
// own goroutine while later requests are read; responses still leave in
// request order. What fn does is NOT ordered with the connection's later
// requests (they may run while fn waits), so make order-sensitive changes
// before returning Defer and only wait inside fn. ctx is cancelled when the
// connection closes or the server starts shutting down; a deferred fn
// should then answer promptly with what it has.
type Handler func(ctx context.Context, s *Server, req *Request) Reply

// Request is one decoded request.
type Request struct {
	// Key and Version are the API key and version from the header.
	Key, Version int16
	// CorrelationID is echoed in the response header.
	CorrelationID int32
	// ClientID is the header's client id ("" when null).
	ClientID string
	// Msg is the decoded body; type-assert it to the API's kmsg type, e.g.
	// req.Msg.(*kmsg.FindCoordinatorRequest).
	Msg kmsg.Request
	// Conn describes the connection the request arrived on.
	Conn *ConnInfo
	// Size is the frame's size in bytes.
	Size int
}

// ConnInfo describes a client connection.
type ConnInfo struct {
	// ID is unique per server run.
	ID uint64
	// Remote and Local are the connection's addresses.
	Remote, Local net.Addr
	// Host is the remote IP address in text form, as ACLs match it.
	Host string
	// Principal is who the connection acts as: auth.Anonymous until it
	// authenticates (SASL, or a client certificate on an SSL listener).
	Principal auth.Principal
	// sec is the listener and authentication state (conn_auth.go).
	sec *connSecurity
}

// Listener returns the name of the listener the connection arrived on.
func (ci *ConnInfo) Listener() string {
	if ci == nil || ci.sec == nil || ci.sec.lis == nil {
		return ""
	}
	return ci.sec.lis.cfg.Name
}

// Reply is a Handler's answer: build it with Respond, Defer, NoResponse or
// CloseConn.
type Reply struct {
	resp  kmsg.Response
	later func(ctx context.Context) Reply
	// inOrder is run by the connection's writer when the reply's turn
	// comes (DeferInOrder).
	inOrder func(ctx context.Context) Reply
	// callback is called once the request is queued (DeferCallback).
	callback func(done func(Reply))
	none     bool
	close    error
	// release runs once the reply was written or dropped: it returns
	// pooled buffers the response points into.
	release func()
}

// Respond answers with resp now.
func Respond(resp kmsg.Response) Reply { return Reply{resp: resp} }

// Defer answers with what fn returns; fn runs on its own goroutine. The
// Reply fn returns must not itself be a Defer.
func Defer(fn func(ctx context.Context) Reply) Reply { return Reply{later: fn} }

// DeferInOrder answers with what fn returns, like Defer, but fn runs on the
// connection's writer goroutine once every earlier response is written,
// instead of on a goroutine of its own. It costs no goroutine start and no
// hand-off, and consecutive waits run one after another, so the second of
// two pipelined produce waits usually finds its fsync already done.
//
// Use it only for short waits that depend on nothing a later request of
// the same connection does (a produce's wait for durability, which any
// fsync satisfies); a long-poll fetch or a group wait needs Defer. While
// fn runs, later responses of the connection wait (they would anyway:
// responses leave in request order) and a forced shutdown cannot cut it
// short. The Reply fn returns must not itself be deferred.
func DeferInOrder(fn func(ctx context.Context) Reply) Reply { return Reply{inOrder: fn} }

// DeferCallback answers with the Reply passed to done, which may be called
// from any goroutine, at any time after fn is called (even within fn); the
// first call counts and later ones are ignored. fn is called on the
// reader goroutine right after the handler returns and must not block. No
// goroutine waits for the answer, so a long-poll fetch parked this way
// costs none: whatever goroutine calls done (a producer's, through a
// broker.Waiter callback; a timer's) also writes the response when it is
// next in line. The connection's ctx (cancelled when the client goes away
// or the server shuts down) must lead to a prompt done. The Reply passed
// to done must not itself be deferred.
func DeferCallback(fn func(done func(Reply))) Reply { return Reply{callback: fn} }

// NoResponse sends nothing back (Produce with acks=0).
func NoResponse() Reply { return Reply{none: true} }

// CloseConn closes the connection without answering, as Kafka does for
// requests it cannot parse; err is logged at debug level.
func CloseConn(err error) Reply {
	if err == nil {
		err = fmt.Errorf("connection closed by handler")
	}
	return Reply{close: err}
}

// apiEntry is one registered API.
type apiEntry struct {
	key      int16
	min, max int16
	handler  Handler
	name     string
}

var registry = struct {
	sync.RWMutex
	apis map[int16]*apiEntry
}{apis: map[int16]*apiEntry{}}

// Register makes the server answer API key versions [min, max] with h and
// advertises that range in ApiVersions. Call it from an init function in the
// API's own file, NN_name.go, next to the handler:
//
//	// FindCoordinator: v0-4 (the group coordinator is this node)
//	func init() { kafka.Register(kmsg.FindCoordinator, 0, 4, handleFindCoordinator) }
//
// (inside package kafka the call is simply Register(...)). A request for an
// unregistered key, or for a version outside the range, closes the
// connection as Kafka does, except ApiVersions, which answers
// UNSUPPORTED_VERSION in the v0 layout (KIP-511). Registering a key twice
// panics at init: it is a programming error, not input.
func Register(key kmsg.Key, min, max int16, h Handler) {
	if min < 0 || max < min || max > kmsg.RequestForKey(int16(key)).MaxVersion() {
		panic(fmt.Sprintf("kafka: bad version range %d-%d for %s", min, max, key.Name()))
	}
	registry.Lock()
	defer registry.Unlock()
	if _, ok := registry.apis[int16(key)]; ok {
		panic(fmt.Sprintf("kafka: %s registered twice", key.Name()))
	}
	e := &apiEntry{key: int16(key), min: min, max: max, handler: h, name: key.Name()}
	registry.apis[int16(key)] = e
	if int(key) < apiTableSize {
		apiTable[key].Store(e)
	}
}

// apiTableSize bounds the API keys looked up without a lock (Kafka's keys
// are below 100).
const apiTableSize = 128

// apiTable is registry.apis indexed by key, read on every request without
// taking the registry lock.
var apiTable [apiTableSize]atomic.Pointer[apiEntry]

func lookupAPI(key int16) *apiEntry {
	if key >= 0 && int(key) < apiTableSize {
		if e := apiTable[key].Load(); e != nil {
			return e
		}
	}
	// Not in the table: unknown keys (which close the connection) and
	// entries tests put straight into the map.
	registry.RLock()
	defer registry.RUnlock()
	return registry.apis[key]
}

// APIVersion is one advertised API version range.
type APIVersion struct {
	Key      int16
	Min, Max int16
}

// APIVersions returns the registered ranges sorted by key: what ApiVersions
// advertises.
func APIVersions() []APIVersion {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]APIVersion, 0, len(registry.apis))
	for _, a := range registry.apis {
		out = append(out, APIVersion{Key: a.key, Min: a.min, Max: a.max})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
