package main

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Partitioners a bench's producers can use (--partitioner). Both are
// KIP-794's uniform sticky partitioner, as in the Java client since Kafka
// 3.3 and franz-go: unkeyed records go to one partition until 64 KiB were
// sent there, keyed ones by murmur2 of the key.
const (
	// partitionerAdaptive picks the next partition weighted by how little
	// the producer has buffered for each: franz-go's default, and the Java
	// client's (partitioner.adaptive.partitioning.enable=true). franz-go
	// computes the weights over every partition of the topic at each
	// switch, so its cost per record grows with the partition count: at
	// 10,000 partitions it took half of the bench client's CPU
	// (docs/scale.md).
	partitionerAdaptive = "uniform-adaptive"
	// partitionerUniform picks the next partition at random, at a cost
	// that does not depend on the partition count: the Java client with
	// partitioner.adaptive.partitioning.enable=false.
	partitionerUniform = "uniform"
)

// partitionerOpt returns the client option for the partitioner named by
// --partitioner.
func partitionerOpt(name string) (kgo.Opt, error) {
	switch name {
	case partitionerAdaptive:
		return kgo.RecordPartitioner(kgo.UniformBytesPartitioner(64<<10, true, true, nil)), nil
	case partitionerUniform:
		return kgo.RecordPartitioner(kgo.UniformBytesPartitioner(64<<10, false, true, nil)), nil
	}
	return nil, usageError{fmt.Errorf("--partitioner %q: want %s or %s", name, partitionerAdaptive, partitionerUniform)}
}

// partitionerUsage is the --partitioner flag's help.
const partitionerUsage = "how producers spread unkeyed records: " + partitionerAdaptive + " (franz-go's and Kafka's default: the next partition weighted by the producer's backlog, a scan of every partition at each switch) or " + partitionerUniform + " (the next partition at random)"
