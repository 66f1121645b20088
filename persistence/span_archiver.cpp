// span_archiver: the insert → verify → delete protocol between the two span stores.
#include "persistence/span_archiver.hpp"

#include <algorithm>
#include <unordered_set>
#include <utility>

#include "persistence/span_archive.hpp"
#include "persistence/span_store.hpp"
#include "protocols/errors.hpp"

namespace bedbank::persistence {

struct span_archiver::impl {
  span_store hot;
  span_archive cold;
  bool prepared = false;
  /// Every batch of this object so far ended with its delete. Only the batch in progress
  /// when a run stops can be in the archive already, and batches are taken in a fixed order
  /// (created_at, id), so a run checks the archive for its first batch and for the first one
  /// after a failure, not for every batch.
  bool clean = false;

  impl(std::string conninfo, clickhouse_client archive)
      : hot(std::move(conninfo)), cold(std::move(archive)) {}
};

span_archiver::span_archiver(std::string conninfo, clickhouse_client archive)
    : impl_(std::make_unique<impl>(std::move(conninfo), std::move(archive))) {}

span_archiver::~span_archiver() = default;
span_archiver::span_archiver(span_archiver&&) noexcept = default;
span_archiver& span_archiver::operator=(span_archiver&&) noexcept = default;

caf::error span_archiver::prepare() {
  if (auto err = impl_->cold.ensure_schema())
    return err;
  impl_->prepared = true;
  return {};
}

caf::expected<archive_step> span_archiver::run_batch(int64_t cutoff_us, int limit,
                                                     stop_point stop) {
  if (!impl_->prepared)
    if (auto err = prepare())
      return err;
  archive_step step;
  auto batch = impl_->hot.archive_batch(cutoff_us, limit);
  if (!batch)
    return std::move(batch.error());
  step.selected = batch->size();
  if (batch->empty())
    return step;
  std::vector<int64_t> ids;
  ids.reserve(batch->size());
  int64_t oldest = batch->front().created_us;
  int64_t newest = oldest;
  for (const auto& s : *batch) {
    ids.push_back(s.id);
    oldest = std::min(oldest, s.created_us);
    newest = std::max(newest, s.created_us);
  }
  step.through_us = newest;
  // An earlier run may have inserted part or all of this batch and died before its delete.
  bool was_clean = std::exchange(impl_->clean, false);
  caf::expected<std::vector<int64_t>> present = std::vector<int64_t>{};
  if (!was_clean)
    present = impl_->cold.present(ids, oldest, newest);
  if (!present)
    return std::move(present.error());
  if (present->empty()) {
    if (auto err = impl_->cold.insert(*batch))
      return err;
    step.inserted = batch->size();
  } else if (present->size() < batch->size()) {
    std::unordered_set<int64_t> there(present->begin(), present->end());
    std::vector<stored_span> missing;
    for (auto& s : *batch)
      if (there.count(s.id) == 0)
        missing.push_back(std::move(s));
    if (auto err = impl_->cold.insert(missing))
      return err;
    step.inserted = missing.size();
  }
  if (stop == stop_point::after_insert)
    return step;
  auto verified = impl_->cold.present(ids, oldest, newest);
  if (!verified)
    return std::move(verified.error());
  if (verified->size() != ids.size())
    return make_error(ec::storage_unavailable, "archive verification failed: ClickHouse holds " +
                                                   std::to_string(verified->size()) + " of " +
                                                   std::to_string(ids.size()) +
                                                   " spans just inserted; nothing deleted");
  if (stop == stop_point::after_verify)
    return step;
  auto deleted = impl_->hot.remove_archived(ids, newest);
  if (!deleted)
    return std::move(deleted.error());
  step.deleted = *deleted;
  impl_->clean = true;
  return step;
}

caf::expected<std::vector<std::string>> span_archiver::drop_before(int32_t before_day) {
  if (!impl_->prepared)
    if (auto err = prepare())
      return err;
  return impl_->cold.drop_before(before_day);
}

} // namespace bedbank::persistence
