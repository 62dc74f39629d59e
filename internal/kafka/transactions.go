package kafka

import "github.com/twmb/franz-go/pkg/kerr"

// Transaction APIs (AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
// TxnOffsetCommit; files 24, 25, 26, 28).
//
// Behaviour: Eddy has no transactions yet. These APIs are answered at once
// with UNSUPPORTED_VERSION (35) on every item, so a transactional client
// fails clearly instead of hanging; InitProducerId already refuses
// transactional ids, so well-behaved clients never get here. The
// advertised ranges stop at v3, before the batched (KIP-890) layouts.
var txnUnsupported = kerr.UnsupportedVersion.Code
