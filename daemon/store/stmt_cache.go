package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the cache. The package's queries are a fixed set plus
// a few variants (claim options, list filters), well under this; a query past
// the bound runs unprepared rather than growing the cache without end.
const maxCachedStmts = 256

// stmtCache holds one *sql.Stmt per query text, prepared on the pool.
// database/sql then prepares it once on each connection that runs it and
// keeps it there, so parsing and planning a query is paid once per
// connection instead of on every call: before the cache, SQLite spent about
// a third of the store's CPU in sqlite3Prepare.
type stmtCache struct {
	mu      sync.Mutex
	m       map[string]*sql.Stmt
	pending map[string]bool // being prepared in the background
	closed  bool
	// preparing counts the background prepares, so that close can wait for
	// them: one still holding a connection after Close would close it (and
	// SQLite would remove its WAL files) after the caller moved on.
	preparing sync.WaitGroup
}

// get returns the statement for query, or nil when it is not prepared yet.
// A miss starts preparing it in the background and the caller runs the query
// unprepared this once: preparing on the pool needs a connection of its own,
// and a caller inside a transaction already holds one, so waiting for a
// second could deadlock a full pool (PostgreSQL runs up to MaxOpenConns
// transactions at once).
func (c *stmtCache) get(db *sql.DB, query, text string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok || c.closed {
		return st
	}
	if c.pending[query] || len(c.m)+len(c.pending) >= maxCachedStmts {
		return nil
	}
	if c.pending == nil {
		c.pending = map[string]bool{}
		c.m = map[string]*sql.Stmt{}
	}
	c.pending[query] = true
	c.preparing.Add(1)
	go c.prepare(db, query, text)
	return nil
}

func (c *stmtCache) prepare(db *sql.DB, query, text string) {
	defer c.preparing.Done()
	st, err := db.PrepareContext(context.Background(), text)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, query)
	if err != nil {
		// The unprepared runs report the query's error to their callers;
		// the next miss tries again.
		return
	}
	if c.closed {
		st.Close()
		return
	}
	c.m[query] = st
}

// close closes the statements, once the background prepares have ended;
// later gets return nil.
func (c *stmtCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.preparing.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
}

// stmtQuerier runs the package's queries, written with ? placeholders, on
// the pool or in a transaction, through the statement cache.
type stmtQuerier struct {
	s     *Store
	tx    *sql.Tx // nil: the pool
	plain bool    // never prepare: migrations, whose statements run once
	// txStmts are the cached statements bound to tx, so that the many
	// operations of one group commit bind each statement once.
	txStmts map[*sql.Stmt]*sql.Stmt
}

func (s *Store) txQuerier(tx *sql.Tx, plain bool) stmtQuerier {
	return stmtQuerier{s: s, tx: tx, plain: plain, txStmts: map[*sql.Stmt]*sql.Stmt{}}
}

// stmt is the prepared statement for query, bound to the transaction if
// there is one, or nil to run it unprepared.
func (q stmtQuerier) stmt(ctx context.Context, query string) *sql.Stmt {
	if q.plain {
		return nil
	}
	st := q.s.stmts.get(q.s.db, query, q.s.rebind(query))
	if st == nil || q.tx == nil {
		return st
	}
	if bound, ok := q.txStmts[st]; ok {
		return bound
	}
	// Reuses the statement already prepared on the transaction's
	// connection, or prepares it there once; database/sql keeps it for the
	// connection's life. The bound copy is closed with the transaction.
	bound := q.tx.StmtContext(ctx, st)
	q.txStmts[st] = bound
	return bound
}

func (q stmtQuerier) raw() interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
} {
	if q.tx != nil {
		return q.tx
	}
	return q.s.db
}

func (q stmtQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.raw().ExecContext(ctx, q.s.rebind(query), args...)
}

func (q stmtQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.raw().QueryContext(ctx, q.s.rebind(query), args...)
}

func (q stmtQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.raw().QueryRowContext(ctx, q.s.rebind(query), args...)
}
