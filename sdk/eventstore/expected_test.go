package eventstore

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
)

// TestExpectedVersionRoundTrip: each of the four expected versions is
// written as the HTTP API spells it and read back from a 409 answer as
// itself.
func TestExpectedVersionRoundTrip(t *testing.T) {
	for _, c := range []struct {
		v    ExpectedVersion
		json string
	}{
		{Any{}, `"any"`}, {NoStream{}, `"no_stream"`}, {StreamExists{}, `"exists"`}, {Version(7), `7`},
	} {
		b, err := json.Marshal(c.v)
		if err != nil || string(b) != c.json {
			t.Fatalf("%T: %s (%v), want %s", c.v, b, err, c.json)
		}
		raw := `{"error":{"code":"wrong_expected_version","message":"m","stream":"s","expected":` + c.json + `,"actual":3}}`
		var wev *WrongExpectedVersionError
		if err := decodeError(http.StatusConflict, []byte(raw)); !errors.As(err, &wev) || wev.Expected != c.v || wev.Actual != 3 {
			t.Fatalf("409 %s: %v", raw, err)
		}
	}
}

// TestStreamNotFoundErrorMessage: the error names the stream once and
// matches ErrStreamNotFound.
func TestStreamNotFoundErrorMessage(t *testing.T) {
	var err error = &StreamNotFoundError{Topic: "orders", Stream: "nope"}
	if !errors.Is(err, ErrStreamNotFound) || err.Error() != `stream "nope" not found in topic "orders"` {
		t.Fatalf("%v", err)
	}
	raw := `{"error":{"code":"stream_not_found","message":"stream not found: \"nope\" in topic \"orders\""}}`
	if err := decodeError(http.StatusNotFound, []byte(raw)); !errors.Is(err, ErrStreamNotFound) {
		t.Fatalf("404 stream_not_found: %v", err)
	}
}
