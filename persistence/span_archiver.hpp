// span_archiver: moves spans older than the hot window from PostgreSQL to the ClickHouse
// archive, one batch at a time: read the oldest batch, insert what the archive does not hold
// yet, verify the archive holds every span of the batch, then delete the batch from
// PostgreSQL (raising the archive watermark in the same transaction). A crash at any point
// leaves each span in PostgreSQL, in both stores (the next run skips what is present and
// deletes), or in ClickHouse only — never lost, never returned twice (reads merge by id).
//
// `run` pipelines the batches: while batch n goes into ClickHouse (insert, verify), a second
// thread deletes batch n-1 from PostgreSQL and reads batch n+1 (a keyset read after batch n),
// so the two servers work at once. A crash then leaves at most two batches in both stores,
// and the first two batches of a run after one are checked against the archive.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "persistence/clickhouse_client.hpp"

namespace bedbank::persistence {

/// What one batch did.
struct archive_step {
  uint64_t selected = 0;  ///< spans read from PostgreSQL
  uint64_t inserted = 0;  ///< spans written to ClickHouse (the rest were there already)
  uint64_t deleted = 0;   ///< spans deleted from PostgreSQL
  int64_t through_us = 0; ///< the newest created_at of the batch
};

/// What a run of batches did, and where its time went.
struct archive_run {
  uint64_t batches = 0;
  uint64_t selected = 0;
  uint64_t inserted = 0;
  uint64_t deleted = 0;
  int64_t through_us = 0; ///< the newest created_at deleted from PostgreSQL
  bool more = false;      ///< stopped by its time budget with more due
  caf::error error;       ///< set when a step failed: the counts say what was done before it
  // Time spent in each step (µs); select and delete overlap insert and verify.
  int64_t select_us = 0;
  int64_t insert_us = 0;
  int64_t verify_us = 0;
  int64_t delete_us = 0;
  int64_t duration_us = 0;
};

class span_archiver {
public:
  /// Where a test may stop a batch, as a crash would.
  enum class stop_point { none, after_insert, after_verify };

  span_archiver(std::string conninfo, clickhouse_client archive);
  ~span_archiver();
  span_archiver(span_archiver&&) noexcept;
  span_archiver& operator=(span_archiver&&) noexcept;

  /// Creates the archive's tables when missing.
  caf::error prepare();

  /// Moves the oldest batch (at most `limit` spans created before `cutoff_us`). A batch with
  /// `selected < limit` was the last one for now.
  caf::expected<archive_step> run_batch(int64_t cutoff_us, int limit,
                                        stop_point stop = stop_point::none);

  /// Moves batches of at most `limit` spans created before `cutoff_us`, pipelined, until none
  /// is left or `budget_us` is spent (0: no limit); every batch it inserted is deleted from
  /// PostgreSQL when it returns, unless a step failed.
  archive_run run(int64_t cutoff_us, int limit, int64_t budget_us = 0);

  /// Drops the archive's partitions of days before `before_day` (domain::day).
  caf::expected<std::vector<std::string>> drop_before(int32_t before_day);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace bedbank::persistence
