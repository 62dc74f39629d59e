package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
)

// pprofEnv names the environment variable that turns on Go's profiling
// endpoints: EDDY_PPROF_ADDR=127.0.0.1:6060 eddy serve serves
// /debug/pprof/ there, on its own listener and mux (never the HTTP API's),
// so `go tool pprof` can profile the server under `eddy bench` load.
// Unset (the default), nothing listens. It works for every eddy process,
// so a bench client can be profiled the same way.
const pprofEnv = "EDDY_PPROF_ADDR"

func init() {
	addr := os.Getenv(pprofEnv)
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "eddy: %s=%s: %v\n", pprofEnv, addr, err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// Lives as long as the process; closed by its exit.
	go func() { _ = http.Serve(ln, mux) }()
}
