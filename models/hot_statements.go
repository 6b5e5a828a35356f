package models

import (
	"context"
	"database/sql"

	"gorm.io/gorm"
)

// hotStatement is a statement run inside a write transaction many times a
// second (the group-committed token insert), prepared once when the store
// opens. GORM's own prepared statements do not help there: a statement
// GORM first prepares inside a transaction belongs to that transaction,
// and database/sql prepares it again in every later one (Tx.StmtContext
// cannot reuse a statement owned by a transaction), which was a fifth of
// the SQLite writer's CPU under BenchmarkRefreshTokenVsBare. A statement
// prepared on the pool is reused by Tx.StmtContext on the connection it
// was prepared on, and prepared afresh on any other. Where GORM does not
// prepare (the PostgreSQL pool, whose driver caches statements per
// connection itself) the statement goes through GORM as it is.
type hotStatement struct {
	text string    // this database's text, placeholders as GORM takes them
	stmt *sql.Stmt // nil where GORM does not prepare
}

// prepareHot prepares q (in SQLite's words) on the writer pool, which must
// have a free connection: call it before any transaction starts.
func (s *Store) prepareHot(ctx context.Context, q string) (*hotStatement, error) {
	h := &hotStatement{text: s.d.gormSQL(q)}
	// The handle's own pool: PostgreSQL's is not GORM's prepared one
	// (pgx prepares by itself), SQLite's writer is.
	if _, ok := s.W.Statement.ConnPool.(*gorm.PreparedStmtDB); !ok {
		return h, nil
	}
	db, err := s.W.DB()
	if err != nil {
		return nil, err
	}
	if h.stmt, err = db.PrepareContext(ctx, s.d.statement(q)); err != nil {
		return nil, err
	}
	return h, nil
}

// query runs the statement in tx and returns its rows.
func (h *hotStatement) query(tx *gorm.DB, args ...any) (*sql.Rows, error) {
	if h.stmt != nil {
		if ptx, ok := tx.Statement.ConnPool.(*gorm.PreparedStmtTX); ok {
			if sqlTx, ok := ptx.Tx.(*sql.Tx); ok {
				ctx := tx.Statement.Context
				return sqlTx.StmtContext(ctx, h.stmt).QueryContext(ctx, args...)
			}
		}
	}
	return tx.Raw(h.text, args...).Rows()
}

func (h *hotStatement) close() {
	if h != nil && h.stmt != nil {
		h.stmt.Close()
	}
}
