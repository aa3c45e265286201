-- Risk history (risk_history_tool, docs/governance.md): recorded per-service signals and the hourly
-- risk score snapshots computed from them. Both are trimmed by risk_history_tool.cleanup
-- (config/risk_policy.yml retention_days).

create table risk_signals (
  id          text primary key,
  env         text not null,
  service     text not null,
  ts          timestamptz not null,   -- when the numbers were true
  signals     jsonb not null check (jsonb_typeof(signals) = 'object'),
  source      text not null default 'manual',
  actor       text not null,
  recorded_at timestamptz not null
);

-- snapshot reads an env's signals of the last stale_after_days; cleanup deletes by age
create index risk_signals_env_ts_idx on risk_signals (env, ts);
create index risk_signals_ts_idx     on risk_signals (ts);

create table risk_history (
  env           text not null,
  service       text not null,
  hour          timestamptz not null check (date_trunc('hour', hour at time zone 'UTC') = hour at time zone 'UTC'),
  score         double precision not null check (score >= 0 and score <= 100),
  band          text not null check (band in ('low', 'medium', 'high', 'critical')),
  contributions jsonb not null,
  signals       jsonb not null,
  created_at    timestamptz not null,
  -- one snapshot per service and hour: a re-run of the hourly job inserts nothing
  primary key (env, service, hour)
);

create index risk_history_env_hour_idx on risk_history (env, hour);
create index risk_history_hour_idx     on risk_history (hour);
