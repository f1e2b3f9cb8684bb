-- Each registry counts its tokens and versions their order, so listing a
-- page does not count or skip a million index entries.

ALTER TABLE registries ADD COLUMN token_count BIGINT NOT NULL DEFAULT 0;

ALTER TABLE registries ADD COLUMN tokens_version BIGINT NOT NULL DEFAULT 0;

UPDATE registries SET token_count = (SELECT COUNT(*) FROM registry_tokens t WHERE t.registry_id = registries.id)
