// Command sqlite is the base program plus opening a modernc SQLite database
// through database/sql and inserting one row.
package main

import (
	"database/sql"
	"log"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite"
)

func main() {
	dir, err := os.MkdirTemp("", "sizeprobe")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "p.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE j (seq INTEGER PRIMARY KEY, raw BLOB)"); err != nil {
		log.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO j VALUES (1, ?)", []byte("MSH|^~\\&|")); err != nil {
		log.Fatal(err)
	}
	if err := db.Close(); err != nil {
		log.Fatal(err)
	}
}
