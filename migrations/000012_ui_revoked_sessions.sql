-- Signed-out browser sessions (lib/http/ui/revoked-sessions.ts): sessions are stateless signed cookies,
-- so signing out on one replica ends the session on all of them only through this shared list of revoked
-- nonces. A row is needed until the session would have expired anyway; expired rows are deleted on the
-- next sign-out.

create table ui_revoked_sessions (
  nonce       text primary key,
  expires_at  timestamptz not null
);

create index ui_revoked_sessions_expires_idx on ui_revoked_sessions (expires_at);
