-- 003_trace_archive: the archive's watermark, and the lookup of a hotel's orders for
-- GET /api/traces/by-hotel.

-- One row: the newest created_at ever moved to ClickHouse. Reads consult the archive only
-- when what they look for may be that old (NULL: nothing archived yet, PostgreSQL only).
-- Written in the same transaction as the DELETE of the archived rows.
CREATE TABLE IF NOT EXISTS trace_archive_state (
  id SMALLINT PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  archived_through TIMESTAMPTZ,
  archived_rows BIGINT NOT NULL DEFAULT 0,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO trace_archive_state (id) VALUES (1) ON CONFLICT DO NOTHING;

CREATE INDEX IF NOT EXISTS idx_orders_hotel ON orders(hotel_id, updated_at);
