-- Tables of the backlog setup job (seed.ts, shared/seeds "Backlog Setup Job"):
-- sample tasks and stories for a test project, linked through story_tasks.

create table tasks (
  task_id             text primary key,
  project_id          text not null,
  title               text not null,
  description         text not null default '',
  status              text not null default 'NotStarted',
  assigned_to         text,
  sprint_id           text,
  progress_percentage integer not null default 0 check (progress_percentage between 0 and 100),
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now()
);

create index tasks_project_id_idx on tasks (project_id);

create table stories (
  story_id     text primary key,
  project_id   text not null,
  title        text not null,
  description  text not null default '',
  status       text not null default 'NotStarted',
  story_points integer check (story_points >= 0),
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now()
);

create index stories_project_id_idx on stories (project_id);

create table story_tasks (
  story_id text not null references stories (story_id) on delete cascade,
  task_id  text not null references tasks (task_id) on delete cascade,
  primary key (story_id, task_id)
);

create index story_tasks_task_id_idx on story_tasks (task_id);
