-- 002_orders: agents' credit lines, orders and their history, inventory holds, the outbox
-- (the seed's local message table), the credit ledger, and the mock suppliers' own bookings.
-- Money is BIGINT minor units beside a currency column; never floating point.

CREATE TABLE IF NOT EXISTS agents (
  agent_id VARCHAR(64) PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  currency CHAR(3) NOT NULL,
  credit_limit BIGINT NOT NULL CHECK (credit_limit >= 0),
  credit_reserved BIGINT NOT NULL DEFAULT 0 CHECK (credit_reserved >= 0),
  credit_captured BIGINT NOT NULL DEFAULT 0 CHECK (credit_captured >= 0),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS orders (
  order_id VARCHAR(64) PRIMARY KEY,
  agent_id VARCHAR(64) NOT NULL,
  client_reference VARCHAR(64) NOT NULL,
  status VARCHAR(16) NOT NULL,
  status_reason VARCHAR(64) NOT NULL DEFAULT '',
  supplier VARCHAR(32) NOT NULL,
  supplier_ref VARCHAR(128) NOT NULL DEFAULT '',
  hotel_id VARCHAR(64) NOT NULL,
  hotel_code VARCHAR(64) NOT NULL,
  room_code VARCHAR(64) NOT NULL,
  room_name TEXT NOT NULL DEFAULT '',
  board VARCHAR(8) NOT NULL,
  check_in DATE NOT NULL,
  check_out DATE NOT NULL,
  rooms JSONB NOT NULL,            -- [{"adults": 2, "children_ages": [5]}]
  guests JSONB NOT NULL,           -- the agent's rooms with guest names
  contact JSONB,
  price_minor BIGINT NOT NULL CHECK (price_minor >= 0),
  currency CHAR(3) NOT NULL,
  net_minor BIGINT NOT NULL CHECK (net_minor >= 0),
  net_currency CHAR(3) NOT NULL,
  credit_minor BIGINT NOT NULL DEFAULT 0 CHECK (credit_minor >= 0),
  credit_currency CHAR(3) NOT NULL,
  refundable BOOLEAN NOT NULL DEFAULT true,
  policies JSONB NOT NULL,         -- [{"from_us": ..., "penalty_minor": ...}] in currency
  hold_only BOOLEAN NOT NULL DEFAULT false,
  penalty_minor BIGINT NOT NULL DEFAULT 0,
  refund_minor BIGINT NOT NULL DEFAULT 0,
  scenario VARCHAR(32) NOT NULL DEFAULT '',
  version INT NOT NULL DEFAULT 1,
  trace_id VARCHAR(64) NOT NULL DEFAULT '',
  trace_ids TEXT[] NOT NULL DEFAULT '{}',
  created_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL,
  UNIQUE (agent_id, client_reference)
);
CREATE INDEX IF NOT EXISTS idx_orders_status ON orders(status, created_at);
CREATE INDEX IF NOT EXISTS idx_orders_agent_created ON orders(agent_id, created_at);
CREATE INDEX IF NOT EXISTS idx_orders_created ON orders(created_at);

CREATE TABLE IF NOT EXISTS order_events (
  id BIGSERIAL PRIMARY KEY,
  order_id VARCHAR(64) NOT NULL REFERENCES orders(order_id),
  from_status VARCHAR(16) NOT NULL DEFAULT '',
  to_status VARCHAR(16) NOT NULL,
  event VARCHAR(32) NOT NULL,
  reason VARCHAR(64) NOT NULL DEFAULT '',
  trace_id VARCHAR(64) NOT NULL DEFAULT '',
  created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_order_events_order ON order_events(order_id, id);

CREATE TABLE IF NOT EXISTS inventory_holds (
  order_id VARCHAR(64) PRIMARY KEY REFERENCES orders(order_id),
  supplier VARCHAR(32) NOT NULL,
  status VARCHAR(16) NOT NULL,     -- active | converted | released | expired
  expires_at TIMESTAMPTZ NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_holds_active ON inventory_holds(expires_at) WHERE status = 'active';

CREATE TABLE IF NOT EXISTS outbox (
  id BIGSERIAL PRIMARY KEY,
  order_id VARCHAR(64) NOT NULL REFERENCES orders(order_id),
  kind VARCHAR(16) NOT NULL,       -- book | cancel
  status VARCHAR(16) NOT NULL,     -- pending | done
  attempts INT NOT NULL DEFAULT 0,
  max_attempts INT NOT NULL,
  next_attempt_at TIMESTAMPTZ NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  created_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_outbox_due ON outbox(next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS idx_outbox_order ON outbox(order_id);

CREATE TABLE IF NOT EXISTS credit_ledger (
  id BIGSERIAL PRIMARY KEY,
  agent_id VARCHAR(64) NOT NULL,
  order_id VARCHAR(64) NOT NULL,
  kind VARCHAR(16) NOT NULL,       -- reserve | capture | release | refund
  amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
  currency CHAR(3) NOT NULL,
  created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_credit_ledger_order ON credit_ledger(order_id);

-- What the simulated suppliers really received: every CreateBooking makes a row (the mock
-- does not deduplicate, like many real suppliers), so tests can count bookings per order.
CREATE TABLE IF NOT EXISTS mock_bookings (
  id BIGSERIAL PRIMARY KEY,
  supplier VARCHAR(32) NOT NULL,
  idempotency_key VARCHAR(64) NOT NULL,
  supplier_ref VARCHAR(128) NOT NULL UNIQUE,
  status VARCHAR(16) NOT NULL,     -- confirmed | cancelled
  hotel_code VARCHAR(64) NOT NULL,
  net_minor BIGINT NOT NULL,
  currency CHAR(3) NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  cancelled_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS idx_mock_bookings_key ON mock_bookings(supplier, idempotency_key);
