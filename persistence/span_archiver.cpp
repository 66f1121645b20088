// span_archiver: the insert → verify → delete protocol between the two span stores.
#include "persistence/span_archiver.hpp"

#include <algorithm>
#include <chrono>
#include <future>
#include <optional>
#include <unordered_set>
#include <utility>

#include "persistence/span_archive.hpp"
#include "persistence/span_store.hpp"
#include "protocols/errors.hpp"

namespace bedbank::persistence {

namespace {

using std::chrono::steady_clock;

int64_t micros_since(steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(steady_clock::now() - t0).count();
}

/// A batch's ids and the span of its created_at (the archive's days to look in).
struct batch_bounds {
  std::vector<int64_t> ids;
  int64_t oldest = 0;
  int64_t newest = 0;
};

batch_bounds bounds_of(const std::vector<stored_span>& batch) {
  batch_bounds b;
  b.ids.reserve(batch.size());
  b.oldest = batch.front().created_us;
  b.newest = b.oldest;
  for (const auto& s : batch) {
    b.ids.push_back(s.id);
    b.oldest = std::min(b.oldest, s.created_us);
    b.newest = std::max(b.newest, s.created_us);
  }
  return b;
}

/// Batches a run checks against the archive after an unclean end: a pipelined run leaves at
/// most two batches in both stores (one verified, the next one being inserted).
constexpr int batches_to_check = 2;

} // namespace

struct span_archiver::impl {
  span_store hot;
  span_archive cold;
  bool prepared = false;
  /// How many batches the next run checks against the archive before inserting. Every run
  /// that ended with its deletes leaves 0: batches are taken in a fixed order (created_at,
  /// id), so only the batches in progress when a run stops can be in the archive already.
  int unchecked = batches_to_check;

  impl(std::string conninfo, clickhouse_client archive)
      : hot(std::move(conninfo)), cold(std::move(archive)) {}

  /// Inserts what of `batch` the archive does not hold (all of it unless `check`); returns
  /// how many spans it inserted.
  caf::expected<uint64_t> put(std::vector<stored_span>& batch, const batch_bounds& b, bool check) {
    caf::expected<std::vector<int64_t>> present = std::vector<int64_t>{};
    if (check)
      present = cold.present(b.ids, b.oldest, b.newest);
    if (!present)
      return std::move(present.error());
    if (present->empty()) {
      if (auto err = cold.insert(batch))
        return err;
      return batch.size();
    }
    if (present->size() >= batch.size())
      return uint64_t{0};
    std::unordered_set<int64_t> there(present->begin(), present->end());
    std::vector<stored_span> missing;
    for (auto& s : batch)
      if (there.count(s.id) == 0)
        missing.push_back(std::move(s));
    if (auto err = cold.insert(missing))
      return err;
    return missing.size();
  }

  /// Fails unless the archive holds every span of the batch.
  caf::error verify(const batch_bounds& b) {
    auto verified = cold.present(b.ids, b.oldest, b.newest);
    if (!verified)
      return std::move(verified.error());
    if (verified->size() != b.ids.size())
      return make_error(ec::storage_unavailable, "archive verification failed: ClickHouse holds " +
                                                     std::to_string(verified->size()) + " of " +
                                                     std::to_string(b.ids.size()) +
                                                     " spans just inserted; nothing deleted");
    return {};
  }

  /// PostgreSQL's part of a pipelined step: delete the verified batch `done` (raising the
  /// watermark to `through_us`), then read the batch after `after` when `read`.
  struct pg_step {
    uint64_t deleted = 0;
    std::vector<stored_span> next;
    int64_t delete_us = 0;
    int64_t select_us = 0;
    caf::error error;
  };

  pg_step pg_work(const std::vector<int64_t>& done, int64_t through_us, int64_t cutoff_us,
                  int limit, std::optional<span_store::archive_key> after, bool read) {
    pg_step out;
    if (!done.empty()) {
      auto t0 = steady_clock::now();
      auto deleted = hot.remove_archived(done, through_us);
      out.delete_us = micros_since(t0);
      if (!deleted) {
        out.error = std::move(deleted.error());
        return out;
      }
      out.deleted = *deleted;
    }
    if (read) {
      auto t0 = steady_clock::now();
      auto batch = hot.archive_batch(cutoff_us, limit, after);
      out.select_us = micros_since(t0);
      if (!batch) {
        out.error = std::move(batch.error());
        return out;
      }
      out.next = std::move(*batch);
    }
    return out;
  }
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
  auto& im = *impl_;
  archive_step step;
  auto batch = im.hot.archive_batch(cutoff_us, limit);
  if (!batch)
    return std::move(batch.error());
  step.selected = batch->size();
  if (batch->empty())
    return step;
  auto b = bounds_of(*batch);
  step.through_us = b.newest;
  // An earlier run may have inserted part or all of this batch and died before its delete.
  int checks = std::exchange(im.unchecked, batches_to_check);
  auto inserted = im.put(*batch, b, checks > 0);
  if (!inserted)
    return std::move(inserted.error());
  step.inserted = *inserted;
  if (stop == stop_point::after_insert)
    return step;
  if (auto err = im.verify(b))
    return err;
  if (stop == stop_point::after_verify)
    return step;
  auto deleted = im.hot.remove_archived(b.ids, b.newest);
  if (!deleted)
    return std::move(deleted.error());
  step.deleted = *deleted;
  im.unchecked = std::max(checks - 1, 0);
  return step;
}

archive_run span_archiver::run(int64_t cutoff_us, int limit, int64_t budget_us) {
  archive_run r;
  auto t0 = steady_clock::now();
  auto done_with = [&](caf::error err) {
    r.error = std::move(err);
    r.duration_us = micros_since(t0);
    return std::move(r);
  };
  if (!impl_->prepared)
    if (auto err = prepare())
      return done_with(std::move(err));
  auto& im = *impl_;
  // Unclean until this run has deleted every batch it inserted.
  int checks = std::exchange(im.unchecked, batches_to_check);
  auto account = [&](const impl::pg_step& p) {
    r.deleted += p.deleted;
    r.delete_us += p.delete_us;
    r.select_us += p.select_us;
  };
  try {
    auto first = im.pg_work({}, 0, cutoff_us, limit, std::nullopt, true);
    account(first);
    if (first.error)
      return done_with(std::move(first.error));
    auto batch = std::move(first.next);
    std::vector<int64_t> done; // the verified batch not yet deleted
    int64_t done_through = 0;
    while (!batch.empty()) {
      auto b = bounds_of(batch);
      ++r.batches;
      r.selected += batch.size();
      bool last = batch.size() < static_cast<size_t>(limit);
      bool stop = last || (budget_us > 0 && micros_since(t0) >= budget_us);
      span_store::archive_key key{batch.back().created_us, batch.back().id};
      // PostgreSQL deletes the previous batch and reads the next while ClickHouse takes this.
      auto pg =
          std::async(std::launch::async, [&im, &done, done_through, cutoff_us, limit, key, stop] {
            return im.pg_work(done, done_through, cutoff_us, limit, key, !stop);
          });
      caf::error ch_error;
      auto t = steady_clock::now();
      auto inserted = im.put(batch, b, checks > 0);
      r.insert_us += micros_since(t);
      if (!inserted) {
        ch_error = std::move(inserted.error());
      } else {
        r.inserted += *inserted;
        t = steady_clock::now();
        ch_error = im.verify(b);
        r.verify_us += micros_since(t);
      }
      checks = std::max(checks - 1, 0);
      auto p = pg.get();
      account(p);
      if (p.error)
        return done_with(std::move(p.error));
      if (!done.empty())
        r.through_us = std::max(r.through_us, done_through);
      if (ch_error)
        return done_with(std::move(ch_error));
      done = std::move(b.ids);
      done_through = b.newest;
      if (stop) {
        r.more = !last;
        break;
      }
      batch = std::move(p.next);
    }
    if (!done.empty()) {
      auto p = im.pg_work(done, done_through, cutoff_us, limit, std::nullopt, false);
      account(p);
      if (p.error)
        return done_with(std::move(p.error));
      r.through_us = std::max(r.through_us, done_through);
    }
  } catch (const std::exception& e) {
    return done_with(make_error(ec::internal, std::string{"archive run failed: "} + e.what()));
  }
  im.unchecked = 0;
  return done_with({});
}

caf::expected<std::vector<std::string>> span_archiver::drop_before(int32_t before_day) {
  if (!impl_->prepared)
    if (auto err = prepare())
      return err;
  return impl_->cold.drop_before(before_day);
}

} // namespace bedbank::persistence
