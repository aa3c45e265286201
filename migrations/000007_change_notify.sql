-- Every write statement on the backlog tables notifies `backlog_changed` at commit, so replicas can
-- keep read answers (dashboard, items) until something changed (lib/store/postgres/changes.ts).
-- Statement-level: one notification per statement, and Postgres folds identical ones per transaction.

create function backlog_notify_change() returns trigger
language plpgsql as $$
begin
  perform pg_notify('backlog_changed', '');
  return null;
end
$$;

create trigger backlog_items_notify_change
  after insert or update or delete or truncate on backlog_items
  for each statement execute function backlog_notify_change();

create trigger backlog_events_notify_change
  after insert or update or delete or truncate on backlog_events
  for each statement execute function backlog_notify_change();
