-- 001_trace_events: the journal of spans (the seed's trace_events) and the migration ledger.
-- The seed's table, columns, types and indexes are kept exactly; bedbank's additions follow
-- as ADD COLUMN IF NOT EXISTS so a table created from the seed's DDL gets them too.

CREATE TABLE IF NOT EXISTS schema_migrations (
  version INT PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS trace_events (
  id BIGSERIAL PRIMARY KEY,
  trace_id VARCHAR(64) NOT NULL,      -- trace id, passed along every hop
  span_id VARCHAR(64) NOT NULL,       -- this hop
  parent_span_id VARCHAR(64),         -- the upstream hop; NULL for a root span
  event_type VARCHAR(64) NOT NULL,    -- search/cache_hit/supplier_query/trial/book/confirm/settle
  service VARCHAR(32) NOT NULL,       -- api_gateway/query_engine/supplier_adapter/...
  related_type VARCHAR(32),           -- order/supplier/agent/hotel
  related_id VARCHAR(64),
  request_data JSONB,
  response_data JSONB,
  duration_ms INT,
  status VARCHAR(16) NOT NULL,        -- success/error/timeout
  error_detail TEXT,
  created_at TIMESTAMPTZ DEFAULT now()
);

CREATE INDEX IF NOT EXISTS idx_trace_trace_id ON trace_events(trace_id);
CREATE INDEX IF NOT EXISTS idx_trace_related ON trace_events(related_type, related_id);
CREATE INDEX IF NOT EXISTS idx_trace_created ON trace_events(created_at);

-- bedbank's additions: the start instant with microseconds, the exact duration, the owning
-- agent (agent-scoped reads) and the node that recorded the span.
ALTER TABLE trace_events ADD COLUMN IF NOT EXISTS started_at TIMESTAMPTZ;
ALTER TABLE trace_events ADD COLUMN IF NOT EXISTS duration_us BIGINT;
ALTER TABLE trace_events ADD COLUMN IF NOT EXISTS agent_id VARCHAR(64);
ALTER TABLE trace_events ADD COLUMN IF NOT EXISTS node VARCHAR(64);

-- No agent index: every read narrows by trace_id (idx_trace_trace_id) or by related object
-- (idx_trace_related) to a handful of rows first, and agent_id only filters those. A further
-- index would only slow down the COPY path.
