// mock_ledger_store: the mock suppliers' bookings in mock_bookings (libpqxx 6.4).
#include "persistence/mock_ledger_store.hpp"

#include <pqxx/pqxx>

#include "persistence/pg_session.hpp"

#include "protocols/errors.hpp"

namespace bedbank::persistence {

namespace {

constexpr const char* sql_insert =
    "INSERT INTO mock_bookings (supplier, idempotency_key, supplier_ref, status, hotel_code, "
    "net_minor, currency) VALUES ($1, $2, $3, 'confirmed', $4, $5, $6)";

/// The newest booking under a key: ids grow with every insert.
constexpr const char* sql_find =
    "SELECT supplier_ref, status, net_minor, currency FROM mock_bookings "
    "WHERE supplier = $1 AND idempotency_key = $2 ORDER BY id DESC LIMIT 1";

/// Cancelling twice keeps the first cancellation time.
constexpr const char* sql_cancel =
    "UPDATE mock_bookings SET status = 'cancelled', cancelled_at = COALESCE(cancelled_at, now()) "
    "WHERE supplier = $1 AND supplier_ref = $2 "
    "RETURNING idempotency_key, status, net_minor, currency";

// Column widths of mock_bookings (VARCHAR(n) / CHAR(3)).
constexpr size_t supplier_width = 32;
constexpr size_t key_width = 64;
constexpr size_t ref_width = 128;
constexpr size_t hotel_width = 64;
constexpr size_t currency_width = 3;

/// `ec::invalid_request` naming the field when `value` is wider than `width` characters.
caf::error check_width(const char* field, const std::string& value, size_t width) {
  // Byte length bounds the character count from above; ASCII codes are the norm here.
  if (value.size() > width)
    return make_error(ec::invalid_request, std::string{field} + " is longer than " +
                                               std::to_string(width) + " characters");
  return caf::none;
}

} // namespace

struct mock_ledger_store::impl : pg_session {
  explicit impl(std::string conninfo)
      : pg_session(std::move(conninfo),
                   [](pqxx::connection& c) { c.set_variable("synchronous_commit", "off"); }) {}
};

mock_ledger_store::mock_ledger_store(std::string conninfo)
    : impl_(std::make_unique<impl>(std::move(conninfo))) {}

mock_ledger_store::~mock_ledger_store() = default;
mock_ledger_store::mock_ledger_store(mock_ledger_store&&) noexcept = default;
mock_ledger_store& mock_ledger_store::operator=(mock_ledger_store&&) noexcept = default;

caf::error mock_ledger_store::record(const std::string& supplier, const std::string& key,
                                     const std::string& ref, const std::string& hotel_code,
                                     int64_t net_minor, const std::string& currency) {
  if (auto err = check_width("supplier", supplier, supplier_width))
    return err;
  if (auto err = check_width("idempotency_key", key, key_width))
    return err;
  if (ref.empty())
    return make_error(ec::invalid_request, "supplier_ref is empty");
  if (auto err = check_width("supplier_ref", ref, ref_width))
    return err;
  if (auto err = check_width("hotel_code", hotel_code, hotel_width))
    return err;
  if (currency.size() != currency_width)
    return make_error(ec::invalid_request, "currency '" + currency + "' is not a 3-letter code");
  try {
    auto txn = impl_->begin<pqxx::work>("mock_record");
    txn->exec_params0(sql_insert, supplier, key, ref, hotel_code, net_minor, currency);
    txn->commit();
    return caf::none;
  } catch (...) {
    return impl_->fail("recording mock booking " + ref + " failed");
  }
}

caf::expected<booking_detail> mock_ledger_store::find(const std::string& supplier,
                                                      const std::string& key) {
  try {
    auto txn = impl_->begin<pqxx::read_transaction>("mock_find");
    auto rows = txn->exec_params(sql_find, supplier, key);
    txn->commit();
    booking_detail out;
    out.idempotency_key = key;
    if (rows.empty())
      return out;
    const auto& row = rows[0];
    out.found = true;
    out.supplier_ref = row[0].as<std::string>();
    out.status = row[1].as<std::string>();
    out.net_minor = row[2].as<int64_t>();
    out.currency = row[3].as<std::string>();
    return out;
  } catch (...) {
    return impl_->fail("reading mock bookings of " + supplier + " failed");
  }
}

caf::expected<booking_detail> mock_ledger_store::cancel(const std::string& supplier,
                                                        const std::string& ref) {
  try {
    auto txn = impl_->begin<pqxx::work>("mock_cancel");
    auto rows = txn->exec_params(sql_cancel, supplier, ref);
    txn->commit();
    if (rows.empty())
      return make_error(ec::not_found, "mock supplier '" + supplier + "' has no booking " + ref);
    const auto& row = rows[0];
    booking_detail out;
    out.found = true;
    out.supplier_ref = ref;
    out.idempotency_key = row[0].as<std::string>();
    out.status = row[1].as<std::string>();
    out.net_minor = row[2].as<int64_t>();
    out.currency = row[3].as<std::string>();
    return out;
  } catch (...) {
    return impl_->fail("cancelling mock booking " + ref + " failed");
  }
}

} // namespace bedbank::persistence
