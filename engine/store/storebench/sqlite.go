package storebench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // pure-Go SQLite, registers "sqlite"
)

// One SQLite file in WAL mode. The three indexes are SQLite indexes on the
// journal table; outbox and status are WITHOUT ROWID tables keyed like the
// key-value layout.
const sqliteSchema = `
CREATE TABLE IF NOT EXISTS journal (
	seq  INTEGER PRIMARY KEY,
	ts   INTEGER NOT NULL,
	ctrl TEXT NOT NULL,
	pid  TEXT NOT NULL,
	raw  BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_ts   ON journal(ts, seq);
CREATE INDEX IF NOT EXISTS journal_ctrl ON journal(ctrl, seq);
CREATE INDEX IF NOT EXISTS journal_pid  ON journal(pid, seq);
CREATE TABLE IF NOT EXISTS outbox (
	dest INTEGER NOT NULL,
	seq  INTEGER NOT NULL,
	PRIMARY KEY (dest, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS status (
	seq    INTEGER NOT NULL,
	dest   INTEGER NOT NULL,
	status INTEGER NOT NULL,
	PRIMARY KEY (seq, dest)
) WITHOUT ROWID;
`

type sqliteStore struct {
	db                                        *sql.DB
	insJournal, insOutbox, insStatus, delOutb *sql.Stmt
	updStatus                                 *sql.Stmt
}

func openSQLite(dir string) (Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// auto_vacuum must be set before the first table exists; INCREMENTAL lets
	// retention give pages back with PRAGMA incremental_vacuum. WAL +
	// synchronous=FULL: the WAL is fsynced at every COMMIT (with NORMAL it
	// would only be fsynced at checkpoints: not durable).
	dsn := "file:" + filepath.Join(dir, "plexus.db") +
		"?_pragma=auto_vacuum(INCREMENTAL)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one writer connection; the committer is the only writer
	if _, err := db.Exec(sqliteSchema); err != nil {
		db.Close()
		return nil, err
	}
	s := &sqliteStore{db: db}
	for _, p := range []struct {
		st **sql.Stmt
		q  string
	}{
		{&s.insJournal, "INSERT INTO journal(seq, ts, ctrl, pid, raw) VALUES (?, ?, ?, ?, ?)"},
		{&s.insOutbox, "INSERT INTO outbox(dest, seq) VALUES (?, ?)"},
		{&s.insStatus, "INSERT INTO status(seq, dest, status) VALUES (?, ?, ?)"},
		{&s.delOutb, "DELETE FROM outbox WHERE dest = ? AND seq = ?"},
		{&s.updStatus, "UPDATE status SET status = ? WHERE seq = ? AND dest = ?"},
	} {
		if *p.st, err = db.Prepare(p.q); err != nil {
			db.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *sqliteStore) tx(fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(context.Background(), nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s *sqliteStore) Commit(msgs []*Msg, ds []Delivery) error {
	return s.tx(func(tx *sql.Tx) error {
		j, o, st := tx.Stmt(s.insJournal), tx.Stmt(s.insOutbox), tx.Stmt(s.insStatus)
		for _, m := range msgs {
			if _, err := j.Exec(int64(m.Seq), m.Time, string(m.ControlID), string(m.PatientID), m.Raw); err != nil {
				return err
			}
			for d := 0; d < NumDests; d++ {
				if _, err := o.Exec(d, int64(m.Seq)); err != nil {
					return err
				}
				if _, err := st.Exec(int64(m.Seq), d, int(StatusPending)); err != nil {
					return err
				}
			}
		}
		del, upd := tx.Stmt(s.delOutb), tx.Stmt(s.updStatus)
		for _, d := range ds {
			if _, err := del.Exec(int(d.Dest), int64(d.Seq)); err != nil {
				return err
			}
			if _, err := upd.Exec(int(StatusDelivered), int64(d.Seq), int(d.Dest)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *sqliteStore) LastSeq() (uint64, error) {
	var seq sql.NullInt64
	err := s.db.QueryRow("SELECT max(seq) FROM journal").Scan(&seq)
	return uint64(seq.Int64), err
}

func (s *sqliteStore) Pending(fn func(dest uint8, seq uint64)) error {
	rows, err := s.db.Query("SELECT dest, seq FROM outbox ORDER BY dest, seq")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var d, seq int64
		if err := rows.Scan(&d, &seq); err != nil {
			return err
		}
		fn(uint8(d), uint64(seq))
	}
	return rows.Err()
}

func (s *sqliteStore) Verify(seq uint64) ([]byte, error) {
	var ts int64
	var ctrl, pid string
	var raw []byte
	err := s.db.QueryRow("SELECT ts, ctrl, pid, raw FROM journal WHERE seq = ?", int64(seq)).Scan(&ts, &ctrl, &pid, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("journal %d: %w", seq, ErrMissing)
	}
	if err != nil {
		return nil, err
	}
	// The indexes are SQLite's own and written in the same transaction as the
	// row; check them through index-only queries anyway.
	for _, q := range []struct {
		q    string
		args []any
	}{
		{"SELECT count(*) FROM journal INDEXED BY journal_ts WHERE ts = ? AND seq = ?", []any{ts, int64(seq)}},
		{"SELECT count(*) FROM journal INDEXED BY journal_ctrl WHERE ctrl = ? AND seq = ?", []any{ctrl, int64(seq)}},
		{"SELECT count(*) FROM journal INDEXED BY journal_pid WHERE pid = ? AND seq = ?", []any{pid, int64(seq)}},
		{"SELECT count(*) FROM status WHERE seq = ?", []any{int64(seq)}},
	} {
		var n int
		if err := s.db.QueryRow(q.q, q.args...).Scan(&n); err != nil {
			return nil, err
		}
		want := 1
		if q.q == "SELECT count(*) FROM status WHERE seq = ?" {
			want = NumDests
		}
		if n != want {
			return nil, fmt.Errorf("seq %d: %q found %d: %w", seq, q.q, n, ErrMissing)
		}
	}
	return raw, nil
}

func (s *sqliteStore) Status(seq uint64, dest uint8) (byte, error) {
	var st int64
	err := s.db.QueryRow("SELECT status FROM status WHERE seq = ? AND dest = ?", int64(seq), int(dest)).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return StatusNone, nil
	}
	return byte(st), err
}

func (s *sqliteStore) DeleteBefore(cutoff uint64) error {
	return s.tx(func(tx *sql.Tx) error {
		for _, q := range []string{
			"DELETE FROM journal WHERE seq < ?",
			"DELETE FROM outbox WHERE dest = 0 AND seq < ?",
			"DELETE FROM outbox WHERE dest = 1 AND seq < ?",
			"DELETE FROM status WHERE seq < ?",
		} {
			if _, err := tx.Exec(q, int64(cutoff)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Reclaim: with auto_vacuum=INCREMENTAL, freed pages go back to the file
// system with incremental_vacuum; the WAL is truncated by a checkpoint.
func (s *sqliteStore) Reclaim() error {
	for _, q := range []string{
		"PRAGMA wal_checkpoint(TRUNCATE)",
		"PRAGMA incremental_vacuum",
		"PRAGMA wal_checkpoint(TRUNCATE)",
	} {
		rows, err := s.db.Query(q)
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (s *sqliteStore) Close() error { return s.db.Close() }
