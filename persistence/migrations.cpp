// migrate(): applies the embedded SQL migrations, one transaction each, under an advisory lock.
#include "persistence/migrations.hpp"

#include <pqxx/pqxx>

#include "protocols/errors.hpp"

namespace bedbank::persistence {

namespace {

/// Key of the advisory lock serialising migration runs ("bedbank" in ASCII).
constexpr int64_t migration_lock_key = 0x62656462616e6b;

constexpr const char* sql_lock = "SELECT pg_advisory_xact_lock($1)";
constexpr const char* sql_quiet = "SET LOCAL client_min_messages = warning";
constexpr const char* sql_create_ledger = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                          "version INT PRIMARY KEY, name TEXT NOT NULL, "
                                          "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())";
constexpr const char* sql_is_applied = "SELECT 1 FROM schema_migrations WHERE version = $1";
constexpr const char* sql_record = "INSERT INTO schema_migrations (version, name, applied_at) "
                                   "VALUES ($1, $2, now())";

} // namespace

caf::expected<std::vector<std::string>> migrate(const std::string& conninfo) {
  return migrate(conninfo, embedded_migrations());
}

caf::expected<std::vector<std::string>> migrate(const std::string& conninfo,
                                                const std::vector<migration>& list) {
  std::vector<std::string> applied;
  std::string current = "(connect)";
  try {
    pqxx::connection conn{conninfo};
    for (const auto& m : list) {
      current = std::string{m.name};
      pqxx::work txn{conn, "migrate"};
      txn.exec(sql_quiet);
      txn.exec_params(sql_lock, migration_lock_key);
      txn.exec(sql_create_ledger);
      if (!txn.exec_params(sql_is_applied, m.version).empty()) {
        txn.abort();
        continue;
      }
      txn.exec(std::string{m.sql});
      txn.exec_params(sql_record, m.version, std::string{m.name});
      txn.commit();
      applied.emplace_back(m.name);
    }
  } catch (const std::exception& e) {
    return make_error(ec::storage_unavailable, "migration " + current + " failed: " + e.what());
  }
  return applied;
}

} // namespace bedbank::persistence
