//go:build unix

package main

import (
	"log/slog"
	"testing"
)

func TestConnectionLimit(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		maxConns int
		limit    uint64
		want     int
	}{
		{10000, 0, 10000},       // limit unknown: unchanged
		{0, 0, 0},               // no cap, limit unknown: none
		{0, 20000, 15000},       // no cap: what the reserve leaves
		{10000, 1 << 20, 10000}, // plenty of descriptors
		{10000, 1024, 768},      // a quarter kept for logs
		{10000, 20000, 10000},   // 15000 available
		{100, 1024, 100},        // configured cap already lower
		{10000, 300, 44},        // at least 256 kept
		{10000, 200, 16},        // never below 16
		{10000, 40000, 10000},
	}
	for _, tt := range tests {
		if got := connectionLimit(tt.maxConns, tt.limit, log); got != tt.want {
			t.Errorf("connectionLimit(%d, %d) = %d, want %d", tt.maxConns, tt.limit, got, tt.want)
		}
	}
}
