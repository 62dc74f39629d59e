package schema

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Wire-format errors, returned (wrapped) by ParseWire.
var (
	// ErrNoMagic: the payload does not start with the magic byte 0.
	ErrNoMagic = errors.New("no schema registry magic byte 0")
	// ErrShort: the payload ends inside the 5-byte header or the message indexes.
	ErrShort = errors.New("payload shorter than its schema registry header")
)

// maxIndexes bounds the message-index array of a Protobuf payload: no real
// schema nests messages this deep, and a hostile count must not allocate.
const maxIndexes = 128

// ParseWire splits a Confluent wire-format payload: magic byte 0, a
// big-endian 4-byte schema id, then the encoded data.
func ParseWire(b []byte) (id int32, data []byte, err error) {
	if len(b) == 0 || b[0] != 0 {
		return 0, nil, ErrNoMagic
	}
	if len(b) < 5 {
		return 0, nil, fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	return int32(binary.BigEndian.Uint32(b[1:5])), b[5:], nil
}

// ParseIndexes reads the message indexes that precede a Protobuf payload's
// data: a zigzag varint count, then that many zigzag varint indexes; a count
// of 0 stands for the single index [0]. It returns the indexes and the rest.
func ParseIndexes(b []byte) ([]int, []byte, error) {
	n, k := binary.Varint(b)
	if k <= 0 {
		return nil, nil, fmt.Errorf("%w: message index count", ErrShort)
	}
	b = b[k:]
	if n == 0 {
		return []int{0}, b, nil
	}
	if n < 0 || n > maxIndexes {
		return nil, nil, fmt.Errorf("message index count %d out of range 0..%d", n, maxIndexes)
	}
	out := make([]int, n)
	for i := range out {
		v, k := binary.Varint(b)
		if k <= 0 {
			return nil, nil, fmt.Errorf("%w: message index %d of %d", ErrShort, i, n)
		}
		if v < 0 || v > 1<<20 {
			return nil, nil, fmt.Errorf("message index %d out of range", v)
		}
		out[i] = int(v)
		b = b[k:]
	}
	return out, b, nil
}

// AppendWire appends the wire-format header for id to dst.
func AppendWire(dst []byte, id int32) []byte {
	return binary.BigEndian.AppendUint32(append(dst, 0), uint32(id))
}

// AppendIndexes appends Protobuf message indexes to dst, writing [0] as the
// single byte 0 as the Confluent serializers do.
func AppendIndexes(dst []byte, index []int) []byte {
	if len(index) == 0 || (len(index) == 1 && index[0] == 0) {
		return append(dst, 0)
	}
	dst = binary.AppendVarint(dst, int64(len(index)))
	for _, i := range index {
		dst = binary.AppendVarint(dst, int64(i))
	}
	return dst
}

// ValidatePayload checks that data (a wire-format payload after its 5-byte
// header) conforms to c: Protobuf data starts with message indexes.
func ValidatePayload(c Compiled, data []byte) error {
	var index []int
	if c.Type() == Protobuf {
		var err error
		index, data, err = ParseIndexes(data)
		if err != nil {
			return err
		}
	}
	return c.Validate(data, index)
}
