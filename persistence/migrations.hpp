// Schema migrations: the SQL files of migrations/ (embedded at build time) and `migrate()`,
// which applies the pending ones to a PostgreSQL database.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace bedbank::persistence {

/// One embedded migration file, `<version>_<name>.sql`.
struct migration {
  int version;           ///< the file's numeric prefix; applied in increasing order
  std::string_view name; ///< the file name without `.sql`, e.g. "001_trace_events"
  std::string_view sql;  ///< the file's text
};

/// Every migration compiled into this binary, sorted by version.
const std::vector<migration>& embedded_migrations();

/// Applies the pending embedded migrations to the database at `conninfo`, each in its own
/// transaction under a transaction-level advisory lock (so concurrent runs are safe), and
/// records them in `schema_migrations`. Returns the names applied (empty when up to date)
/// or `ec::storage_unavailable`.
caf::expected<std::vector<std::string>> migrate(const std::string& conninfo);

/// Applies `list` (sorted by version) instead of the embedded migrations; for tests.
caf::expected<std::vector<std::string>> migrate(const std::string& conninfo,
                                                const std::vector<migration>& list);

} // namespace bedbank::persistence
