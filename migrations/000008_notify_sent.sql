-- The notifier's sent state (lib/notify/state-postgres.ts): one row per notice, keyed
-- webhook|fingerprint|kind|slot. A notice is claimed by ONE insert per key (on conflict: taken over only
-- when an unfinished claim is older than its lease), so two replicas never send the same notice.

create table notify_sent (
  key          text primary key,
  webhook      text not null,
  fingerprint  text not null,
  kind         text not null check (kind in ('warn', 'overdue', 'resolved')),
  slot         integer not null,
  owner        text not null,
  item         jsonb not null,
  status       text not null check (status in ('sending', 'sent')),
  run_id       text not null,
  claimed_at   timestamptz not null,
  sent_at      timestamptz
);

create index notify_sent_webhook_fingerprint_idx on notify_sent (webhook, fingerprint);
