package group

import (
	"fmt"
	"sync"
	"testing"
)

// BenchmarkCommit measures durable commits (one partition each) from 16
// concurrent groups; each is fsynced before it returns, and concurrent
// groups share fsyncs.
func BenchmarkCommit(b *testing.B) {
	e := newEnv(b, nil)
	defer e.close()
	const groups = 16
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N/groups + 1
	for g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				_, err := e.c.Commit(b.Context(), CommitRequest{Group: fmt.Sprint("g", g), Generation: -1,
					Offsets: []CommitOffset{{Topic: "t", Partition: int32(i % 6), Offset: int64(i)}}})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkHeartbeat measures a heartbeat round trip through a group loop.
func BenchmarkHeartbeat(b *testing.B) {
	e := newEnv(b, nil)
	defer e.close()
	res, err := e.c.Join(b.Context(), JoinRequest{Group: "g", ProtocolType: "consumer", Protocols: []Protocol{{Name: "range"}}, SessionTimeout: 30e9})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.c.Sync(b.Context(), SyncRequest{Group: "g", MemberID: res.MemberID, Generation: res.Generation}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := e.c.Heartbeat(b.Context(), "g", res.MemberID, "", res.Generation); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommitSequential measures one group committing one offset at a
// time: the latency a client with synchronous commits sees.
func BenchmarkCommitSequential(b *testing.B) {
	e := newEnv(b, nil)
	defer e.close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		_, err := e.c.Commit(b.Context(), CommitRequest{Group: "g", Generation: -1,
			Offsets: []CommitOffset{{Topic: "t", Partition: int32(i % 6), Offset: int64(i)}}})
		if err != nil {
			b.Fatal(err)
		}
	}
}
