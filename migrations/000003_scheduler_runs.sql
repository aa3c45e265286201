-- The scheduler's run ledger. A run is claimed by ONE insert of (job, scheduled_at): the unique key lets
-- exactly one caller win per job and scheduled minute, whether it is the in-process scheduler of any
-- replica or the cron runner via HTTP (like graphile-worker's known_crontabs / pg-boss singleton keys).

create table scheduler_runs (
  run_id       text primary key,
  job          text not null,
  scheduled_at timestamptz not null,
  source       text not null,
  started_at   timestamptz not null,
  ended_at     timestamptz,
  status       text not null check (status in ('running', 'success', 'error')),
  result       jsonb,
  error        text,
  unique (job, scheduled_at)
);

create index scheduler_runs_job_latest_idx on scheduler_runs (job, scheduled_at desc);
