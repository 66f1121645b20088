// Structured logging for the whole node: one line per event, JSON or text, to
// stdout, stderr or a file, filtered by level (config `log:`). Thread-safe.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "config/config.hpp"

namespace bedbank::log {

/// Severity, lowest first.
enum class level { trace, debug, info, warn, error };

/// Applies `log:` (level, format, output); before it, info and up go to stderr as JSON.
/// Returns false (and keeps logging to stderr) when the output file cannot be opened.
bool init(const config::log_config& cfg);

/// True when events of `lv` are written.
bool enabled(level lv);

/// Writes one event: `component` names the part of the node, `fields` is a JSON object.
void write(level lv, std::string_view component, std::string_view msg,
           const nlohmann::json& fields = nlohmann::json::object());

inline void info(std::string_view component, std::string_view msg,
                 const nlohmann::json& fields = nlohmann::json::object()) {
  write(level::info, component, msg, fields);
}

inline void warn(std::string_view component, std::string_view msg,
                 const nlohmann::json& fields = nlohmann::json::object()) {
  write(level::warn, component, msg, fields);
}

inline void error(std::string_view component, std::string_view msg,
                  const nlohmann::json& fields = nlohmann::json::object()) {
  write(level::error, component, msg, fields);
}

} // namespace bedbank::log
