-- When each blob was last reported stored: by an event, or by a
-- resynchronisation that found a manifest referencing it. A
-- resynchronisation recounts a registry's blobs from its manifests and
-- forgets those not seen since it began, so the storage usage falls once
-- the registry no longer holds what its deleted manifests referenced.

ALTER TABLE registry_blobs ADD COLUMN seen_at BIGINT NOT NULL DEFAULT 0
