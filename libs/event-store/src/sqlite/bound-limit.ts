/**
 * `LIMIT` with its row count bound at run time. Write `LIMIT ${BOUND_LIMIT}`, never `LIMIT ?`:
 * SQLite (3.53 as node 24 ships it) lets the planner read the value bound to a bare LIMIT
 * parameter and marks that parameter in the statement's expmask, so every bind of it expires
 * the statement and the next step prepares it again.
 * That cost 9-16 µs per execution here, more than the lookup itself (readStream of a 2-event
 * stream: 27 µs with `LIMIT ?`, 10 µs with this). Behind a CAST the value stays opaque to the
 * planner and the prepared statement is kept; the row count is the same.
 */
export const BOUND_LIMIT = 'CAST(? AS INTEGER)';
