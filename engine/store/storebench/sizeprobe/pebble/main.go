// Command pebble is the base program plus opening a pebble store and
// committing one key with Sync.
package main

import (
	"log"
	"os"

	"github.com/cockroachdb/pebble/v2"
)

func main() {
	dir, err := os.MkdirTemp("", "sizeprobe")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := db.Set([]byte("j"), []byte("MSH|^~\\&|"), pebble.Sync); err != nil {
		log.Fatal(err)
	}
	if err := db.Close(); err != nil {
		log.Fatal(err)
	}
}
