-- baton:contract unused-since=v2
-- Release v3, contract: `status` says nothing `cancelled_at` does not (cancelled exactly when
-- cancelled_at is set). Release v2 derives the status from cancelled_at and neither reads nor
-- writes the column; release v1 still selects it and sets it on cancel. So this may run only
-- once no v1 instance is left: `baton migrations check --deployed v1,v2` refuses it,
-- `--deployed v2` accepts it.
SET lock_timeout = '2s';
SET statement_timeout = '5s';

ALTER TABLE orders DROP COLUMN status;
