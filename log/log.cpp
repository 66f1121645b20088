// The node's log sink.
#include "log/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "domain/dates.hpp"

namespace bedbank::log {

namespace {

struct sink {
  std::mutex mtx;
  std::FILE* out = stderr;
  bool own_file = false;
  bool json = true;
  std::atomic<int> min_level{static_cast<int>(level::info)};
};

sink& the_sink() {
  static sink s;
  return s;
}

const char* name(level lv) {
  switch (lv) {
  case level::trace:
    return "trace";
  case level::debug:
    return "debug";
  case level::info:
    return "info";
  case level::warn:
    return "warn";
  case level::error:
    return "error";
  }
  return "info";
}

level parse(const std::string& s) {
  if (s == "trace")
    return level::trace;
  if (s == "debug")
    return level::debug;
  if (s == "warn")
    return level::warn;
  if (s == "error")
    return level::error;
  return level::info;
}

} // namespace

bool init(const config::log_config& cfg) {
  auto& s = the_sink();
  std::lock_guard guard{s.mtx};
  s.min_level = static_cast<int>(parse(cfg.level));
  s.json = cfg.format != "text";
  if (s.own_file) {
    std::fclose(s.out);
    s.own_file = false;
  }
  s.out = stderr;
  if (cfg.output == "stdout") {
    s.out = stdout;
  } else if (cfg.output != "stderr" && !cfg.output.empty()) {
    if (auto* f = std::fopen(cfg.output.c_str(), "a")) {
      s.out = f;
      s.own_file = true;
    } else {
      return false;
    }
  }
  return true;
}

bool enabled(level lv) {
  return static_cast<int>(lv) >= the_sink().min_level.load(std::memory_order_relaxed);
}

void write(level lv, std::string_view component, std::string_view msg,
           const nlohmann::json& fields) {
  if (!enabled(lv))
    return;
  auto& s = the_sink();
  auto time = domain::format_instant_us(domain::now_us());
  std::string line;
  if (s.json) {
    nlohmann::json j{{"time", time}, {"level", name(lv)}, {"component", component}, {"msg", msg}};
    if (fields.is_object())
      for (const auto& [k, v] : fields.items())
        j[k] = v;
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = time + " " + name(lv) + " " + std::string{component} + ": " + std::string{msg};
    if (fields.is_object())
      for (const auto& [k, v] : fields.items())
        line += " " + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  line += '\n';
  std::lock_guard guard{s.mtx};
  std::fwrite(line.data(), 1, line.size(), s.out);
  std::fflush(s.out);
}

} // namespace bedbank::log
