-- Case folding for the items list's text search (lib/store/postgres/list.ts, `q`): lower() follows the
-- database's LC_CTYPE, so a database created with the C locale lower-cases ASCII only ('É' stays 'É')
-- while the JSONL backend (JavaScript toLowerCase) folds every letter. An ICU collation folds like
-- JavaScript whatever the database's locale, so Postgres and JSONL find the same items. A server built
-- without ICU gets a copy of "default" instead: search then folds as the database's locale does
-- (docs/storage.md names this limit).
do $$
begin
  create collation backlog_search_fold (provider = icu, locale = 'und');
exception when feature_not_supported then
  create collation backlog_search_fold from "default";
end
$$;
