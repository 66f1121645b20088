// pg_session: lazy connection, prepared statements and error mapping shared by the stores.
#include "persistence/pg_session.hpp"

#include "protocols/errors.hpp"

namespace bedbank::persistence {

pqxx::connection& pg_session::connection() {
  if (conn_ && !conn_->is_open())
    conn_.reset();
  if (!conn_) {
    auto fresh = std::make_unique<pqxx::connection>(conninfo_);
    if (setup_)
      setup_(*fresh);
    conn_ = std::move(fresh);
    prepared_.clear();
  }
  return *conn_;
}

std::string pg_session::prepare(const std::string& sql) {
  char name[24];
  std::snprintf(name, sizeof name, "bb_%016zx", std::hash<std::string>{}(sql));
  if (prepared_.insert(name).second) {
    try {
      connection().prepare(name, sql);
    } catch (...) {
      prepared_.erase(name);
      throw;
    }
  }
  return name;
}

caf::error pg_session::fail(const std::string& what, bool refused_is_internal) {
  std::string reason;
  auto code = ec::storage_unavailable;
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    conn_.reset();
    reason = e.what();
  } catch (const pqxx::integrity_constraint_violation& e) {
    if (refused_is_internal)
      code = ec::internal;
    reason = e.what();
  } catch (const pqxx::data_exception& e) {
    if (refused_is_internal)
      code = ec::internal;
    reason = e.what();
  } catch (const std::exception& e) {
    reason = e.what();
  } catch (...) {
    reason = "unknown exception";
  }
  try {
    if (conn_ && !conn_->is_open())
      conn_.reset();
  } catch (...) {
    conn_.reset();
  }
  while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' '))
    reason.pop_back();
  return make_error(code, what + ": " + reason);
}

} // namespace bedbank::persistence
