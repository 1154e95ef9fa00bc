/**
 * Where a repository's statements run. Inside a unit of work every repository shares the transaction's
 * connection; work outside the database (an owner's audio file) is tied to the transaction's outcome through
 * `onCommit` / `onRollback`, so a repository never needs to know whether it runs alone or in a larger unit.
 */
import type { Sql } from './sqlite.js';

export interface Scope {
  readonly sql: Sql;
  /** Runs after the transaction committed (e.g. deleting audio whose rows are gone). */
  onCommit(fn: () => Promise<void>): void;
  /** Runs after the transaction rolled back (e.g. deleting audio written for a row that did not commit). */
  onRollback(fn: () => Promise<void>): void;
}
