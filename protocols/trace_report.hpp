// trace_report: the three faces of one trace report (JSON, a self-contained HTML waterfall,
// terminal text), its OTLP/JSON export, and the scrubbing of secrets from span data.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "protocols/messages.hpp"

namespace bedbank::trace_report_format {

/// The JSON answer of the trace endpoints.
/// - kind "trace": exactly `agent_json::encode_trace_tree` of the one trace
///   (`trace_id`, `spans` as a tree, `span_count`), plus `sources`.
/// - kind "order": `order_id`, `order` (order_json::encode_order: status, history, ...),
///   `traces` (each: `trace_id`, `started_at`, `ended_at`, `duration_ms`, `span_count`,
///   `root_event`, `status` (error if any span failed), `spans` as a tree), `span_count`,
///   `sources` ({"postgresql": n, "clickhouse": m}), `truncated`.
/// - kind "hotel": `hotel_id`, `from`, `to`, `traces` (as above, newest first), `span_count`,
///   `sources`, `truncated`.
/// Span data passes through `redact` first.
nlohmann::json encode_report(const trace_report& r);

/// One self-contained HTML page (no external assets, no network): per trace a waterfall of
/// bars on a shared time axis with nesting, status colours, service/supplier names and errors,
/// each bar opening a detail view of the span's request and response data.
std::string render_html(const trace_report& r);

/// The same story for a terminal; ANSI colours only when `color`.
std::string render_text(const trace_report& r, bool color);

/// OTLP/JSON (OpenTelemetry's ExportTraceServiceRequest): resourceSpans per service, W3C
/// trace and span ids as lowercase hex, times in Unix nanoseconds as strings.
nlohmann::json encode_otlp(const trace_report& r);

/// What an archive pass did, as `POST /admin/traces/archive` answers it and the `archive`
/// span records it: `batches`, `moved`, `inserted`, `dropped_partitions`, `through` (null
/// when nothing moved), `duration_ms`, `more`, `steps_ms` (`pg_read`, `pg_delete`,
/// `ch_insert`, `ch_verify`).
nlohmann::json encode_archive_pass(const archive_pass& p);

/// Replaces the values of secret keys (api keys, tokens, passwords, authorization, card
/// number, CVV, ...) with "[redacted]" and masks card-number-like digit strings, in place.
void redact(nlohmann::json& j);

/// `redact` on JSON text in place (the journal applies it to every span it accepts); false,
/// and `text` untouched, when there was nothing to scrub.
bool redact_in_place(std::string& text);

/// `redact` on JSON text; returns `text` itself (no parse) when no sensitive marker occurs,
/// and text that is not JSON unchanged.
std::string redact_text(std::string_view text);

} // namespace bedbank::trace_report_format
