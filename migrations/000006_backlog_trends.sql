-- Trends (trends_tool, docs/dashboard.md): one row per env and UTC day with the dashboard's counts,
-- written by the daily_trends_snapshot job and drawn by the UI's trends page. A later snapshot of the
-- same day replaces the earlier one. Trimmed by trends_tool.cleanup (daily_trends_cleanup).

create table backlog_trends (
  env         text not null,
  day         date not null,
  total       integer not null check (total >= 0),
  open        integer not null check (open >= 0),
  overdue     integer not null check (overdue >= 0),
  p0_open     integer not null check (p0_open >= 0),
  p1_open     integer not null check (p1_open >= 0),
  created     integer not null check (created >= 0),
  closed      integer not null check (closed >= 0),
  recorded_at timestamptz not null,
  primary key (env, day)
);

-- cleanup deletes by age across envs
create index backlog_trends_day_idx on backlog_trends (day);
