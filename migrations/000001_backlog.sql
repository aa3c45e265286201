-- Backlog items and their event history (runbook section 2).
-- dedupe_key is UNIQUE: generation upserts by it, so a re-run of the same week creates nothing new.

create table backlog_items (
  id          text primary key check (id ~ '^bl_[A-Za-z0-9_-]+$'),
  env         text not null,
  service     text not null,
  category    text not null,
  title       text not null,
  description text not null default '',
  priority    text not null check (priority in ('P0', 'P1', 'P2', 'P3')),
  status      text not null default 'open'
              check (status in ('open', 'in_progress', 'blocked', 'done', 'canceled')),
  owner       text,
  due_date    date,
  source      text not null default 'manual',
  dedupe_key  text not null unique,
  tags        text[] not null default '{}',
  meta        jsonb not null default '{}'::jsonb,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

create index backlog_items_env_status_idx on backlog_items (env, status);
create index backlog_items_service_idx    on backlog_items (service);
create index backlog_items_due_date_idx   on backlog_items (due_date);
create index backlog_items_owner_idx      on backlog_items (owner);
create index backlog_items_category_idx   on backlog_items (category);
-- cleanup deletes done/canceled rows by age
create index backlog_items_status_updated_idx on backlog_items (status, updated_at);

create table backlog_events (
  id       text primary key,
  item_id  text not null references backlog_items (id) on delete cascade,
  ts       timestamptz not null default now(),
  type     text not null
           check (type in ('created', 'updated', 'status_changed', 'commented', 'owner_changed')),
  actor    text not null,
  message  text not null default '',
  meta     jsonb not null default '{}'::jsonb
);

create index backlog_events_item_id_idx on backlog_events (item_id);
create index backlog_events_ts_idx      on backlog_events (ts);
