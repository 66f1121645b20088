// order_store: orders, credit lines, holds and the outbox in PostgreSQL (libpqxx 6.4).
// Every call is one READ COMMITTED transaction; nothing here throws.
#include "persistence/order_store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "persistence/pg_session.hpp"
#include "protocols/errors.hpp"

namespace bedbank::persistence {

namespace {

constexpr const char* dependency_name = "postgresql";

// Instants go to the server as UTC timestamptz literals with six decimals (exact, unlike
// to_timestamp(double)), days as `DATE '1970-01-01' + n`; both come back exactly as
// `(EXTRACT(EPOCH FROM x) * 1000000)::BIGINT` (numeric in PostgreSQL 14+) and `x - epoch`.

/// One order row as `read_order` expects it; the hold's expiry comes from inventory_holds.
constexpr const char* sql_select_orders =
    "SELECT o.order_id, o.agent_id, o.client_reference, o.status, o.status_reason, o.supplier, "
    "o.supplier_ref, o.hotel_id, o.hotel_code, o.room_code, o.room_name, o.board, "
    "o.check_in - DATE '1970-01-01', o.check_out - DATE '1970-01-01', o.rooms::text, "
    "o.guests::text, COALESCE(o.contact::text, ''), o.price_minor, o.currency::text, "
    "o.net_minor, o.net_currency::text, o.credit_minor, o.credit_currency::text, o.refundable, "
    "o.policies::text, o.hold_only, "
    "COALESCE((EXTRACT(EPOCH FROM h.expires_at) * 1000000)::BIGINT, 0), o.penalty_minor, "
    "o.refund_minor, o.scenario, o.version, (EXTRACT(EPOCH FROM o.created_at) * 1000000)::BIGINT, "
    "(EXTRACT(EPOCH FROM o.updated_at) * 1000000)::BIGINT, o.trace_id, "
    "array_to_json(o.trace_ids)::text "
    "FROM orders o LEFT JOIN inventory_holds h ON h.order_id = o.order_id ";

constexpr const char* sql_where_order_id = "WHERE o.order_id = $1";

/// One order with its history in one round trip: the columns of `sql_select_orders` and then
/// the history as a JSON array of [from, to, event, reason, at_us, trace_id], oldest first.
const std::string sql_load_order = [] {
  std::string select = sql_select_orders;
  auto from = select.find(" FROM orders o");
  return select.substr(0, from) +
         ", COALESCE((SELECT json_agg(json_build_array(e.from_status, e.to_status, e.event, "
         "e.reason, (EXTRACT(EPOCH FROM e.created_at) * 1000000)::BIGINT, e.trace_id) "
         "ORDER BY e.id) FROM order_events e WHERE e.order_id = o.order_id), '[]')::text" +
         select.substr(from) + sql_where_order_id;
}();

/// What commits with a new order besides the row itself, in one statement: its creation
/// event, its hold (when $6) and its first `book` outbox row (when $9).
constexpr const char* sql_create_effects =
    "WITH ev AS (INSERT INTO order_events (order_id, from_status, to_status, event, reason, "
    "trace_id, created_at) VALUES ($1, '', $2, 'created', $3, $4, $5::timestamptz)), "
    "hold AS (INSERT INTO inventory_holds (order_id, supplier, status, expires_at, created_at, "
    "updated_at) SELECT $1::text, $7::text, 'active', $8::timestamptz, $5::timestamptz, "
    "$5::timestamptz "
    "WHERE $6::boolean), "
    "ob AS (INSERT INTO outbox (order_id, kind, status, attempts, max_attempts, "
    "next_attempt_at, created_at, updated_at) SELECT $1::text, 'book', 'pending', 1, $10::int, "
    "$11::timestamptz, $5::timestamptz, $5::timestamptz WHERE $9::boolean) "
    "SELECT 1";

/// What commits with a transition besides the order row, in one statement: its event (when
/// $8), the hold's status (when $9 is not empty), the outbox row of kind $10 done (when not
/// empty) and a new outbox row of kind $11 (when not empty).
constexpr const char* sql_change_effects =
    "WITH ev AS (INSERT INTO order_events (order_id, from_status, to_status, event, reason, "
    "trace_id, created_at) SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, "
    "$7::timestamptz WHERE $8::boolean), "
    "hold AS (UPDATE inventory_holds SET status = $9::text, updated_at = $7::timestamptz "
    "WHERE order_id = $1::text AND $9::text <> ''), "
    "done AS (UPDATE outbox SET status = 'done', updated_at = $7::timestamptz "
    "WHERE order_id = $1::text AND kind = $10::text AND status = 'pending' AND $10::text <> ''), "
    "added AS (INSERT INTO outbox (order_id, kind, status, attempts, max_attempts, "
    "next_attempt_at, created_at, updated_at) SELECT $1::text, $11::text, 'pending', $12::int, "
    "$13::int, "
    "$14::timestamptz, $7::timestamptz, $7::timestamptz WHERE $11::text <> '') "
    "SELECT 1";

/// Filters of list(): empty strings and NULL instants filter nothing.
constexpr const char* sql_where_filter =
    "WHERE ($1::text = '' OR o.agent_id = $1::text) "
    "AND ($2::text = '' OR o.client_reference = $2::text) "
    "AND ($3::text = '' OR o.status = $3::text) "
    "AND ($4::timestamptz IS NULL OR o.created_at >= $4::timestamptz) "
    "AND ($5::timestamptz IS NULL OR o.created_at < $5::timestamptz) "
    "ORDER BY o.created_at DESC, o.order_id DESC LIMIT $6";

/// History of one order, oldest first; `read_history` reads the columns after order_id.
constexpr const char* sql_select_history =
    "SELECT order_id, from_status, to_status, event, reason, "
    "(EXTRACT(EPOCH FROM created_at) * 1000000)::BIGINT, trace_id "
    "FROM order_events WHERE order_id = $1 ORDER BY id";

/// History of several orders given as a JSON array of ids.
constexpr const char* sql_select_histories =
    "SELECT order_id, from_status, to_status, event, reason, "
    "(EXTRACT(EPOCH FROM created_at) * 1000000)::BIGINT, trace_id "
    "FROM order_events WHERE order_id IN (SELECT jsonb_array_elements_text($1::jsonb)) "
    "ORDER BY id";

/// The create INSERT. Any unique conflict (the (agent, client reference) pair or the order
/// id) does nothing and returns no row; concurrent duplicates wait on the index for the
/// first one to commit.
constexpr const char* sql_insert_order =
    "INSERT INTO orders (order_id, agent_id, client_reference, status, status_reason, supplier, "
    "supplier_ref, hotel_id, hotel_code, room_code, room_name, board, check_in, check_out, "
    "rooms, guests, contact, price_minor, currency, net_minor, net_currency, credit_minor, "
    "credit_currency, refundable, policies, hold_only, penalty_minor, refund_minor, scenario, "
    "version, trace_id, trace_ids, created_at, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
    "DATE '1970-01-01' + $13::int, DATE '1970-01-01' + $14::int, $15::jsonb, $16::jsonb, "
    "$17::jsonb, $18, $19, $20, $21, $22, $23, $24, $25::jsonb, $26, $27, $28, $29, 1, "
    "$30::text, CASE WHEN $30::text = '' THEN '{}'::text[] ELSE ARRAY[$30::text] END, "
    "$31::timestamptz, $32::timestamptz) "
    "ON CONFLICT DO NOTHING RETURNING order_id";

constexpr const char* sql_find_by_reference =
    "SELECT order_id FROM orders WHERE agent_id = $1 AND client_reference = $2";

/// The reservation, only when it fits; writes its ledger row in the line's currency.
constexpr const char* sql_reserve_credit =
    "WITH line AS (UPDATE agents SET credit_reserved = credit_reserved + $2::bigint, "
    "updated_at = now() WHERE agent_id = $1 "
    "AND credit_limit - credit_reserved - credit_captured >= $2::bigint RETURNING currency) "
    "INSERT INTO credit_ledger (agent_id, order_id, kind, amount_minor, currency, created_at) "
    "SELECT $1, $3, 'reserve', $2::bigint, currency, $4::timestamptz FROM line";

/// A capture, release or refund: deltas of reserved and captured plus its ledger row (the
/// CHECK constraints refuse a line going negative).
constexpr const char* sql_move_credit =
    "WITH line AS (UPDATE agents SET credit_reserved = credit_reserved + $3::bigint, "
    "credit_captured = credit_captured + $4::bigint, updated_at = now() WHERE agent_id = $1 "
    "RETURNING currency) "
    "INSERT INTO credit_ledger (agent_id, order_id, kind, amount_minor, currency, created_at) "
    "SELECT $1, $2, $5, $6::bigint, currency, $7::timestamptz FROM line";

constexpr const char* sql_select_credit =
    "SELECT agent_id, currency::text, credit_limit, credit_reserved, credit_captured "
    "FROM agents WHERE agent_id = $1";

constexpr const char* sql_upsert_agent =
    "INSERT INTO agents (agent_id, name, currency, credit_limit) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (agent_id) DO UPDATE SET name = EXCLUDED.name, currency = EXCLUDED.currency, "
    "credit_limit = EXCLUDED.credit_limit, updated_at = now()";

constexpr const char* sql_reschedule_outbox =
    "UPDATE outbox SET attempts = $3, next_attempt_at = $4::timestamptz, last_error = $5, "
    "updated_at = now() WHERE order_id = $1 AND kind = $2 AND status = 'pending'";

/// The optimistic transition: only from `version` and `from_status`.
constexpr const char* sql_update_order =
    "UPDATE orders SET status = $4, status_reason = $5, "
    "supplier_ref = COALESCE(NULLIF($6::text, ''), supplier_ref), "
    "penalty_minor = CASE WHEN $7::bigint >= 0 THEN $7::bigint ELSE penalty_minor END, "
    "refund_minor = CASE WHEN $8::bigint >= 0 THEN $8::bigint ELSE refund_minor END, "
    "version = version + 1, updated_at = $9::timestamptz, "
    "trace_ids = CASE WHEN $10::text = '' OR $10::text = ANY(trace_ids) THEN trace_ids "
    "ELSE trace_ids || $10::text END "
    "WHERE order_id = $1 AND version = $2 AND status = $3 RETURNING agent_id";

constexpr const char* sql_order_state = "SELECT version, status FROM orders WHERE order_id = $1";

/// Claims due rows: locks them (skipping rows other relays hold), pushes their due time past
/// the lease and answers them in the order they were due.
constexpr const char* sql_claim_due =
    "WITH due AS (SELECT id, next_attempt_at FROM outbox "
    "WHERE status = 'pending' AND next_attempt_at <= $1::timestamptz "
    "ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED), "
    "claimed AS (UPDATE outbox o SET next_attempt_at = $3::timestamptz, "
    "updated_at = $1::timestamptz FROM due WHERE o.id = due.id "
    "RETURNING o.id, o.order_id, o.kind, o.attempts, o.max_attempts, o.last_error, "
    "due.next_attempt_at AS was_due) "
    "SELECT c.id, c.order_id, c.kind, c.attempts, c.max_attempts, c.last_error, r.agent_id "
    "FROM claimed c JOIN orders r ON r.order_id = c.order_id ORDER BY c.was_due, c.id";

constexpr const char* sql_active_holds =
    "SELECT h.order_id, h.supplier, (EXTRACT(EPOCH FROM h.expires_at) * 1000000)::BIGINT "
    "FROM inventory_holds h JOIN orders o ON o.order_id = h.order_id "
    "WHERE h.status = 'active' AND o.status = 'held' ORDER BY h.expires_at, h.order_id LIMIT $1";

constexpr const char* sql_ping = "SELECT 1";

constexpr int32_t max_list_limit = 500;
constexpr const char* status_held = "held";

using opt_text = std::optional<std::string>;

/// Microseconds since the epoch as a timestamptz literal in UTC.
std::string timestamp_literal(int64_t us) {
  constexpr int64_t per_second = 1'000'000;
  auto secs = us / per_second;
  auto frac = us % per_second;
  if (frac < 0) {
    frac += per_second;
    --secs;
  }
  auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

opt_text optional_timestamp(int64_t us) {
  if (us == 0)
    return std::nullopt;
  return timestamp_literal(us);
}

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t micros_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               t0)
      .count();
}

std::string rooms_json(const std::vector<domain::room_occupancy>& rooms) {
  auto result = nlohmann::json::array();
  for (const auto& r : rooms)
    result.push_back({{"adults", r.adults}, {"children_ages", r.children_ages}});
  return result.dump();
}

std::vector<domain::room_occupancy> parse_rooms(const std::string& text) {
  std::vector<domain::room_occupancy> result;
  for (const auto& r : nlohmann::json::parse(text)) {
    domain::room_occupancy x;
    x.adults = r.value("adults", 0);
    if (auto i = r.find("children_ages"); i != r.end())
      x.children_ages = i->get<std::vector<int>>();
    result.push_back(std::move(x));
  }
  return result;
}

std::string policies_json(const std::vector<domain::cancellation_policy>& policies) {
  auto result = nlohmann::json::array();
  for (const auto& p : policies)
    result.push_back({{"from_us", p.from_us}, {"penalty_minor", p.penalty_minor}});
  return result.dump();
}

std::vector<domain::cancellation_policy> parse_policies(const std::string& text) {
  std::vector<domain::cancellation_policy> result;
  for (const auto& p : nlohmann::json::parse(text))
    result.push_back({p.value("from_us", int64_t{0}), p.value("penalty_minor", int64_t{0})});
  return result;
}

/// The columns of `sql_select_orders` as an order (history not included).
order_record read_order(const pqxx::row& row) {
  order_record x;
  int i = 0;
  auto text = [&] { return row[i++].as<std::string>(); };
  auto i64 = [&] { return row[i++].as<int64_t>(); };
  auto i32 = [&] { return row[i++].as<int32_t>(); };
  auto boolean = [&] { return row[i++].as<bool>(); };
  x.order_id = text();
  x.agent_id = text();
  x.client_reference = text();
  x.status = text();
  x.status_reason = text();
  x.supplier = text();
  x.supplier_ref = text();
  x.hotel_id = text();
  x.hotel_code = text();
  x.room_code = text();
  x.room_name = text();
  x.board = text();
  x.check_in = i32();
  x.check_out = i32();
  x.rooms = parse_rooms(text());
  x.guests_json = text();
  x.contact_json = text();
  x.price_minor = i64();
  x.currency = text();
  x.net_minor = i64();
  x.net_currency = text();
  x.credit_minor = i64();
  x.credit_currency = text();
  x.refundable = boolean();
  x.policies = parse_policies(text());
  x.hold_only = boolean();
  x.hold_expires_us = i64();
  x.penalty_minor = i64();
  x.refund_minor = i64();
  x.scenario = text();
  x.version = i32();
  x.created_us = i64();
  x.updated_us = i64();
  x.trace_id = text();
  x.trace_ids = nlohmann::json::parse(text()).get<std::vector<std::string>>();
  return x;
}

/// The columns of `sql_select_history` after the order id.
order_history_entry read_history(const pqxx::row& row) {
  order_history_entry e;
  e.from_status = row[1].as<std::string>();
  e.to_status = row[2].as<std::string>();
  e.event = row[3].as<std::string>();
  e.reason = row[4].as<std::string>();
  e.at_us = row[5].as<int64_t>();
  e.trace_id = row[6].as<std::string>();
  return e;
}

/// The order with its history from the rows of `sql_load_order`, or nothing.
std::optional<order_record> order_from(const pqxx::result& rows) {
  if (rows.empty())
    return std::nullopt;
  const auto& row = rows[0];
  auto x = read_order(row);
  for (const auto& e : nlohmann::json::parse(row[row.size() - 1].as<std::string>())) {
    order_history_entry h;
    h.from_status = e.at(0).get<std::string>();
    h.to_status = e.at(1).get<std::string>();
    h.event = e.at(2).get<std::string>();
    h.reason = e.at(3).get<std::string>();
    h.at_us = e.at(4).get<int64_t>();
    h.trace_id = e.at(5).get<std::string>();
    x.history.push_back(std::move(h));
  }
  return x;
}

/// `text` when it is JSON, `fallback` when empty; nothing when it does not parse.
std::optional<std::string> json_text(const std::string& text, const char* fallback) {
  if (text.empty())
    return std::string{fallback};
  if (!nlohmann::json::accept(text))
    return std::nullopt;
  return text;
}

std::string order_not_found(const std::string& order_id) {
  return "order " + order_id + " not found";
}

} // namespace

struct order_store::impl : pg_session {
  using pg_session::pg_session;
};

order_store::order_store(std::string conninfo)
    : impl_(std::make_unique<impl>(std::move(conninfo))) {}

order_store::~order_store() = default;
order_store::order_store(order_store&&) noexcept = default;
order_store& order_store::operator=(order_store&&) noexcept = default;

caf::error order_store::sync_agents(const std::vector<credit_limit>& agents) {
  for (const auto& a : agents) {
    if (a.agent_id.empty() || a.limit_minor < 0 || a.currency.size() != 3)
      return make_error(ec::invalid_request, "credit line of agent '" + a.agent_id +
                                                 "' needs an id, a limit >= 0 and a 3-letter "
                                                 "currency");
  }
  try {
    auto txn = impl_->begin<pqxx::work>("order_sync_agents");
    for (const auto& a : agents)
      impl_->run(*txn, sql_upsert_agent, a.agent_id, a.name, a.currency, a.limit_minor);
    txn->commit();
    return caf::none;
  } catch (...) {
    return impl_->fail("syncing " + std::to_string(agents.size()) + " credit lines failed", true);
  }
}

caf::expected<credit_state> order_store::credit(const std::string& agent_id) {
  try {
    auto txn = impl_->begin<pqxx::read_transaction>("order_credit");
    auto rows = impl_->run(*txn, sql_select_credit, agent_id);
    txn->commit();
    if (rows.empty())
      return make_error(ec::not_found, "agent " + agent_id + " has no credit line");
    credit_state x;
    x.agent_id = rows[0][0].as<std::string>();
    x.currency = rows[0][1].as<std::string>();
    x.limit_minor = rows[0][2].as<int64_t>();
    x.reserved_minor = rows[0][3].as<int64_t>();
    x.captured_minor = rows[0][4].as<int64_t>();
    return x;
  } catch (...) {
    return impl_->fail("reading the credit line of " + agent_id + " failed", true);
  }
}

caf::expected<create_outcome> order_store::create(const new_order& n) {
  const auto& o = n.order;
  auto guests = json_text(o.guests_json, "[]");
  if (!guests)
    return make_error(ec::invalid_request, "guests of order " + o.order_id + " are not JSON");
  opt_text contact;
  if (!o.contact_json.empty()) {
    if (!nlohmann::json::accept(o.contact_json))
      return make_error(ec::invalid_request, "contact of order " + o.order_id + " is not JSON");
    contact = o.contact_json;
  }
  if (o.credit_minor < 0)
    return make_error(ec::invalid_request, "negative credit on order " + o.order_id);
  auto created = timestamp_literal(o.created_us != 0 ? o.created_us : now_us());
  auto updated = o.updated_us != 0 ? timestamp_literal(o.updated_us) : created;
  try {
    auto txn = impl_->begin<pqxx::work>("order_create");
    auto inserted = impl_->run(
        *txn, sql_insert_order, o.order_id, o.agent_id, o.client_reference, o.status,
        o.status_reason, o.supplier, o.supplier_ref, o.hotel_id, o.hotel_code, o.room_code,
        o.room_name, o.board, o.check_in, o.check_out, rooms_json(o.rooms), *guests, contact,
        o.price_minor, o.currency, o.net_minor, o.net_currency, o.credit_minor, o.credit_currency,
        o.refundable, policies_json(o.policies), o.hold_only, o.penalty_minor, o.refund_minor,
        o.scenario, o.trace_id, created, updated);
    if (inserted.empty()) {
      // Taken. A new statement sees what the conflicting transaction committed.
      auto existing = impl_->run(*txn, sql_find_by_reference, o.agent_id, o.client_reference);
      if (existing.empty())
        return make_error(ec::conflict, "order id " + o.order_id +
                                            " is already used by another order (the trial was "
                                            "already used for another client reference)");
      auto found = order_from(impl_->run(*txn, sql_load_order, existing[0][0].as<std::string>()));
      txn->commit();
      if (!found)
        return make_error(ec::internal, "order of client reference " + o.client_reference +
                                            " vanished during its replay");
      return create_outcome{std::move(*found), true};
    }
    impl_->run(*txn, sql_create_effects, o.order_id, o.status, o.status_reason, o.trace_id, created,
               o.hold_expires_us > 0, o.supplier,
               timestamp_literal(std::max<int64_t>(o.hold_expires_us, 0)), o.status != status_held,
               n.max_attempts, timestamp_literal(n.outbox_due_us));
    auto stored = order_from(impl_->run(*txn, sql_load_order, o.order_id));
    // The credit line is one row per agent that every order of the agent updates: it is
    // locked last, so the lock is held only until the commit right after it.
    if (o.credit_minor > 0) {
      auto reserved =
          impl_->run(*txn, sql_reserve_credit, o.agent_id, o.credit_minor, o.order_id, created);
      if (reserved.affected_rows() == 0) {
        auto line = impl_->run(*txn, sql_select_credit, o.agent_id);
        if (line.empty())
          return make_error(ec::insufficient_credit, "agent " + o.agent_id + " has no credit line");
        auto available =
            line[0][2].as<int64_t>() - line[0][3].as<int64_t>() - line[0][4].as<int64_t>();
        return make_error(ec::insufficient_credit,
                          "agent " + o.agent_id + " has " + std::to_string(available) + " " +
                              line[0][1].as<std::string>() + " minor units of credit available, " +
                              std::to_string(o.credit_minor) + " needed");
      }
    }
    txn->commit();
    if (!stored)
      return make_error(ec::internal, "order " + o.order_id + " vanished after its insert");
    return create_outcome{std::move(*stored), false};
  } catch (...) {
    return impl_->fail("creating order " + o.order_id + " failed", true);
  }
}

caf::expected<order_record> order_store::load(const std::string& order_id) {
  try {
    auto txn = impl_->begin<pqxx::read_transaction>("order_load");
    auto found = order_from(impl_->run(*txn, sql_load_order, order_id));
    txn->commit();
    if (!found)
      return make_error(ec::not_found, order_not_found(order_id));
    return std::move(*found);
  } catch (...) {
    return impl_->fail("loading order " + order_id + " failed", true);
  }
}

caf::expected<order_record> order_store::apply(const order_change& c) {
  auto at = timestamp_literal(c.at_us != 0 ? c.at_us : now_us());
  try {
    auto txn = impl_->begin<pqxx::work>("order_apply");
    auto updated =
        impl_->run(*txn, sql_update_order, c.order_id, c.version, c.from_status, c.to_status,
                   c.reason, c.supplier_ref, c.penalty_minor, c.refund_minor, at, c.trace_id);
    if (updated.empty()) {
      auto state = impl_->run(*txn, sql_order_state, c.order_id);
      if (state.empty())
        return make_error(ec::not_found, order_not_found(c.order_id));
      return make_error(ec::conflict,
                        "order " + c.order_id + " is at version " + state[0][0].as<std::string>() +
                            " in status " + state[0][1].as<std::string>() + ", not version " +
                            std::to_string(c.version) + " in status " + c.from_status);
    }
    auto agent_id = updated[0][0].as<std::string>();
    impl_->run(*txn, sql_change_effects, c.order_id, c.from_status, c.to_status, c.event, c.reason,
               c.trace_id, at, c.from_status != c.to_status || !c.event.empty(), c.hold_status,
               c.outbox_done_kind, c.outbox_add_kind, c.outbox_add_attempts,
               c.outbox_add_max_attempts,
               timestamp_literal(c.outbox_add_due_us != 0 ? c.outbox_add_due_us : now_us()));
    auto stored = order_from(impl_->run(*txn, sql_load_order, c.order_id));
    // Credit movements last: the agent's row stays locked only until the commit.
    // (kind, reserved delta, captured delta, amount) of each movement.
    struct movement {
      const char* kind;
      int64_t reserved;
      int64_t captured;
      int64_t amount;
    };
    const movement moves[] = {{"capture", -c.credit_capture, c.credit_capture, c.credit_capture},
                              {"release", -c.credit_release, 0, c.credit_release},
                              {"refund", 0, -c.credit_refund, c.credit_refund}};
    for (const auto& m : moves) {
      if (m.amount == 0)
        continue;
      if (m.amount < 0)
        return make_error(ec::invalid_request,
                          std::string{"negative credit "} + m.kind + " on order " + c.order_id);
      auto moved = impl_->run(*txn, sql_move_credit, agent_id, c.order_id, m.reserved, m.captured,
                              std::string{m.kind}, m.amount, at);
      if (moved.affected_rows() == 0)
        return make_error(ec::internal, std::string{"credit "} + m.kind + " of order " +
                                            c.order_id + ": agent " + agent_id +
                                            " has no credit line");
    }
    txn->commit();
    if (!stored)
      return make_error(ec::internal, "order " + c.order_id + " vanished during a change");
    return std::move(*stored);
  } catch (...) {
    return impl_->fail("changing order " + c.order_id + " from " + c.from_status + " to " +
                           c.to_status + " failed",
                       true);
  }
}

caf::error order_store::reschedule(const outbox_schedule& s) {
  try {
    auto txn = impl_->begin<pqxx::work>("order_reschedule");
    auto rows = impl_->run(*txn, sql_reschedule_outbox, s.order_id, s.kind, s.attempts,
                           timestamp_literal(s.due_us), s.last_error);
    if (rows.affected_rows() == 0)
      return make_error(ec::not_found,
                        "order " + s.order_id + " has no pending " + s.kind + " outbox row");
    txn->commit();
    return caf::none;
  } catch (...) {
    return impl_->fail(
        "rescheduling the " + s.kind + " outbox row of order " + s.order_id + " failed", true);
  }
}

caf::expected<std::vector<outbox_item>> order_store::claim_due(int64_t now_us, int32_t limit,
                                                               int64_t lease_us) {
  std::vector<outbox_item> result;
  if (limit <= 0)
    return result;
  try {
    auto txn = impl_->begin<pqxx::work>("order_claim_due");
    auto rows = impl_->run(*txn, sql_claim_due, timestamp_literal(now_us), limit,
                           timestamp_literal(now_us + lease_us));
    result.reserve(rows.size());
    for (const auto& row : rows) {
      outbox_item x;
      x.id = row[0].as<int64_t>();
      x.order_id = row[1].as<std::string>();
      x.kind = row[2].as<std::string>();
      x.attempts = row[3].as<int32_t>();
      x.max_attempts = row[4].as<int32_t>();
      x.last_error = row[5].as<std::string>();
      x.agent_id = row[6].as<std::string>();
      result.push_back(std::move(x));
    }
    txn->commit();
    return result;
  } catch (...) {
    return impl_->fail("claiming due outbox rows failed", true);
  }
}

caf::expected<std::vector<hold_info>> order_store::active_holds(int32_t limit) {
  std::vector<hold_info> result;
  if (limit <= 0)
    return result;
  try {
    auto txn = impl_->begin<pqxx::read_transaction>("order_active_holds");
    auto rows = impl_->run(*txn, sql_active_holds, limit);
    result.reserve(rows.size());
    for (const auto& row : rows)
      result.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<int64_t>()});
    txn->commit();
    return result;
  } catch (...) {
    return impl_->fail("reading active holds failed", true);
  }
}

caf::expected<std::vector<order_record>> order_store::list(const order_filter& f) {
  auto limit = std::clamp(f.limit, int32_t{1}, max_list_limit);
  try {
    auto txn = impl_->begin<pqxx::read_transaction>("order_list");
    auto rows = impl_->run(*txn, std::string{sql_select_orders} + sql_where_filter, f.agent_id,
                           f.client_reference, f.status, optional_timestamp(f.from_us),
                           optional_timestamp(f.to_us), limit);
    std::vector<order_record> result;
    result.reserve(rows.size());
    std::map<std::string, size_t> index;
    auto ids = nlohmann::json::array();
    for (const auto& row : rows) {
      result.push_back(read_order(row));
      index.emplace(result.back().order_id, result.size() - 1);
      ids.push_back(result.back().order_id);
    }
    if (!result.empty()) {
      for (const auto& row : impl_->run(*txn, sql_select_histories, ids.dump())) {
        if (auto i = index.find(row[0].as<std::string>()); i != index.end())
          result[i->second].history.push_back(read_history(row));
      }
    }
    txn->commit();
    return result;
  } catch (...) {
    return impl_->fail("listing orders failed", true);
  }
}

dependency_health order_store::ping() {
  dependency_health h;
  h.name = dependency_name;
  auto t0 = std::chrono::steady_clock::now();
  try {
    auto txn = impl_->begin<pqxx::nontransaction>("order_ping");
    txn->exec(sql_ping);
    h.ok = true;
  } catch (...) {
    h.message = message_of(impl_->fail("ping failed", true));
  }
  h.latency_us = micros_since(t0);
  return h;
}

} // namespace bedbank::persistence
