package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ApiVersions: v0-4
//
// Behaviour:
//   - Advertises every registered API's range (Register).
//   - A version we lack gets a v0-layout response with UNSUPPORTED_VERSION
//     and all our ranges (KIP-511; Kafka sends only its ApiVersions range,
//     a superset is harmless), so franz-go and librdkafka retry at our
//     maximum instead of giving up. conn.go builds that reply before
//     decoding, since a newer body may not parse.
//   - The response header never has tagged fields, even at v3+ (conn.go).
//   - v3+: ClientSoftwareName/Version are validated as Kafka does; a bad
//     value answers INVALID_REQUEST.
//
// Version notes: v1 ThrottleMillis; v3 flexible, client software fields,
// features (we report none).
func init() { Register(kmsg.ApiVersions, 0, 4, handleApiVersions) }

func handleApiVersions(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.ApiVersionsRequest)
	resp := r.ResponseKind().(*kmsg.ApiVersionsResponse)
	if r.Version >= 3 && (!validSoftware(r.ClientSoftwareName) || !validSoftware(r.ClientSoftwareVersion)) {
		resp.ErrorCode = kerr.InvalidRequest.Code
		s.countErr(req, resp.ErrorCode)
	}
	resp.ApiKeys = apiKeys()
	return Respond(resp)
}

func apiKeys() []kmsg.ApiVersionsResponseApiKey {
	vs := APIVersions()
	out := make([]kmsg.ApiVersionsResponseApiKey, 0, len(vs))
	for _, v := range vs {
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = v.Key, v.Min, v.Max
		out = append(out, k)
	}
	return out
}

// apiVersionsUnsupported is the KIP-511 reply to an ApiVersions version we
// lack: v0 layout, UNSUPPORTED_VERSION, and our ranges.
func apiVersionsUnsupported() *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	resp.ApiKeys = apiKeys()
	return resp
}

// validSoftware matches Kafka's [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?
func validSoftware(s string) bool {
	if s == "" {
		return false
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	if !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '-' && c != '.' {
			return false
		}
	}
	return true
}
