// Command ferretdb runs FerretDB v1 (SQLite handler) through its embeddable package.
//
// Why not `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`? That build panics at
// start-up: the module zip ships an empty build/version/version.txt, which FerretDB's own
// command refuses. The embeddable package skips that check, so this tiny wrapper gives the
// tests, the benchmark and CI a real MongoDB-wire-compatible server installed from the Go
// module proxy. Telemetry is always off in embedded mode.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on (loopback)")
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite directory URI, e.g. file:/tmp/db/")
	handler := flag.String("handler", "sqlite", "backend handler (only sqlite is supported here)")
	_ = flag.String("telemetry", "disable", "accepted for compatibility; telemetry is always disabled")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	flag.Parse()

	if *handler != "sqlite" {
		log.Fatalf("unsupported --handler=%q: only sqlite", *handler)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		log.Fatalf("bad --log-level: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listenAddr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: *sqliteURL,
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	// The URI is only known once Run has bound the listener; print it so scripts can wait for it.
	fmt.Println(f.MongoDBURI())

	if err := <-done; err != nil {
		log.Fatal(err)
	}
}
