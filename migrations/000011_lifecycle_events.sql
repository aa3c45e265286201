-- Item lifecycle (docs/generation.md): store.transition writes these event types. Lineage, streak,
-- links and snoozed_until live in the item's meta (jsonb), so no column changes.
alter table backlog_events drop constraint backlog_events_type_check;
alter table backlog_events add constraint backlog_events_type_check
  check (type in ('created', 'updated', 'status_changed', 'commented', 'owner_changed',
                  'recurred', 'auto_resolved', 'signal_gone', 'reopened', 'snoozed', 'snooze_expired', 'escalated'));
