-- Case folding for the items list's text search (lib/store/postgres/list.ts, `q`): lower() follows the
-- database's LC_CTYPE, so a database created with the C locale lower-cases ASCII only ('É' stays 'É')
-- while the JSONL backend (JavaScript toLowerCase) folds every letter. An ICU collation folds like
-- JavaScript whatever the database's locale, so Postgres and JSONL find the same items. A server built
-- without ICU gets a libc collation of the database's own locale instead ("default" cannot be copied):
-- search then folds as the database's locale does (docs/storage.md names this limit).
do $$
declare
  db record;
begin
  create collation backlog_search_fold (provider = icu, locale = 'und');
exception when feature_not_supported then
  select datcollate, datctype into db from pg_database where datname = current_database();
  execute format('create collation backlog_search_fold (provider = libc, lc_collate = %L, lc_ctype = %L)', db.datcollate, db.datctype);
end
$$;
