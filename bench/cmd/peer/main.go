// Command peer hosts one comparison peer of Eddy's benchmark harness as its
// own process, so that /proc measures only the broker's CPU and memory:
//
//	peer kfake --port P [--dir D] [--sync]      franz-go's kfake (memory, on disk, per-batch fsync)
//	peer nats  --port P --dir D [--sync-always] NATS JetStream, file storage
//
// A broker prints "ready HOST:PORT" on stdout once it accepts connections
// and runs until SIGINT or SIGTERM.
//
// It also holds the NATS side of the scenarios, the equivalent of
// `eddy bench` for nats.go clients, printing the same JSON result:
//
//	peer natsbench produce|consume|e2e --url nats://... [flags]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: peer kfake|nats|natsbench ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "kfake":
		err = runKfake(os.Args[2:])
	case "nats":
		err = runNATS(os.Args[2:])
	case "natsbench":
		err = runNATSBench(os.Args[2:])
	default:
		err = fmt.Errorf("unknown peer %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "peer:", err)
		os.Exit(1)
	}
}

func waitSignal() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	<-sigs
}

func runKfake(args []string) error {
	fs := flag.NewFlagSet("kfake", flag.ContinueOnError)
	port := fs.Int("port", 0, "listen port on 127.0.0.1 (0: any)")
	dir := fs.String("dir", "", "data directory (empty: in memory)")
	sync := fs.Bool("sync", false, "fsync every batch (kfake SyncWrites)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(*port),
		kfake.AllowAutoTopicCreation(),
	}
	if *dir != "" {
		opts = append(opts, kfake.DataDir(*dir))
	}
	if *sync {
		if *dir == "" {
			return errors.New("--sync needs --dir")
		}
		opts = append(opts, kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("start kfake: %w", err)
	}
	fmt.Println("ready", c.ListenAddrs()[0])
	waitSignal()
	c.Close()
	return nil
}

func runNATS(args []string) error {
	fs := flag.NewFlagSet("nats", flag.ContinueOnError)
	port := fs.Int("port", -1, "client port on 127.0.0.1 (-1: any)")
	dir := fs.String("dir", "", "JetStream store directory")
	always := fs.Bool("sync-always", false, "fsync every write (sync_interval: always); default: JetStream's 2-minute sync interval")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("--dir is required")
	}
	opts := &server.Options{
		Host:               "127.0.0.1",
		Port:               *port,
		JetStream:          true,
		StoreDir:           *dir,
		NoSigs:             true,
		NoLog:              true,
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  64 << 30,
	}
	if *always {
		opts.SyncAlways = true
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("new nats server: %w", err)
	}
	s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		return errors.New("nats server not ready within 30s")
	}
	addr := s.Addr()
	if addr == nil {
		return errors.New("nats server has no listener")
	}
	fmt.Println("ready", addr.String())
	waitSignal()
	s.Shutdown()
	s.WaitForShutdown()
	return nil
}
