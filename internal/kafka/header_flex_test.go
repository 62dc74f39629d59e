package kafka

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The precomputed table must agree with kmsg for every key and version.
func TestIsFlexibleMatchesKmsg(t *testing.T) {
	for k := int16(-1); k < int16(len(flexibleFrom))+1; k++ {
		msg := kmsg.RequestForKey(k)
		if msg == nil {
			if isFlexible(k, 0) || isFlexible(k, 20) {
				t.Errorf("key %d: unknown key reported flexible", k)
			}
			continue
		}
		for v := int16(0); v <= msg.MaxVersion()+1; v++ {
			msg.SetVersion(v)
			if got, want := isFlexible(k, v), msg.IsFlexible(); got != want {
				t.Errorf("key %d v%d: isFlexible %v, kmsg %v", k, v, got, want)
			}
		}
	}
}
