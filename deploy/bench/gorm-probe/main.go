// gorm-probe: what a Go/GORM service (gorm.io/driver/postgres, which is pgx) pays for a new
// connection through the kit's DSN, one fresh connection per write, as a service does after its
// pool lost its connections. Prints one JSON line per write: {"ms": ..., "host": ..., "error": ...}.
//
// usage: go run . -dsn <DATABASE_URL> [-writes 5] [-statement-timeout 10s]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

type result struct {
	Ms    float64 `json:"ms"`
	Host  string  `json:"host,omitempty"`
	Error string  `json:"error,omitempty"`
}

func main() {
	dsn := flag.String("dsn", "", "the application DSN (DATABASE_URL)")
	writes := flag.Int("writes", 5, "writes, each on a new connection")
	timeout := flag.Duration("statement-timeout", 10*time.Second, "client-side bound on each write, connecting included")
	flag.Parse()
	if *dsn == "" || *writes < 1 {
		fmt.Fprintln(os.Stderr, "usage: gorm-probe -dsn <DATABASE_URL> [-writes 5] [-statement-timeout 10s]")
		os.Exit(2)
	}
	encoder := json.NewEncoder(os.Stdout)
	for i := 0; i < *writes; i++ {
		started := time.Now()
		host, err := writeOnce(*dsn, *timeout)
		r := result{Ms: float64(time.Since(started).Microseconds()) / 1000, Host: host}
		if err != nil {
			r.Error = err.Error()
		}
		_ = encoder.Encode(r)
	}
}

// writeOnce opens a new pool (so a new connection), inserts one row and reports the server's address.
func writeOnce(dsn string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return "", err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return "", err
	}
	defer sqlDB.Close()
	var host string
	err = db.WithContext(ctx).Raw("insert into gorm_probe default values returning host(inet_server_addr())").Scan(&host).Error
	return host, err
}
