package record

import (
	"encoding/binary"
	"hash/crc32"
)

// makeBatch builds an uncompressed batch of n records of valueSize bytes
// by hand (not with Builder, so tests of Builder have an independent
// reference): null keys, no headers, timestamp and offset delta i.
func makeBatch(n, valueSize int, ts int64, seed byte) []byte {
	var recs []byte
	for i := 0; i < n; i++ {
		var body []byte
		body = append(body, 0)                     // attributes
		body = binary.AppendVarint(body, int64(i)) // timestamp delta
		body = binary.AppendVarint(body, int64(i)) // offset delta
		body = binary.AppendVarint(body, -1)       // key length: null
		body = binary.AppendVarint(body, int64(valueSize))
		for j := 0; j < valueSize; j++ {
			body = append(body, seed+byte(i)+byte(j))
		}
		body = binary.AppendVarint(body, 0) // headers
		recs = binary.AppendVarint(recs, int64(len(body)))
		recs = append(recs, body...)
	}
	b := make([]byte, BatchHeaderSize, BatchHeaderSize+len(recs))
	b = append(b, recs...)
	be := binary.BigEndian
	be.PutUint32(b[8:], uint32(len(b)-12))
	b[16] = 2
	be.PutUint32(b[23:], uint32(n-1))
	be.PutUint64(b[27:], uint64(ts))
	be.PutUint64(b[35:], uint64(ts+int64(n-1)))
	be.PutUint64(b[43:], ^uint64(0)) // producer id -1
	be.PutUint16(b[51:], ^uint16(0))
	be.PutUint32(b[53:], ^uint32(0))
	be.PutUint32(b[57:], uint32(n))
	be.PutUint32(b[crcOffset:], crc32.Checksum(b[crcStart:], castagnoli))
	return b
}
