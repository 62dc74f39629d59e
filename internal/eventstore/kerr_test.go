package eventstore_test

import "github.com/twmb/franz-go/pkg/kerr"

var kerrInvalidRecord = kerr.InvalidRecord
