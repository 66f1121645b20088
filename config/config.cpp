// Configuration loading in two steps: YAML text → raw tree (with ${ENV}
// substituted and `--set key.path=value` overrides applied) → validated
// bedbank_config. Every refusal is a config_error naming the dotted key path.
#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <sstream>
#include <string_view>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "domain/money.hpp"

namespace bedbank::config {

namespace {

using namespace std::chrono_literals;

// -- limits ----------------------------------------------------------------------------

constexpr int64_t k_min_port = 1;
constexpr int64_t k_max_port = 65535;
constexpr int64_t k_max_io_threads = 64;
constexpr int64_t k_kib = 1024;
constexpr int64_t k_mib = k_kib * k_kib;
constexpr int64_t k_min_body_limit = k_kib;
constexpr int64_t k_max_body_limit = 16 * k_mib;
constexpr int64_t k_min_header_limit = k_kib;
constexpr int64_t k_max_header_limit = 64 * k_kib;
constexpr milliseconds k_min_timeout = 1ms;
constexpr milliseconds k_max_server_timeout = 1h;
constexpr int64_t k_max_pool_size = 1000;
constexpr int64_t k_max_redis_db = 15;
constexpr milliseconds k_max_cache_ttl = 24h;
constexpr milliseconds k_max_supplier_timeout = 60s;
constexpr milliseconds k_max_call_timeout = 5min;
constexpr int64_t k_max_concurrency = 1000;
constexpr int64_t k_max_local_cache_entries = 10'000'000;
constexpr int64_t k_max_markup_bps = 10'000;
constexpr int64_t k_no_markup_override = -1;
constexpr int64_t k_ppm = 1'000'000;
constexpr size_t k_max_rate_decimals = 6;
constexpr size_t k_max_rate_whole_digits = 6;
constexpr milliseconds k_max_interval = 24h;
constexpr int64_t k_max_rate_limit = 1'000'000'000;
constexpr int64_t k_max_tolerance_bps = 10'000;
constexpr int64_t k_max_relay_batch = 10'000;
constexpr int64_t k_max_store_connections = 64;
constexpr int64_t k_max_booking_attempts = 100;
constexpr int64_t k_max_trace_buffer = 10'000'000;
constexpr milliseconds k_max_flush_interval = 1min;
constexpr int64_t k_max_hot_days = 3650;
constexpr int64_t k_max_archive_days = 36500;
constexpr milliseconds k_min_archive_interval = 100ms;
constexpr milliseconds k_max_archive_interval = 24h;
constexpr int64_t k_max_archive_batch = 100000;
constexpr milliseconds k_max_clickhouse_timeout = 10min;
constexpr int64_t k_max_priority = 1000;
constexpr int64_t k_max_breaker_failures = 1000;
constexpr milliseconds k_max_reset_timeout = 24h;
constexpr milliseconds k_max_mock_latency = 60s;
constexpr double k_max_sigma = 5.0;
constexpr int64_t k_max_percent = 100;
constexpr milliseconds k_max_cluster_timeout = 5min;
constexpr int64_t k_max_vnodes = 4096;
constexpr int64_t k_max_restarts = 1000;
constexpr size_t k_min_supplier_code = 2;
constexpr size_t k_max_supplier_code = 32;
constexpr size_t k_max_id_length = 64;
constexpr size_t k_max_secret_length = 256;
constexpr size_t k_production_secret_length = 16;
constexpr size_t k_max_duration_digits = 12;
constexpr size_t k_max_suggest_distance = 2;
constexpr size_t k_max_echo_length = 60;
constexpr int64_t k_decimal_base = 10;

// -- demo data (development mode) ------------------------------------------------------

constexpr std::string_view k_mode_development = "development";
constexpr std::string_view k_mode_production = "production";
constexpr std::string_view k_demo_admin_token = "demo-admin-token";
constexpr int64_t k_demo_credit_units = 1'000'000; ///< in major units of the default currency

struct demo_agent {
  std::string_view id;
  std::string_view name;
  std::string_view api_key;
};

constexpr demo_agent k_demo_agents[] = {
    {"demo-a", "Demo Agency A", "demo-key-a"},
    {"demo-b", "Demo Agency B", "demo-key-b"},
};

// -- errors ----------------------------------------------------------------------------

/// Thrown inside this file only; parse_config turns it into a config_error.
struct refusal {
  config_error error;
};

[[noreturn]] void refuse(std::string key, std::string message) {
  throw refusal{config_error{std::move(key), std::move(message)}};
}

std::string join(std::string_view parent, std::string_view key) {
  std::string out{parent};
  if (!out.empty())
    out += '.';
  out += key;
  return out;
}

std::string index_path(std::string_view parent, size_t index) {
  return std::string{parent} + "[" + std::to_string(index) + "]";
}

/// True when `inner` is `outer` or lies below it (`a.b` and `a[0]` lie below `a`).
bool path_within(std::string_view inner, std::string_view outer) {
  if (outer.empty() || inner.size() < outer.size() || inner.substr(0, outer.size()) != outer)
    return false;
  return inner.size() == outer.size() || inner[outer.size()] == '.' || inner[outer.size()] == '[';
}

std::string quote(std::string_view text) {
  if (text.size() > k_max_echo_length)
    return "\"" + std::string{text.substr(0, k_max_echo_length)} + "…\"";
  return "\"" + std::string{text} + "\"";
}

std::string list_of(std::initializer_list<std::string_view> words) {
  std::string out;
  for (auto w : words) {
    if (!out.empty())
      out += ", ";
    out += w;
  }
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// -- raw tree --------------------------------------------------------------------------

struct raw_entry;

/// One node of the raw tree: the YAML document after ${ENV} substitution and
/// overrides, before any type is checked. Maps keep document order.
struct raw_node {
  enum class kind { null, scalar, map, seq };
  kind type = kind::null;
  std::string text;               ///< for scalars
  std::vector<raw_entry> entries; ///< for maps, in document order
  std::vector<raw_node> items;    ///< for sequences
  int line = 0;                   ///< 1-based line in the file; 0 when set by an override
};

/// One `key: value` of a raw map.
struct raw_entry {
  std::string key;
  raw_node value;
};

std::string at_line(const raw_node& node) {
  return node.line > 0 ? " (line " + std::to_string(node.line) + ")" : "";
}

std::string describe(const raw_node& node) {
  switch (node.type) {
  case raw_node::kind::null:
    return "nothing";
  case raw_node::kind::scalar:
    return quote(node.text);
  case raw_node::kind::map:
    return "a map";
  case raw_node::kind::seq:
    return "a list";
  }
  return "?";
}

raw_entry* find_entry(raw_node& node, std::string_view key) {
  for (auto& e : node.entries)
    if (e.key == key)
      return &e;
  return nullptr;
}

const raw_node* find_value(const raw_node& node, std::string_view key) {
  for (const auto& e : node.entries)
    if (e.key == key)
      return &e.value;
  return nullptr;
}

std::string mark_line(const YAML::Node& node, bool keep_lines) {
  if (!keep_lines || node.Mark().line < 0)
    return "";
  return " (line " + std::to_string(node.Mark().line + 1) + ")";
}

raw_node from_yaml(const YAML::Node& node, const std::string& path, bool keep_lines) {
  raw_node out;
  if (keep_lines && node.Mark().line >= 0)
    out.line = node.Mark().line + 1;
  switch (node.Type()) {
  case YAML::NodeType::Undefined:
  case YAML::NodeType::Null:
    out.type = raw_node::kind::null;
    break;
  case YAML::NodeType::Scalar:
    out.type = raw_node::kind::scalar;
    out.text = node.Scalar();
    break;
  case YAML::NodeType::Sequence: {
    out.type = raw_node::kind::seq;
    size_t index = 0;
    for (const auto& item : node)
      out.items.push_back(from_yaml(item, index_path(path, index++), keep_lines));
    break;
  }
  case YAML::NodeType::Map:
    out.type = raw_node::kind::map;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar())
        refuse(path, "map keys must be plain strings" + at_line(out));
      std::string key = kv.first.Scalar();
      if (find_entry(out, key))
        refuse(join(path, key), "duplicate key" + mark_line(kv.first, keep_lines));
      out.entries.push_back({key, from_yaml(kv.second, join(path, key), keep_lines)});
    }
    break;
  }
  return out;
}

// -- ${ENV} substitution ---------------------------------------------------------------

bool valid_env_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front())))
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

/// Replaces `${NAME}` and `${NAME:-default}` (the default also when NAME is
/// empty, as in the shell); `$${` is a literal `${`.
std::string substitute(const raw_node& node, const std::string& path) {
  const std::string& text = node.text;
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string::npos)
      refuse(path, "unterminated ${ in " + quote(text) + at_line(node));
    std::string_view body{text.data() + i + 2, close - i - 2};
    size_t sep = body.find(":-");
    std::string name{body.substr(0, sep)};
    if (!valid_env_name(name))
      refuse(path,
             "bad environment variable name " + quote(name) + " in " + quote(text) + at_line(node));
    const char* value = std::getenv(name.c_str());
    if (sep != std::string_view::npos) {
      out += (value != nullptr && *value != '\0') ? std::string_view{value} : body.substr(sep + 2);
    } else {
      if (value == nullptr)
        refuse(path, "environment variable " + name + " is not set (write ${" + name +
                         ":-} to allow it to be empty)" + at_line(node));
      out += value;
    }
    i = close + 1;
  }
  return out;
}

void substitute_tree(raw_node& node, const std::string& path) {
  switch (node.type) {
  case raw_node::kind::null:
    break;
  case raw_node::kind::scalar:
    node.text = substitute(node, path);
    break;
  case raw_node::kind::map:
    for (auto& e : node.entries)
      substitute_tree(e.value, join(path, e.key));
    break;
  case raw_node::kind::seq:
    for (size_t i = 0; i < node.items.size(); ++i)
      substitute_tree(node.items[i], index_path(path, i));
    break;
  }
}

// -- overrides -------------------------------------------------------------------------

/// One segment of an override key: a map key and the list indices after it.
struct path_step {
  std::string name;
  std::vector<size_t> indices;
};

bool key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

/// Parses `a.b[1].c`; empty on a malformed path.
std::optional<std::vector<path_step>> parse_key_path(std::string_view key) {
  std::vector<path_step> steps;
  size_t i = 0;
  while (true) {
    path_step step;
    while (i < key.size() && key_char(key[i]))
      step.name += key[i++];
    if (step.name.empty())
      return std::nullopt;
    while (i < key.size() && key[i] == '[') {
      size_t close = key.find(']', i);
      if (close == std::string_view::npos || close == i + 1)
        return std::nullopt;
      size_t index = 0;
      auto digits = key.substr(i + 1, close - i - 1);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
      if (ec != std::errc{} || end != digits.data() + digits.size())
        return std::nullopt;
      step.indices.push_back(index);
      i = close + 1;
    }
    steps.push_back(std::move(step));
    if (i == key.size())
      return steps;
    if (key[i] != '.')
      return std::nullopt;
    ++i;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

/// The key of an override (`key.path=value` → `key.path`), trimmed.
std::string override_key(std::string_view text) {
  return std::string{trim(text.substr(0, text.find('=')))};
}

/// Applies one `key.path=value` to the raw tree, creating missing maps; list
/// elements must exist already.
void apply_override(raw_node& root, const std::string& text) {
  size_t eq = text.find('=');
  std::string key = override_key(text);
  if (eq == std::string::npos)
    refuse(key, "malformed override " + quote(text) + ": expected key.path=value");
  auto steps = parse_key_path(key);
  if (!steps)
    refuse(key, "malformed override key " + quote(key) +
                    ": expected dotted keys such as pricing.cache_ttl or agents[0].api_key");
  raw_node value;
  try {
    value = from_yaml(YAML::Load(text.substr(eq + 1)), key, false);
  } catch (const YAML::Exception& e) {
    refuse(key, "override value is not valid YAML: " + e.msg);
  }
  raw_node* cur = &root;
  std::string path;
  for (const auto& step : *steps) {
    if (cur->type == raw_node::kind::null)
      cur->type = raw_node::kind::map;
    if (cur->type != raw_node::kind::map)
      refuse(key, "cannot set " + key + ": " + path + " is " + describe(*cur) + ", not a map");
    raw_entry* entry = find_entry(*cur, step.name);
    if (entry == nullptr) {
      cur->entries.push_back({step.name, raw_node{}});
      entry = &cur->entries.back();
    }
    path = join(path, step.name);
    cur = &entry->value;
    for (size_t index : step.indices) {
      if (cur->type != raw_node::kind::seq || index >= cur->items.size())
        refuse(key, "cannot set " + key + ": " + index_path(path, index) + " does not exist");
      path = index_path(path, index);
      cur = &cur->items[index];
    }
  }
  *cur = std::move(value);
}

// -- scalar parsing --------------------------------------------------------------------

std::optional<int64_t> parse_int(std::string_view text) {
  if (!text.empty() && text.front() == '+')
    text.remove_prefix(1);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

std::optional<uint64_t> parse_uint(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

std::optional<double> parse_double(std::string_view text) {
  if (!text.empty() && text.front() == '+')
    text.remove_prefix(1);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

std::optional<bool> parse_bool(std::string_view text) {
  if (text == "true" || text == "True" || text == "TRUE")
    return true;
  if (text == "false" || text == "False" || text == "FALSE")
    return false;
  return std::nullopt;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// A duration unit and its length in milliseconds.
struct duration_unit {
  std::string_view suffix;
  int64_t ms;
};

constexpr int64_t k_ms_per_s = 1000;
constexpr int64_t k_ms_per_m = 60 * k_ms_per_s;
constexpr int64_t k_ms_per_h = 60 * k_ms_per_m;

/// Largest first, so formatting picks the coarsest exact unit.
constexpr duration_unit k_duration_units[] = {
    {"h", k_ms_per_h},
    {"m", k_ms_per_m},
    {"s", k_ms_per_s},
    {"ms", 1},
};

std::string format_duration(milliseconds d) {
  for (const auto& u : k_duration_units)
    if (d.count() != 0 && d.count() % u.ms == 0)
      return std::to_string(d.count() / u.ms) + std::string{u.suffix};
  return std::to_string(d.count()) + "ms";
}

/// A size unit and its length in bytes.
struct size_unit {
  std::string_view suffix;
  int64_t bytes;
};

constexpr size_unit k_size_units[] = {{"MiB", k_mib}, {"KiB", k_kib}, {"B", 1}};

std::string format_size(int64_t bytes) {
  for (const auto& u : k_size_units)
    if (bytes != 0 && bytes % u.bytes == 0)
      return std::to_string(bytes / u.bytes) + std::string{u.suffix};
  return std::to_string(bytes) + "B";
}

/// Parses a decimal such as "0.1389" into parts per million.
std::optional<int64_t> parse_ppm(std::string_view text) {
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (!all_digits(whole) || whole.size() > k_max_rate_whole_digits)
    return std::nullopt;
  if (dot != std::string_view::npos && (!all_digits(frac) || frac.size() > k_max_rate_decimals))
    return std::nullopt;
  int64_t value = *parse_int(whole) * k_ppm;
  int64_t scale = k_ppm;
  for (char c : frac) {
    scale /= k_decimal_base;
    value += (c - '0') * scale;
  }
  return value;
}

// -- typed reads -----------------------------------------------------------------------

/// Reads one map of the raw tree; refuses keys it does not know as soon as it is made.
class map_reader {
public:
  map_reader(const raw_node* node, std::string path, std::initializer_list<std::string_view> known)
      : node_(node), path_(std::move(path)) {
    if (node_ == nullptr || node_->type == raw_node::kind::null) {
      node_ = nullptr;
      return;
    }
    if (node_->type != raw_node::kind::map)
      refuse(path_, "expected a map, got " + describe(*node_) + at_line(*node_));
    for (const auto& e : node_->entries) {
      if (std::find(known.begin(), known.end(), e.key) != known.end())
        continue;
      std::string hint;
      for (auto k : known)
        if (edit_distance(e.key, k) <= k_max_suggest_distance)
          hint = "; did you mean " + std::string{k} + "?";
      if (hint.empty())
        hint = " (known keys: " + list_of(known) + ")";
      refuse(join(path_, e.key), "unknown key" + hint + at_line(e.value));
    }
  }

  /// The value under `key`, or nullptr when absent.
  const raw_node* find(std::string_view key) const {
    return node_ == nullptr ? nullptr : find_value(*node_, key);
  }

  /// The dotted path of `key` in this map.
  std::string path_of(std::string_view key) const { return join(path_, key); }

  /// The dotted path of this map.
  const std::string& path() const { return path_; }

  /// The line of `key`'s value, for messages; "" when unknown.
  std::string line_of(std::string_view key) const {
    const raw_node* n = find(key);
    return n == nullptr ? "" : at_line(*n);
  }

private:
  const raw_node* node_;
  std::string path_;
};

const std::string& scalar_of(const raw_node& node, const std::string& path,
                             std::string_view expected) {
  if (node.type != raw_node::kind::scalar)
    refuse(path, "expected " + std::string{expected} + ", got " + describe(node) + at_line(node));
  return node.text;
}

void read_string(const map_reader& r, std::string_view key, std::string& out,
                 size_t max_length = k_max_secret_length) {
  const raw_node* n = r.find(key);
  if (n == nullptr)
    return;
  if (n->type == raw_node::kind::null) {
    out.clear();
    return;
  }
  const std::string& text = scalar_of(*n, r.path_of(key), "a string");
  if (text.size() > max_length)
    refuse(r.path_of(key),
           "longer than " + std::to_string(max_length) + " characters" + at_line(*n));
  out = text;
}

void read_non_empty(const map_reader& r, std::string_view key, std::string& out) {
  read_string(r, key, out);
  if (out.empty())
    refuse(r.path_of(key), "must not be empty" + r.line_of(key));
}

template <class Int>
void read_int(const map_reader& r, std::string_view key, Int& out, int64_t lo, int64_t hi) {
  const raw_node* n = r.find(key);
  if (n == nullptr)
    return;
  const std::string& text = scalar_of(*n, r.path_of(key), "an integer");
  auto value = parse_int(text);
  if (!value)
    refuse(r.path_of(key), "expected an integer, got " + quote(text) + at_line(*n));
  if (*value < lo || *value > hi)
    refuse(r.path_of(key), "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                               ", got " + text + at_line(*n));
  out = static_cast<Int>(*value);
}

void read_port(const map_reader& r, std::string_view key, uint16_t& out, int64_t lo = k_min_port) {
  read_int(r, key, out, lo, k_max_port);
}

void read_seed(const map_reader& r, std::string_view key, uint64_t& out) {
  const raw_node* n = r.find(key);
  if (n == nullptr)
    return;
  const std::string& text = scalar_of(*n, r.path_of(key), "a non-negative integer");
  auto value = parse_uint(text);
  if (!value)
    refuse(r.path_of(key), "expected a non-negative integer, got " + quote(text) + at_line(*n));
  out = *value;
}

void read_bool(const map_reader& r, std::string_view key, bool& out) {
  const raw_node* n = r.find(key);
  if (n == nullptr)
    return;
  const std::string& text = scalar_of(*n, r.path_of(key), "true or false");
  auto value = parse_bool(text);
  if (!value)
    refuse(r.path_of(key), "expected true or false, got " + quote(text) + at_line(*n));
  out = *value;
}

void read_double(const map_reader& r, std::string_view key, double& out, double lo, double hi) {
  const raw_node* n = r.find(key);
  if (n == nullptr)
    return;
  const std::string& text = scalar_of(*n, r.path_of(key), "a number");
  auto value = parse_double(text);
  if (!value)
    refuse(r.path_of(key), "expected a number, got " + quote(text) + at_line(*n));
  if (!(*value >= lo && *value <= hi)) {
    std::ostringstream range;
    range << "must be between " << lo << " and " << hi << ", got " << text;
    refuse(r.path_of(key), range.str() + at_line(*n));
  }
  out = *value;
}

void read_rate(const map_reader& r, std::string_view key, double& out) {
  read_double(r, key, out, 0.0, 1.0);
}

void read_duration(const map_reader& r, std::string_view key, milliseconds& out, milliseconds lo,
                   milliseconds hi) {
  const raw_node* n = r.find(key);
  if (n == nullptr)
    return;
  const std::string& text = scalar_of(*n, r.path_of(key), "a duration such as \"300s\"");
  std::string_view view{text};
  size_t digits = 0;
  while (digits < view.size() && view[digits] >= '0' && view[digits] <= '9')
    ++digits;
  std::string_view number = view.substr(0, digits);
  std::string_view suffix = view.substr(digits);
  if (!number.empty() && suffix.empty())
    refuse(r.path_of(key), quote(text) + " has no unit; add one, e.g. \"" + text +
                               "s\" (units: ms, s, m, h)" + at_line(*n));
  const duration_unit* unit = nullptr;
  for (const auto& u : k_duration_units)
    if (u.suffix == suffix)
      unit = &u;
  if (number.empty() || unit == nullptr)
    refuse(r.path_of(key),
           "expected a duration such as \"300s\", \"500ms\", \"5m\" or \"1h\", got " + quote(text) +
               at_line(*n));
  if (number.size() > k_max_duration_digits)
    refuse(r.path_of(key), "duration " + quote(text) + " is too long" + at_line(*n));
  milliseconds value{*parse_int(number) * unit->ms};
  if (value < lo || value > hi)
    refuse(r.path_of(key), "must be between " + format_duration(lo) + " and " +
                               format_duration(hi) + ", got " + text + at_line(*n));
  out = value;
}

void read_size(const map_reader& r, std::string_view key, int64_t& out, int64_t lo, int64_t hi) {
  const raw_node* n = r.find(key);
  if (n == nullptr)
    return;
  const std::string& text = scalar_of(*n, r.path_of(key), "a size such as \"64KiB\"");
  std::string_view view{text};
  int64_t scale = 1;
  for (const auto& u : k_size_units) {
    if (view.size() > u.suffix.size() && view.substr(view.size() - u.suffix.size()) == u.suffix) {
      scale = u.bytes;
      view.remove_suffix(u.suffix.size());
      break;
    }
  }
  auto number =
      all_digits(view) && view.size() <= k_max_duration_digits ? parse_int(view) : std::nullopt;
  if (!number)
    refuse(r.path_of(key), "expected a size in bytes or with KiB/MiB, e.g. \"64KiB\", got " +
                               quote(text) + at_line(*n));
  int64_t value = *number * scale;
  if (value < lo || value > hi)
    refuse(r.path_of(key), "must be between " + format_size(lo) + " and " + format_size(hi) +
                               ", got " + text + at_line(*n));
  out = value;
}

void read_choice(const map_reader& r, std::string_view key, std::string& out,
                 std::initializer_list<std::string_view> choices) {
  const raw_node* n = r.find(key);
  if (n == nullptr)
    return;
  const std::string& text = scalar_of(*n, r.path_of(key), "one of " + list_of(choices));
  if (std::find(choices.begin(), choices.end(), text) == choices.end())
    refuse(r.path_of(key),
           "expected one of " + list_of(choices) + ", got " + quote(text) + at_line(*n));
  out = text;
}

/// Letters, digits, `_`, `-`, `.`; 1..64 characters.
bool valid_id(std::string_view id) {
  return !id.empty() && id.size() <= k_max_id_length &&
         std::all_of(id.begin(), id.end(), [](char c) { return key_char(c) || c == '.'; });
}

/// `[a-z][a-z0-9_]{1,31}`.
bool valid_supplier_code(std::string_view code) {
  if (code.size() < k_min_supplier_code || code.size() > k_max_supplier_code)
    return false;
  if (code.front() < 'a' || code.front() > 'z')
    return false;
  return std::all_of(code.begin(), code.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool same_host(const std::string& a, const std::string& b) {
  constexpr std::string_view any_address = "0.0.0.0";
  return a == b || a == any_address || b == any_address;
}

// -- sections --------------------------------------------------------------------------

void read_server(const raw_node* node, server_config& s) {
  map_reader r(node, "server",
               {"host", "port", "admin_host", "admin_port", "mode", "read_timeout", "write_timeout",
                "io_threads", "body_limit", "header_limit", "admin_token", "node_id", "scheduler"});
  read_non_empty(r, "host", s.host);
  read_port(r, "port", s.port);
  read_non_empty(r, "admin_host", s.admin_host);
  read_port(r, "admin_port", s.admin_port);
  read_choice(r, "mode", s.mode, {k_mode_development, k_mode_production});
  read_duration(r, "read_timeout", s.read_timeout, k_min_timeout, k_max_server_timeout);
  read_duration(r, "write_timeout", s.write_timeout, k_min_timeout, k_max_server_timeout);
  read_int(r, "io_threads", s.io_threads, 1, k_max_io_threads);
  read_size(r, "body_limit", s.body_limit, k_min_body_limit, k_max_body_limit);
  read_size(r, "header_limit", s.header_limit, k_min_header_limit, k_max_header_limit);
  read_string(r, "admin_token", s.admin_token);
  read_string(r, "node_id", s.node_id);
  read_choice(r, "scheduler", s.scheduler, {"stealing", "sharing"});
  if (!valid_id(s.node_id))
    refuse("server.node_id", "must be 1 to " + std::to_string(k_max_id_length) +
                                 " letters, digits, '_', '-' or '.'" + r.line_of("node_id"));
  if (s.port == s.admin_port && same_host(s.host, s.admin_host))
    refuse("server.admin_port", "must differ from server.port (" + std::to_string(s.port) +
                                    ") on the same host" + r.line_of("admin_port"));
}

void read_database(const raw_node* node, database_config& d) {
  map_reader r(node, "database",
               {"host", "port", "user", "password", "dbname", "max_open_conns", "max_idle_conns"});
  read_non_empty(r, "host", d.host);
  read_port(r, "port", d.port);
  read_non_empty(r, "user", d.user);
  read_string(r, "password", d.password);
  read_non_empty(r, "dbname", d.dbname);
  read_int(r, "max_open_conns", d.max_open_conns, 1, k_max_pool_size);
  read_int(r, "max_idle_conns", d.max_idle_conns, 0, k_max_pool_size);
  if (d.max_idle_conns > d.max_open_conns)
    refuse("database.max_idle_conns", "must not exceed max_open_conns (" +
                                          std::to_string(d.max_open_conns) + ")" +
                                          r.line_of("max_idle_conns"));
}

void read_redis(const raw_node* node, redis_config& c) {
  map_reader r(node, "redis", {"host", "port", "password", "db", "pool_size"});
  read_non_empty(r, "host", c.host);
  read_port(r, "port", c.port);
  read_string(r, "password", c.password);
  read_int(r, "db", c.db, 0, k_max_redis_db);
  read_int(r, "pool_size", c.pool_size, 1, k_max_pool_size);
}

void read_clickhouse(const raw_node* node, clickhouse_config& c) {
  map_reader r(node, "clickhouse",
               {"enabled", "host", "port", "database", "user", "password", "timeout"});
  read_bool(r, "enabled", c.enabled);
  read_non_empty(r, "host", c.host);
  read_port(r, "port", c.port);
  read_non_empty(r, "database", c.database);
  if (!std::all_of(c.database.begin(), c.database.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
      }))
    refuse("clickhouse.database",
           "must be letters, digits and '_', got " + quote(c.database) + r.line_of("database"));
  read_non_empty(r, "user", c.user);
  read_string(r, "password", c.password);
  read_duration(r, "timeout", c.timeout, k_min_timeout, k_max_clickhouse_timeout);
}

void read_currency(const map_reader& r, std::string_view key, std::string& out) {
  read_string(r, key, out);
  if (!domain::known_currency(out))
    refuse(r.path_of(key), "unknown currency " + quote(out) +
                               "; expected an ISO 4217 code such as CNY, USD, EUR" +
                               r.line_of(key));
}

void read_fx_rates(const map_reader& r, pricing_config& p) {
  const raw_node* n = r.find("fx_rates");
  std::string path = r.path_of("fx_rates");
  if (n == nullptr || n->type == raw_node::kind::null)
    return;
  if (n->type != raw_node::kind::map)
    refuse(path, "expected a map of currency → rate, got " + describe(*n) + at_line(*n));
  for (const auto& e : n->entries) {
    std::string key = join(path, e.key);
    if (!domain::known_currency(e.key))
      refuse(key, "unknown currency " + quote(e.key) + at_line(e.value));
    const std::string& text = scalar_of(e.value, key, "a decimal rate such as \"0.1389\"");
    auto ppm = parse_ppm(text);
    if (!ppm || *ppm <= 0)
      refuse(key, "expected a positive decimal with at most " +
                      std::to_string(k_max_rate_decimals) + " decimals (units per 1 " +
                      p.default_currency + "), got " + quote(text) + at_line(e.value));
    if (e.key == p.default_currency && *ppm != k_ppm)
      refuse(key, "the default currency's own rate must be 1" + at_line(e.value));
    p.fx_rates_ppm[e.key] = *ppm;
  }
}

void read_pricing(const raw_node* node, pricing_config& p) {
  map_reader r(node, "pricing",
               {"cache_ttl", "local_cache_ttl", "supplier_timeout", "max_concurrent",
                "default_currency", "cache_enabled", "local_cache_entries", "default_markup_bps",
                "fx_rates"});
  read_duration(r, "cache_ttl", p.cache_ttl, k_min_timeout, k_max_cache_ttl);
  read_duration(r, "local_cache_ttl", p.local_cache_ttl, k_min_timeout, k_max_cache_ttl);
  read_duration(r, "supplier_timeout", p.supplier_timeout, k_min_timeout, k_max_supplier_timeout);
  read_int(r, "max_concurrent", p.max_concurrent, 1, k_max_concurrency);
  read_currency(r, "default_currency", p.default_currency);
  read_bool(r, "cache_enabled", p.cache_enabled);
  read_int(r, "local_cache_entries", p.local_cache_entries, 0, k_max_local_cache_entries);
  read_int(r, "default_markup_bps", p.default_markup_bps, 0, k_max_markup_bps);
  read_fx_rates(r, p);
}

void read_inventory(const raw_node* node, inventory_config& c) {
  map_reader r(node, "inventory", {"hold_ttl", "cleanup_interval", "sync_interval"});
  read_duration(r, "hold_ttl", c.hold_ttl, k_min_timeout, k_max_interval);
  read_duration(r, "cleanup_interval", c.cleanup_interval, k_min_timeout, k_max_interval);
  read_duration(r, "sync_interval", c.sync_interval, k_min_timeout, k_max_interval);
}

void read_risk(const raw_node* node, risk_config& c) {
  map_reader r(node, "risk",
               {"credit_check_enabled", "price_check_enabled", "rate_limit_per_minute",
                "price_tolerance_bps"});
  read_bool(r, "credit_check_enabled", c.credit_check_enabled);
  read_bool(r, "price_check_enabled", c.price_check_enabled);
  read_int(r, "rate_limit_per_minute", c.rate_limit_per_minute, 1, k_max_rate_limit);
  read_int(r, "price_tolerance_bps", c.price_tolerance_bps, 0, k_max_tolerance_bps);
}

void read_orders(const raw_node* node, orders_config& c) {
  map_reader r(node, "orders",
               {"relay_interval", "relay_batch", "lease", "idle_timeout", "create_wait",
                "store_connections"});
  read_duration(r, "relay_interval", c.relay_interval, k_min_timeout, k_max_interval);
  read_int(r, "relay_batch", c.relay_batch, 1, k_max_relay_batch);
  read_duration(r, "lease", c.lease, k_min_timeout, k_max_interval);
  read_duration(r, "idle_timeout", c.idle_timeout, k_min_timeout, k_max_interval);
  read_duration(r, "create_wait", c.create_wait, 0ms, k_max_call_timeout);
  read_int(r, "store_connections", c.store_connections, 1, k_max_store_connections);
}

void read_log(const raw_node* node, log_config& c) {
  map_reader r(node, "log", {"level", "format", "output"});
  read_choice(r, "level", c.level, {"trace", "debug", "info", "warn", "error"});
  read_choice(r, "format", c.format, {"json", "text"});
  read_non_empty(r, "output", c.output);
}

void read_trace(const raw_node* node, trace_config& c) {
  map_reader r(node, "trace",
               {"buffer_limit", "batch_size", "flush_interval", "hot_days", "archive_days",
                "archive_interval", "archive_batch", "readers"});
  read_int(r, "buffer_limit", c.buffer_limit, 1, k_max_trace_buffer);
  read_int(r, "batch_size", c.batch_size, 1, k_max_trace_buffer);
  read_duration(r, "flush_interval", c.flush_interval, k_min_timeout, k_max_flush_interval);
  read_int(r, "hot_days", c.hot_days, 0, k_max_hot_days);
  read_int(r, "archive_days", c.archive_days, 1, k_max_archive_days);
  read_duration(r, "archive_interval", c.archive_interval, k_min_archive_interval,
                k_max_archive_interval);
  read_int(r, "archive_batch", c.archive_batch, 1, k_max_archive_batch);
  read_int(r, "readers", c.readers, 1, max_trace_readers);
  if (c.batch_size > c.buffer_limit)
    refuse("trace.batch_size", "must not exceed trace.buffer_limit (" +
                                   std::to_string(c.buffer_limit) + ")" + r.line_of("batch_size"));
  if (c.archive_days < c.hot_days)
    refuse("trace.archive_days", "must be at least trace.hot_days (" + std::to_string(c.hot_days) +
                                     ")" + r.line_of("archive_days"));
}

/// "host:port" with a port in range.
bool valid_endpoint(std::string_view s) {
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return false;
  auto port = parse_int(s.substr(colon + 1));
  return port && *port >= k_min_port && *port <= k_max_port;
}

void read_cluster(const raw_node* node, const server_config& server, cluster_config& c) {
  map_reader r(node, "cluster",
               {"bind", "port", "seeds", "heartbeat_interval", "failure_timeout",
                "connection_timeout", "connect_timeout", "gather_timeout", "vnodes"});
  read_non_empty(r, "bind", c.bind);
  read_port(r, "port", c.port, 0);
  if (const raw_node* n = r.find("seeds"); n != nullptr) {
    std::string path = r.path_of("seeds");
    std::vector<std::pair<std::string, std::string>> seeds; // text, path
    if (n->type == raw_node::kind::seq) {
      for (size_t i = 0; i < n->items.size(); ++i)
        seeds.emplace_back(scalar_of(n->items[i], index_path(path, i), "\"host:port\""),
                           index_path(path, i));
    } else if (n->type == raw_node::kind::scalar) {
      std::string_view rest{n->text};
      while (!rest.empty()) {
        size_t comma = rest.find(',');
        auto item = trim(rest.substr(0, comma));
        if (!item.empty())
          seeds.emplace_back(std::string{item}, path);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      }
    } else if (n->type != raw_node::kind::null) {
      refuse(path, "expected a list of \"host:port\", got " + describe(*n) + at_line(*n));
    }
    c.seeds.clear();
    for (auto& [text, where] : seeds) {
      if (!valid_endpoint(text))
        refuse(where, "expected \"host:port\", got " + quote(text) + at_line(*n));
      c.seeds.push_back(text);
    }
  }
  read_duration(r, "heartbeat_interval", c.heartbeat_interval, k_min_timeout,
                k_max_cluster_timeout);
  read_duration(r, "failure_timeout", c.failure_timeout, k_min_timeout, k_max_cluster_timeout);
  read_duration(r, "connection_timeout", c.connection_timeout, k_min_timeout,
                k_max_cluster_timeout);
  read_duration(r, "connect_timeout", c.connect_timeout, k_min_timeout, k_max_cluster_timeout);
  read_duration(r, "gather_timeout", c.gather_timeout, k_min_timeout, k_max_cluster_timeout);
  read_int(r, "vnodes", c.vnodes, 1, k_max_vnodes);
  if (c.failure_timeout <= c.heartbeat_interval)
    refuse("cluster.failure_timeout", "must be longer than cluster.heartbeat_interval (" +
                                          format_duration(c.heartbeat_interval) + ")" +
                                          r.line_of("failure_timeout"));
  if (c.connection_timeout <= c.heartbeat_interval)
    refuse("cluster.connection_timeout", "must be longer than cluster.heartbeat_interval (" +
                                             format_duration(c.heartbeat_interval) + ")" +
                                             r.line_of("connection_timeout"));
  if (c.port != 0 && same_host(c.bind, server.host) &&
      (c.port == server.port || c.port == server.admin_port))
    refuse("cluster.port", "must differ from server.port and server.admin_port on the same host" +
                               r.line_of("port"));
  if (!c.seeds.empty() && c.port == 0)
    refuse("cluster.port", "must be set (not 0) when cluster.seeds names nodes to join: peers "
                           "reach this node on it" +
                               r.line_of("port"));
}

void read_supervision(const raw_node* node, supervision_config& c) {
  map_reader r(node, "supervision", {"max_restarts", "window", "backoff_min", "backoff_max"});
  read_int(r, "max_restarts", c.max_restarts, 0, k_max_restarts);
  read_duration(r, "window", c.window, k_min_timeout, k_max_interval);
  read_duration(r, "backoff_min", c.backoff_min, k_min_timeout, k_max_cluster_timeout);
  read_duration(r, "backoff_max", c.backoff_max, k_min_timeout, k_max_cluster_timeout);
  if (c.backoff_max < c.backoff_min)
    refuse("supervision.backoff_max", "must be at least supervision.backoff_min (" +
                                          format_duration(c.backoff_min) + ")" +
                                          r.line_of("backoff_max"));
}

void read_breaker(const map_reader& parent, breaker_config& b) {
  map_reader r(parent.find("breaker"), parent.path_of("breaker"),
               {"max_failures", "reset_timeout", "max_reset_timeout"});
  read_int(r, "max_failures", b.max_failures, 1, k_max_breaker_failures);
  read_duration(r, "reset_timeout", b.reset_timeout, k_min_timeout, k_max_reset_timeout);
  read_duration(r, "max_reset_timeout", b.max_reset_timeout, k_min_timeout, k_max_reset_timeout);
  if (b.max_reset_timeout < b.reset_timeout)
    refuse(r.path_of("max_reset_timeout"), "must be at least reset_timeout (" +
                                               format_duration(b.reset_timeout) + ")" +
                                               r.line_of("max_reset_timeout"));
}

void read_latency(const map_reader& parent, latency_profile& l) {
  map_reader r(parent.find("latency"), parent.path_of("latency"),
               {"kind", "fixed", "min", "max", "median", "sigma"});
  std::string kind;
  read_choice(r, "kind", kind, {"fixed", "uniform", "lognormal"});
  if (kind == "fixed")
    l.shape = latency_profile::kind::fixed;
  else if (kind == "uniform")
    l.shape = latency_profile::kind::uniform;
  else if (kind == "lognormal")
    l.shape = latency_profile::kind::lognormal;
  read_duration(r, "fixed", l.fixed, 0ms, k_max_mock_latency);
  read_duration(r, "min", l.min, 0ms, k_max_mock_latency);
  read_duration(r, "max", l.max, 0ms, k_max_mock_latency);
  read_duration(r, "median", l.median, k_min_timeout, k_max_mock_latency);
  read_double(r, "sigma", l.sigma, 0.0, k_max_sigma);
  if (l.min > l.max)
    refuse(r.path_of("max"), "must be at least min (" + format_duration(l.min) + "), got " +
                                 format_duration(l.max) + r.line_of("max"));
}

void read_mock(const map_reader& parent, mock_profile& m) {
  map_reader r(parent.find("mock"), parent.path_of("mock"),
               {"latency", "error_rate", "timeout_rate", "sold_out_rate", "price_drift",
                "price_change_chance", "price_change_window", "seed", "coverage_percent",
                "scenario", "slow_booking"});
  read_latency(r, m.latency);
  read_rate(r, "error_rate", m.error_rate);
  read_rate(r, "timeout_rate", m.timeout_rate);
  read_rate(r, "sold_out_rate", m.sold_out_rate);
  read_rate(r, "price_drift", m.price_drift);
  read_rate(r, "price_change_chance", m.price_change_chance);
  read_duration(r, "price_change_window", m.price_change_window, k_min_timeout, k_max_interval);
  read_seed(r, "seed", m.seed);
  read_int(r, "coverage_percent", m.coverage_percent, 0, k_max_percent);
  read_choice(r, "scenario", m.scenario,
              {"ok", "price_changed", "sold_out", "booking_error", "slow_booking", "answer_lost",
               "cancel_refused"});
  read_duration(r, "slow_booking", m.slow_booking, 0ms, k_max_mock_latency);
  if (m.error_rate + m.timeout_rate > 1.0)
    refuse(r.path_of("timeout_rate"),
           "error_rate + timeout_rate must not exceed 1" + r.line_of("timeout_rate"));
}

supplier_config read_supplier(const raw_entry& entry, int default_max_concurrent) {
  std::string path = join("suppliers", entry.key);
  if (!valid_supplier_code(entry.key))
    refuse(path, "supplier code must match [a-z][a-z0-9_]{1,31}" + at_line(entry.value));
  map_reader r(&entry.value, path,
               {"enabled", "name", "protocol", "api_key", "api_secret", "endpoint", "timeout",
                "priority", "max_concurrent", "breaker", "booking", "mock"});
  supplier_config s;
  s.code = entry.key;
  s.name = entry.key;
  s.max_concurrent = default_max_concurrent;
  read_bool(r, "enabled", s.enabled);
  read_string(r, "name", s.name);
  if (s.name.empty())
    s.name = s.code;
  read_choice(r, "protocol", s.protocol, {"mock", "hotelbeds", "expedia"});
  read_string(r, "api_key", s.api_key);
  read_string(r, "api_secret", s.api_secret);
  read_string(r, "endpoint", s.endpoint);
  read_duration(r, "timeout", s.timeout, k_min_timeout, k_max_call_timeout);
  read_int(r, "priority", s.priority, -k_max_priority, k_max_priority);
  read_int(r, "max_concurrent", s.max_concurrent, 1, k_max_concurrency);
  read_breaker(r, s.breaker);
  {
    map_reader b(r.find("booking"), r.path_of("booking"), {"max_attempts", "backoff"});
    read_int(b, "max_attempts", s.booking.max_attempts, 1, k_max_booking_attempts);
    read_duration(b, "backoff", s.booking.backoff, k_min_timeout, k_max_interval);
  }
  const raw_node* mock = r.find("mock");
  if (mock != nullptr) {
    s.mock.emplace();
    read_mock(r, *s.mock);
  } else if (s.protocol == "mock") {
    refuse(r.path_of("mock"),
           "protocol mock needs a mock: section (latency, rates, seed)" + at_line(entry.value));
  }
  constexpr std::string_view http = "http://";
  constexpr std::string_view https = "https://";
  bool has_scheme = s.endpoint.rfind(http, 0) == 0 || s.endpoint.rfind(https, 0) == 0;
  if (!s.endpoint.empty() && !has_scheme)
    refuse(r.path_of("endpoint"), "must start with http:// or https://" + r.line_of("endpoint"));
  if (s.enabled && !s.mock && s.endpoint.empty())
    refuse(r.path_of("endpoint"), "an enabled " + s.protocol +
                                      " supplier without a mock: section needs an endpoint" +
                                      at_line(entry.value));
  return s;
}

void read_suppliers(const raw_node* node, int default_max_concurrent,
                    std::vector<supplier_config>& out) {
  if (node == nullptr || node->type == raw_node::kind::null)
    return;
  if (node->type != raw_node::kind::map)
    refuse("suppliers",
           "expected a map of supplier code → settings, got " + describe(*node) + at_line(*node));
  for (const auto& e : node->entries)
    out.push_back(read_supplier(e, default_max_concurrent));
}

void read_agents(const raw_node* node, const bedbank_config& cfg, std::vector<agent_config>& out) {
  if (node == nullptr || node->type == raw_node::kind::null)
    return;
  if (node->type != raw_node::kind::seq)
    refuse("agents", "expected a list of agents, got " + describe(*node) + at_line(*node));
  std::map<std::string, std::string> ids;  // id → path of its agent
  std::map<std::string, std::string> keys; // api key → path of its agent
  for (size_t i = 0; i < node->items.size(); ++i) {
    std::string path = index_path("agents", i);
    if (node->items[i].type == raw_node::kind::null)
      refuse(path, "expected a map with id and api_key, got nothing" + at_line(node->items[i]));
    map_reader r(&node->items[i], path,
                 {"id", "name", "api_key", "rate_limit_per_minute", "markup_bps", "credit_limit"});
    agent_config a;
    if (r.find("id") == nullptr)
      refuse(r.path_of("id"), "is required" + at_line(node->items[i]));
    read_string(r, "id", a.id);
    if (!valid_id(a.id))
      refuse(r.path_of("id"), "must be 1 to " + std::to_string(k_max_id_length) +
                                  " letters, digits, '_', '-' or '.'" + r.line_of("id"));
    if (auto [it, fresh] = ids.emplace(a.id, path); !fresh)
      refuse(r.path_of("id"),
             "duplicate agent id " + quote(a.id) + " (also " + it->second + ")" + r.line_of("id"));
    a.name = a.id;
    read_string(r, "name", a.name);
    if (a.name.empty())
      a.name = a.id;
    if (r.find("api_key") == nullptr)
      refuse(r.path_of("api_key"), "is required" + at_line(node->items[i]));
    read_non_empty(r, "api_key", a.api_key);
    if (!cfg.development() && a.api_key.size() < k_production_secret_length)
      refuse(r.path_of("api_key"), "must be at least " +
                                       std::to_string(k_production_secret_length) +
                                       " characters in production" + r.line_of("api_key"));
    if (auto [it, fresh] = keys.emplace(a.api_key, path); !fresh)
      refuse(r.path_of("api_key"),
             "duplicate api_key (also used by " + it->second + ")" + r.line_of("api_key"));
    read_int(r, "rate_limit_per_minute", a.rate_limit_per_minute, 0, k_max_rate_limit);
    read_int(r, "markup_bps", a.markup_bps, k_no_markup_override, k_max_markup_bps);
    if (const raw_node* n = r.find("credit_limit"); n != nullptr) {
      const std::string& text =
          scalar_of(*n, r.path_of("credit_limit"), "a decimal amount such as \"50000.00\"");
      auto minor = domain::parse_amount(text, cfg.pricing.default_currency);
      if (!minor || *minor < 0)
        refuse(r.path_of("credit_limit"),
               "expected a non-negative amount in " + cfg.pricing.default_currency +
                   " such as \"50000.00\", got " + quote(text) + at_line(*n));
      a.credit_limit_minor = *minor;
    }
    out.push_back(std::move(a));
  }
}

/// Development: demo agents and token. Production: no demo data, secrets required.
void apply_mode(bedbank_config& cfg, const raw_node* server_node) {
  std::string line;
  if (server_node != nullptr && server_node->type == raw_node::kind::map)
    if (const raw_node* n = find_value(*server_node, "admin_token"); n != nullptr)
      line = at_line(*n);
  if (cfg.development()) {
    if (cfg.server.admin_token.empty())
      cfg.server.admin_token = std::string{k_demo_admin_token};
    int64_t scale = 1;
    for (int i = 0; i < domain::currency_exponent(cfg.pricing.default_currency).value_or(0); ++i)
      scale *= k_decimal_base;
    for (const auto& demo : k_demo_agents) {
      bool taken = std::any_of(cfg.agents.begin(), cfg.agents.end(), [&](const agent_config& a) {
        return a.id == demo.id || a.api_key == demo.api_key;
      });
      if (taken)
        continue;
      agent_config a;
      a.id = demo.id;
      a.name = demo.name;
      a.api_key = demo.api_key;
      a.credit_limit_minor = k_demo_credit_units * scale;
      cfg.agents.push_back(std::move(a));
    }
    return;
  }
  if (cfg.server.admin_token.empty())
    refuse("server.admin_token",
           "must be set in production (e.g. admin_token: ${ADMIN_TOKEN})" + line);
  if (cfg.server.admin_token.size() < k_production_secret_length)
    refuse("server.admin_token", "must be at least " + std::to_string(k_production_secret_length) +
                                     " characters in production" + line);
  if (cfg.server.admin_token == k_demo_admin_token)
    refuse("server.admin_token", "the demo token is not allowed in production" + line);
}

bedbank_config validate(const raw_node& root) {
  if (root.type != raw_node::kind::map && root.type != raw_node::kind::null)
    refuse("", "the configuration must be a map of sections, got " + describe(root));
  map_reader top(&root, "",
                 {"server", "database", "redis", "clickhouse", "pricing", "inventory", "risk",
                  "orders", "log", "trace", "cluster", "supervision", "suppliers", "agents"});
  bedbank_config cfg;
  read_server(top.find("server"), cfg.server);
  read_database(top.find("database"), cfg.database);
  read_redis(top.find("redis"), cfg.redis);
  read_clickhouse(top.find("clickhouse"), cfg.clickhouse);
  read_pricing(top.find("pricing"), cfg.pricing);
  read_inventory(top.find("inventory"), cfg.inventory);
  read_risk(top.find("risk"), cfg.risk);
  read_orders(top.find("orders"), cfg.orders);
  read_log(top.find("log"), cfg.log);
  read_trace(top.find("trace"), cfg.trace);
  read_cluster(top.find("cluster"), cfg.server, cfg.cluster);
  read_supervision(top.find("supervision"), cfg.supervision);
  read_suppliers(top.find("suppliers"), cfg.pricing.max_concurrent, cfg.suppliers);
  read_agents(top.find("agents"), cfg, cfg.agents);
  apply_mode(cfg, top.find("server"));
  return cfg;
}

/// parse_config with a name for the text in syntax errors ("" for inline text).
config_result parse_named(const std::string& yaml_text, const std::vector<std::string>& overrides,
                          const std::string& source) {
  std::vector<std::string> override_texts;
  try {
    YAML::Node doc;
    try {
      doc = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
      std::string where = source.empty() ? "" : source + ":";
      return config_error{"", where + "line " + std::to_string(e.mark.line + 1) + ", column " +
                                  std::to_string(e.mark.column + 1) +
                                  ": YAML syntax error: " + e.msg};
    }
    raw_node root = from_yaml(doc, "", true);
    substitute_tree(root, "");
    for (const auto& o : overrides) {
      override_texts.push_back(o);
      apply_override(root, o);
    }
    return validate(root);
  } catch (refusal& r) {
    for (const auto& o : override_texts) {
      std::string key = override_key(o);
      if (r.error.message.find("override") == std::string::npos &&
          (path_within(r.error.key, key) || path_within(key, r.error.key))) {
        r.error.message += " (from --set " + o + ")";
        break;
      }
    }
    return r.error;
  } catch (const YAML::Exception& e) {
    return config_error{"", std::string{"YAML error: "} + e.what()};
  }
}

// -- conninfo --------------------------------------------------------------------------

/// A libpq conninfo value, single-quoted when it has spaces, quotes or backslashes.
std::string conninfo_value(const std::string& value) {
  bool plain = !value.empty() && std::none_of(value.begin(), value.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) || c == '\'' || c == '\\';
  });
  if (plain)
    return value;
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

} // namespace

std::string database_config::conninfo() const {
  std::string out = "host=" + conninfo_value(host) + " port=" + std::to_string(port) +
                    " user=" + conninfo_value(user) + " dbname=" + conninfo_value(dbname);
  if (!password.empty())
    out += " password=" + conninfo_value(password);
  // Every statement bedbank runs is a short index lookup: PostgreSQL's JIT (on by default,
  // triggered by cost estimates) would spend ~13 ms compiling a report's 0.3 ms span read.
  out += " options='-c jit=off'";
  return out;
}

const supplier_config* bedbank_config::supplier(const std::string& code) const {
  for (const auto& s : suppliers)
    if (s.code == code)
      return &s;
  return nullptr;
}

std::string config_error::to_string() const {
  if (key.empty())
    return "config: " + message;
  return "config: " + key + ": " + message;
}

config_result parse_config(const std::string& yaml_text,
                           const std::vector<std::string>& overrides) {
  return parse_named(yaml_text, overrides, "");
}

config_result load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return config_error{"", "cannot read " + path + ": " + std::strerror(errno)};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    return config_error{"", "cannot read " + path + ": " + std::strerror(errno)};
  return parse_named(text.str(), overrides, path);
}

bool is_mock_scenario(std::string_view name) {
  for (std::string_view s : {"ok", "price_changed", "sold_out", "booking_error", "slow_booking",
                             "answer_lost", "cancel_refused"})
    if (s == name)
      return true;
  return false;
}

} // namespace bedbank::config
