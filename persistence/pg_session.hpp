// pg_session: one libpqxx connection as every PostgreSQL store in persistence/ holds it:
// connected lazily, replaced when found broken at BEGIN, statements prepared once per
// connection, exceptions turned into caf::error. Internal to persistence/ (includes pqxx).
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>

#include <caf/error.hpp>
#include <pqxx/pqxx>

namespace bedbank::persistence {

class pg_session {
public:
  /// Called on every new connection before first use (e.g. session settings).
  using setup_fn = std::function<void(pqxx::connection&)>;

  explicit pg_session(std::string conninfo, setup_fn setup = {})
      : conninfo_(std::move(conninfo)), setup_(std::move(setup)) {}

  /// The open connection, (re)connecting first when there is none.
  pqxx::connection& connection();

  /// Opens a transaction; when an existing connection turns out broken at BEGIN (server
  /// restart, killed backend), nothing has been sent yet, so it reconnects and tries once more.
  template <class Transaction> std::unique_ptr<Transaction> begin(const char* name) {
    bool had_connection = static_cast<bool>(conn_);
    try {
      return std::make_unique<Transaction>(connection(), name);
    } catch (const pqxx::broken_connection&) {
      conn_.reset();
      if (!had_connection)
        throw;
    }
    return std::make_unique<Transaction>(connection(), name);
  }

  /// Runs `sql` as a prepared statement (prepared on first use on this connection: the
  /// server plans each statement once instead of on every call).
  template <class... Ts>
  pqxx::result run(pqxx::transaction_base& txn, const std::string& sql, Ts&&... xs) {
    return txn.exec_prepared(prepare(sql), std::forward<Ts>(xs)...);
  }

  /// Turns the exception in flight into an error naming `what`; forgets a broken connection.
  /// Rows the schema refuses (a CHECK or unique constraint, a value too long) are
  /// `ec::internal` when `refused_is_internal` (the caller's bug: retrying cannot help);
  /// everything else is `ec::storage_unavailable`.
  caf::error fail(const std::string& what, bool refused_is_internal = false);

private:
  std::string prepare(const std::string& sql);

  std::string conninfo_;
  setup_fn setup_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unordered_set<std::string> prepared_; ///< statement names prepared on conn_
};

} // namespace bedbank::persistence
