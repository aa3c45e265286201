-- The auto backend's outage replay (lib/store/auto/). Each operation acknowledged on the JSONL fallback
-- while Postgres was down is replayed once: its op id goes into backlog_replayed_ops in the same
-- transaction as its effect, so a replay that is repeated (crash between commit and the local mark, a
-- lost journal offset, two processes replaying the same journal) changes nothing the second time.

create table backlog_replayed_ops (
  op_id      text primary key,
  kind       text not null,
  applied_at timestamptz not null default now()
);

create index backlog_replayed_ops_applied_idx on backlog_replayed_ops (applied_at);

-- An id handed out by the fallback for a dedupe_key Postgres already had stays valid: it becomes an
-- alias of the Postgres item, resolved by get, set_status, comments and events.
create table backlog_id_aliases (
  alias      text primary key check (alias ~ '^bl_[A-Za-z0-9_-]+$'),
  id         text not null references backlog_items (id) on delete cascade,
  created_at timestamptz not null default now()
);

create index backlog_id_aliases_id_idx on backlog_id_aliases (id);
