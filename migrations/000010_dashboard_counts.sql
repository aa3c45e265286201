-- Exact dashboard numbers kept up to date by statement triggers, so the dashboard reads a few hundred
-- summary rows instead of every item (lib/store/postgres/dashboard.ts; bench/pg-dashboard.ts).
--
--   backlog_counts        items per (env, status, priority): total, status and priority counts
--   backlog_open_services open work (open, in_progress, blocked) per (env, service): top services
--   backlog_open_due      open work with a due date per (env, due_date, priority, snoozed_until):
--                         overdue and due-soon counts for any "today" (snoozed_until is the item's
--                         meta.snoozed_until text, '' when not snoozed)
--
-- Each trigger folds the statement's transition rows into one signed delta per key and applies it in
-- key order with INSERT … ON CONFLICT, in the writer's transaction: the numbers are exact at every
-- commit. Writers of the same keys wait for each other's commit on those summary rows; the store
-- retries the rare deadlock (40P01) between two multi-statement transactions.

create table backlog_counts (
  env      text not null,
  status   text not null,
  priority text not null,
  n        bigint not null,
  primary key (env, status, priority)
);

create table backlog_open_services (
  env     text not null,
  service text not null,
  n       bigint not null,
  primary key (env, service)
);

create table backlog_open_due (
  env           text not null,
  due_date      date not null,
  priority      text not null,
  snoozed_until text not null,
  n             bigint not null,
  primary key (env, due_date, priority, snoozed_until)
);

-- One function for the three statement triggers: the transition tables are visible only inside the
-- trigger function itself, so it builds the signed delta (+1 new rows, -1 old rows) from TG_OP and
-- folds it into each summary table in key order.
create function backlog_counts_on_change() returns trigger
language plpgsql as $$
declare
  delta text := case TG_OP
    when 'INSERT' then $q$select env, status, priority, service, due_date, coalesce(meta->>'snoozed_until', '') as snoozed_until, 1 as d from backlog_counts_new$q$
    when 'DELETE' then $q$select env, status, priority, service, due_date, coalesce(meta->>'snoozed_until', '') as snoozed_until, -1 as d from backlog_counts_old$q$
    else $q$select env, status, priority, service, due_date, coalesce(meta->>'snoozed_until', '') as snoozed_until, 1 as d from backlog_counts_new union all select env, status, priority, service, due_date, coalesce(meta->>'snoozed_until', '') as snoozed_until, -1 as d from backlog_counts_old$q$
  end;
begin
  execute format($f$
    insert into backlog_counts (env, status, priority, n)
    select env, status, priority, sum(d) from (%s) x
     group by env, status, priority having sum(d) <> 0 order by env, status, priority
    on conflict (env, status, priority) do update set n = backlog_counts.n + excluded.n$f$, delta);
  execute format($f$
    insert into backlog_open_services (env, service, n)
    select env, service, sum(d) from (%s) x where status in ('open', 'in_progress', 'blocked')
     group by env, service having sum(d) <> 0 order by env, service
    on conflict (env, service) do update set n = backlog_open_services.n + excluded.n$f$, delta);
  execute format($f$
    insert into backlog_open_due (env, due_date, priority, snoozed_until, n)
    select env, due_date, priority, snoozed_until, sum(d) from (%s) x
     where status in ('open', 'in_progress', 'blocked') and due_date is not null
     group by env, due_date, priority, snoozed_until having sum(d) <> 0 order by env, due_date, priority, snoozed_until
    on conflict (env, due_date, priority, snoozed_until) do update set n = backlog_open_due.n + excluded.n$f$, delta);
  return null;
end
$$;

create function backlog_counts_on_truncate() returns trigger
language plpgsql as $$
begin
  truncate backlog_counts, backlog_open_services, backlog_open_due;
  return null;
end
$$;

create trigger backlog_counts_insert after insert on backlog_items
  referencing new table as backlog_counts_new
  for each statement execute function backlog_counts_on_change();
create trigger backlog_counts_delete after delete on backlog_items
  referencing old table as backlog_counts_old
  for each statement execute function backlog_counts_on_change();
create trigger backlog_counts_update after update on backlog_items
  referencing old table as backlog_counts_old new table as backlog_counts_new
  for each statement execute function backlog_counts_on_change();
create trigger backlog_counts_truncate after truncate on backlog_items
  for each statement execute function backlog_counts_on_truncate();

-- What is already there.
insert into backlog_counts (env, status, priority, n)
  select env, status, priority, count(*) from backlog_items group by env, status, priority;
insert into backlog_open_services (env, service, n)
  select env, service, count(*) from backlog_items where status in ('open', 'in_progress', 'blocked') group by env, service;
insert into backlog_open_due (env, due_date, priority, snoozed_until, n)
  select env, due_date, priority, coalesce(meta->>'snoozed_until', ''), count(*) from backlog_items
   where status in ('open', 'in_progress', 'blocked') and due_date is not null
   group by env, due_date, priority, coalesce(meta->>'snoozed_until', '');

-- The overdue list: open work in due order within an env, and across envs.
create index backlog_items_open_due_env_idx on backlog_items (env, due_date, priority collate "C", id collate "C")
  where status in ('open', 'in_progress', 'blocked') and due_date is not null;
create index backlog_items_open_due_idx on backlog_items (due_date, priority collate "C", id collate "C")
  where status in ('open', 'in_progress', 'blocked') and due_date is not null;
