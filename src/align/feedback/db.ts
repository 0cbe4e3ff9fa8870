/**
 * The feedback database: one SQLite file (better-sqlite3) in WAL mode, its schema built by
 * numbered migrations recorded in `schema_version`. Opening a file applies whatever
 * migrations it lacks, each in its own transaction, so a file written by an older llmforge
 * is upgraded in place and a half-applied migration never exists. A new schema change is
 * one more entry at the end of MIGRATIONS.
 *
 * Durability: WAL with synchronous=FULL fsyncs the log at every commit, so a vote is on
 * disk before the server acknowledges it — a `kill -9` (or a power cut) right after the
 * reply loses nothing, and the next open replays the log.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';

export type Db = Database.Database;

export interface Migration {
  version: number;
  description: string;
  /** SQL run inside the migration's transaction. */
  up: string;
}

/**
 * Migration 1. Pairs are the generated candidates of one prompt under one generation setup
 * (models + sampling + seed); every annotator of that setup sees the same pair, which is
 * what makes agreement measurable. A vote says which displayed side won; `swapped` records
 * the layout it was shown in (1: side A showed reply_2). Undo marks a vote undone instead of
 * deleting it, and at most one live vote per annotator and pair exists.
 */
const V1 = `
CREATE TABLE prompts (
  id INTEGER PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  messages TEXT NOT NULL,
  source TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE pairs (
  id INTEGER PRIMARY KEY,
  prompt_id INTEGER NOT NULL REFERENCES prompts(id),
  setup TEXT NOT NULL,
  reply_1 TEXT NOT NULL,
  reply_2 TEXT NOT NULL,
  origin_1 TEXT NOT NULL,
  origin_2 TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (prompt_id, setup)
);
CREATE TABLE annotators (
  name TEXT PRIMARY KEY,
  live_votes INTEGER NOT NULL DEFAULT 0,
  last_vote_at TEXT
);
CREATE TABLE votes (
  id INTEGER PRIMARY KEY,
  pair_id INTEGER NOT NULL REFERENCES pairs(id),
  annotator TEXT NOT NULL REFERENCES annotators(name),
  choice TEXT NOT NULL CHECK (choice IN ('A', 'B', 'tie', 'both_bad', 'skip')),
  swapped INTEGER NOT NULL CHECK (swapped IN (0, 1)),
  written TEXT,
  created_at TEXT NOT NULL,
  undone_at TEXT
);
CREATE UNIQUE INDEX votes_live ON votes (annotator, pair_id) WHERE undone_at IS NULL;
CREATE INDEX votes_pair ON votes (pair_id);
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, description: 'prompts, generated pairs, annotators, votes', up: V1 },
];

export interface OpenOptions {
  /** Fail when the file does not exist (export, stats) instead of creating it (serve). */
  mustExist?: boolean;
  /** The schema's history; tests pass a longer list to check upgrades. */
  migrations?: readonly Migration[];
}

/** Opens (or creates) a feedback database and brings its schema up to date. Errors name the file. */
export function openFeedbackDb(path: string, opts: OpenOptions = {}): Db {
  if (opts.mustExist && !existsSync(path)) throw new Error(`${path}: no such file`);
  let db: Db;
  try {
    db = new Database(path);
  } catch (err) {
    throw new Error(`${path}: cannot open (${(err as Error).message})`);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, opts.migrations ?? MIGRATIONS);
  } catch (err) {
    db.close();
    const msg = (err as Error).message;
    throw new Error(msg.startsWith(path) ? msg : `${path}: ${/not a database/i.test(msg) ? 'not a SQLite database' : msg}`);
  }
  return db;
}

/** The schema version of an open database (0 for an empty file). */
export function schemaVersion(db: Db): number {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
  if (has === undefined) return 0;
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null };
  return row.v ?? 0;
}

function migrate(db: Db, migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${i + 1} is numbered ${m.version}: versions must count up from 1`);
  });
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new Error(`schema version ${current} is newer than this llmforge knows (${migrations.length}); upgrade llmforge`);
  }
  const record = db.prepare('INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)');
  for (const m of migrations.slice(current)) {
    db.transaction(() => {
      db.exec(m.up);
      record.run(m.version, m.description, new Date().toISOString());
    })();
  }
}

/** `PRAGMA integrity_check`: 'ok' or the problems SQLite found. */
export function integrityCheck(db: Db): string {
  const rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
  return rows.map((r) => r.integrity_check).join('; ');
}
