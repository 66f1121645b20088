// trace_report: one report of traces as JSON, as a self-contained HTML waterfall and as
// terminal text; its OTLP/JSON export; and the scrubbing of secrets out of span data.
// Pure functions; nothing throws on odd span data (invalid UTF-8 is replaced on dump).
#include "protocols/trace_report.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "domain/dates.hpp"
#include "domain/money.hpp"
#include "protocols/agent_json.hpp"
#include "protocols/order_json.hpp"

namespace bedbank::trace_report_format {

using nlohmann::json;

namespace {

// -- constants ------------------------------------------------------------------------

constexpr int64_t us_per_ms = 1000;
constexpr int64_t ns_per_us = 1000;

/// What a secret value becomes.
constexpr std::string_view redacted = "[redacted]";
/// Digits of a payment card number (ISO/IEC 7812) and how many of them stay visible.
constexpr size_t min_card_digits = 13;
constexpr size_t max_card_digits = 19;
constexpr size_t card_visible_digits = 4;

/// Longest request/response text shown in one HTML detail view (characters).
constexpr size_t max_detail_chars = 64 * 1024;
/// Longest error detail printed on one terminal line (bytes).
constexpr size_t max_text_error_chars = 160;
/// Tree indentation stops growing past this depth (the JSON tree's own limit).
constexpr int max_display_depth = agent_json::max_trace_depth;
/// About this many ticks on a trace's time ruler.
constexpr int64_t target_ticks = 8;
/// Percentages in the HTML are written with this many decimals.
constexpr int64_t pct_scale = 10000;

/// OTLP/JSON enums (opentelemetry-proto trace/v1/trace.proto), written as integers.
constexpr int otlp_kind_internal = 1;
constexpr int otlp_kind_server = 2;
constexpr int otlp_kind_client = 3;
constexpr int otlp_status_unset = 0;
constexpr int otlp_status_ok = 1;
constexpr int otlp_status_error = 2;

/// Key names (normalised: lower case, without '-' and '_') whose values are secrets.
const std::set<std::string, std::less<>> secret_keys{"apikey",
                                                     "xapikey",
                                                     "authorization",
                                                     "proxyauthorization",
                                                     "password",
                                                     "passwd",
                                                     "secret",
                                                     "clientsecret",
                                                     "token",
                                                     "accesstoken",
                                                     "refreshtoken",
                                                     "idtoken",
                                                     "signature",
                                                     "xsignature",
                                                     "cardnumber",
                                                     "cardno",
                                                     "pan",
                                                     "cvv",
                                                     "cvc",
                                                     "cvv2",
                                                     "cvc2",
                                                     "securitycode",
                                                     "cardholdername",
                                                     "expiry",
                                                     "expirydate",
                                                     "expiration",
                                                     "expirationdate",
                                                     "cardexpiry",
                                                     "cardexpiration",
                                                     "card"};

/// Lower-case substrings of which at least one occurs in the raw text of every secret key
/// above (as services spell them: api_key, X-Api-Key, access_token, card_number, ...).
constexpr std::string_view secret_markers[] = {"api",   "auth",      "passw",    "secret",
                                               "token", "signature", "card",     "pan",
                                               "cvv",   "cvc",       "security", "expir"};

// -- small helpers ------------------------------------------------------------------------

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Serialises without throwing on invalid UTF-8 (it is replaced).
std::string dump(const json& v, int indent = -1) {
  return v.dump(indent, ' ', false, json::error_handler_t::replace);
}

/// `us` as milliseconds with up to three decimals, trailing zeros dropped ("12.5", "0.042").
std::string format_ms(int64_t us) {
  std::string out = us < 0 ? "-" : "";
  uint64_t a = us < 0 ? static_cast<uint64_t>(-(us + 1)) + 1 : static_cast<uint64_t>(us);
  out += std::to_string(a / us_per_ms);
  auto frac = std::to_string(a % us_per_ms);
  frac.insert(0, 3 - frac.size(), '0');
  while (!frac.empty() && frac.back() == '0')
    frac.pop_back();
  if (!frac.empty())
    out += '.' + frac;
  return out;
}

/// `us` as milliseconds with exactly three decimals ("12.500"), for aligned columns.
std::string fixed_ms(int64_t us) {
  std::string out = us < 0 ? "-" : "";
  uint64_t a = us < 0 ? static_cast<uint64_t>(-(us + 1)) + 1 : static_cast<uint64_t>(us);
  out += std::to_string(a / us_per_ms);
  auto frac = std::to_string(a % us_per_ms);
  frac.insert(0, 3 - frac.size(), '0');
  return out + '.' + frac;
}

/// `s` right-aligned in `width` characters.
std::string pad_left(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

/// `s` left-aligned in `width` bytes.
std::string pad_right(std::string s, size_t width) {
  if (s.size() < width)
    s.append(width - s.size(), ' ');
  return s;
}

/// 100 * num / den as a CSS percentage with four decimals, clamped to [0, 100].
std::string percent(int64_t num, int64_t den) {
  if (den <= 0)
    return "0%";
  double ratio = std::clamp(static_cast<double>(num) / static_cast<double>(den), 0.0, 1.0);
  auto v = static_cast<int64_t>(std::llround(ratio * 100.0 * pct_scale));
  auto frac = std::to_string(v % pct_scale);
  frac.insert(0, 4 - frac.size(), '0');
  return std::to_string(v / pct_scale) + '.' + frac + '%';
}

/// A "nice" ruler step (1, 2 or 5 times a power of ten microseconds) for a span of `total`.
int64_t tick_step(int64_t total) {
  int64_t raw = std::max<int64_t>(1, total / target_ticks);
  int64_t magnitude = 1;
  while (magnitude <= raw / 10)
    magnitude *= 10;
  for (int64_t m : {1, 2, 5, 10})
    if (magnitude * m >= raw)
      return magnitude * m;
  return magnitude * 10;
}

bool failed_status(const std::string& status) {
  return status == "error" || status == "timeout";
}

/// The CSS class of a span status (never user text).
std::string_view status_class(const std::string& status) {
  if (status == "success")
    return "success";
  if (status == "error")
    return "error";
  if (status == "timeout")
    return "timeout";
  return "unknown";
}

/// The supplier a span talked to, when it names one.
std::string supplier_of(const span_record& s) {
  return s.related_type == "supplier" ? s.related_id : std::string{};
}

// -- redaction ------------------------------------------------------------------------------

/// Lower case without '-' and '_': "X-Api-Key" and "api_key" both become "xapikey"/"apikey".
std::string normalize_key(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key)
    if (c != '-' && c != '_')
      out += ascii_lower(c);
  return out;
}

bool is_secret_key(std::string_view key) {
  return secret_keys.count(normalize_key(key)) > 0;
}

/// The masked form of a card-number-like string (13–19 digits, spaces and dashes between
/// them, passing the Luhn check): all but the last four digits become '*'. Empty otherwise.
std::optional<std::string> mask_card_number(std::string_view s) {
  if (s.size() < min_card_digits || !is_digit(s.front()) || !is_digit(s.back()))
    return std::nullopt;
  std::string digits;
  for (char c : s) {
    if (is_digit(c))
      digits += c;
    else if (c != ' ' && c != '-')
      return std::nullopt;
    if (digits.size() > max_card_digits)
      return std::nullopt;
  }
  if (digits.size() < min_card_digits)
    return std::nullopt;
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (twice) {
      d *= 2;
      if (d > 9)
        d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  if (sum % 10 != 0)
    return std::nullopt;
  return std::string(digits.size() - card_visible_digits, '*') +
         digits.substr(digits.size() - card_visible_digits);
}

/// Sets `v` to "[redacted]" unless it is null or already redacted; true when it changed.
bool scrub(json& v) {
  if (v.is_null() || (v.is_string() && v.get_ref<const std::string&>() == redacted))
    return false;
  v = std::string{redacted};
  return true;
}

/// Redacts `root` in place without recursion (span data may nest deeply); true when anything
/// changed. Besides secret keys, a header given as {"name"|"key": "<secret name>", "value": x}
/// has its value scrubbed.
bool redact_tree(json& root) {
  bool changed = false;
  std::vector<json*> todo{&root};
  while (!todo.empty()) {
    json* v = todo.back();
    todo.pop_back();
    if (v->is_object()) {
      for (const char* name_key : {"name", "key"}) {
        auto n = v->find(name_key);
        auto value = v->find("value");
        if (n != v->end() && value != v->end() && n->is_string() &&
            is_secret_key(n->get_ref<const std::string&>()))
          changed = scrub(*value) || changed;
      }
      for (auto it = v->begin(); it != v->end(); ++it) {
        if (is_secret_key(it.key()))
          changed = scrub(it.value()) || changed;
        else if (it->is_structured() || it->is_string())
          todo.push_back(&it.value());
      }
    } else if (v->is_array()) {
      for (auto& e : *v)
        if (e.is_structured() || e.is_string())
          todo.push_back(&e);
    } else if (v->is_string()) {
      if (auto masked = mask_card_number(v->get_ref<const std::string&>())) {
        *v = std::move(*masked);
        changed = true;
      }
    }
  }
  return changed;
}

/// True when `text` may hold something `redact` would change: a secret marker (any case) or
/// a run of at least 13 digits with spaces or dashes between them.
bool may_hold_secret(std::string_view text) {
  size_t run_digits = 0;
  for (char c : text) {
    if (is_digit(c)) {
      if (++run_digits >= min_card_digits)
        return true;
    } else if (c != ' ' && c != '-') {
      run_digits = 0;
    }
  }
  std::string lower(text.size(), '\0');
  std::transform(text.begin(), text.end(), lower.begin(), ascii_lower);
  return std::any_of(std::begin(secret_markers), std::end(secret_markers),
                     [&](std::string_view m) { return lower.find(m) != std::string::npos; });
}

// -- trace views ------------------------------------------------------------------------

/// One span in tree order: its index in the view's spans, its depth and, for the terminal,
/// the box-drawing guide in front of it ("│  ├─ ").
struct span_row {
  size_t index = 0;
  int depth = 0;
  std::string guide;
};

/// One trace laid out for rendering: spans in start order (data redacted when asked), the
/// depth-first tree order, the time axis and the summary facts.
struct trace_view {
  std::string trace_id;
  std::vector<span_record> spans;
  std::vector<span_row> rows;
  int64_t start_us = 0;
  int64_t end_us = 0;
  bool failed = false;
  std::string root_event;
  int64_t hot_spans = 0;
  int64_t cold_spans = 0;

  int64_t duration_us() const { return end_us - start_us; }
};

/// Orders the spans as `agent_json::encode_trace_tree` does: siblings by start, a span whose
/// parent is missing (or itself) is a root, spans caught in a parent cycle become roots last.
void lay_out(trace_view& v) {
  auto& spans = v.spans;
  std::stable_sort(spans.begin(), spans.end(),
                   [](const auto& a, const auto& b) { return a.started_us < b.started_us; });
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < spans.size(); ++i)
    index.emplace(spans[i].span_id, i);
  std::vector<std::vector<size_t>> children(spans.size());
  std::vector<size_t> roots;
  for (size_t i = 0; i < spans.size(); ++i) {
    auto p = spans[i].parent_span_id.empty() ? index.end() : index.find(spans[i].parent_span_id);
    if (p == index.end() || p->second == i)
      roots.push_back(i);
    else
      children[p->second].push_back(i);
  }
  if (!roots.empty())
    v.root_event = spans[roots.front()].event_type;
  // Depth-first without recursion: (span, depth, last among its siblings, parent's guide).
  struct frame {
    size_t index;
    int depth;
    bool last;
    std::string guide;
  };
  std::vector<bool> seen(spans.size(), false);
  std::vector<frame> todo;
  auto walk = [&](size_t root) {
    todo.push_back(frame{root, 0, true, {}});
    while (!todo.empty()) {
      frame f = std::move(todo.back());
      todo.pop_back();
      if (seen[f.index])
        continue;
      seen[f.index] = true;
      std::string own = f.depth == 0 ? std::string{} : f.guide + (f.last ? "└─ " : "├─ ");
      std::string below = f.depth == 0 || f.depth >= max_display_depth
                              ? f.guide
                              : f.guide + (f.last ? "   " : "│  ");
      v.rows.push_back(span_row{f.index, f.depth, std::move(own)});
      std::vector<size_t> kids;
      for (size_t c : children[f.index])
        if (!seen[c])
          kids.push_back(c);
      int depth = std::min(f.depth + 1, max_display_depth);
      for (size_t k = kids.size(); k-- > 0;)
        todo.push_back(frame{kids[k], depth, k + 1 == kids.size(), below});
    }
  };
  for (size_t r : roots)
    walk(r);
  for (size_t i = 0; i < spans.size(); ++i)
    if (!seen[i])
      walk(i);
}

/// The view of one trace group; `redact_data` runs span data through `redact_text`.
trace_view make_view(const trace_group& g, bool redact_data) {
  trace_view v;
  v.trace_id = g.trace_id;
  v.spans = g.spans;
  v.hot_spans = g.hot_spans;
  v.cold_spans = g.cold_spans;
  if (v.trace_id.empty() && !g.spans.empty())
    v.trace_id = g.spans.front().trace_id;
  for (auto& s : v.spans) {
    if (redact_data) {
      s.request_data = redact_text(s.request_data);
      s.response_data = redact_text(s.response_data);
    }
    v.failed = v.failed || failed_status(s.status);
  }
  if (!v.spans.empty()) {
    v.start_us = v.spans.front().started_us;
    v.end_us = v.start_us;
    for (const auto& s : v.spans) {
      v.start_us = std::min(v.start_us, s.started_us);
      v.end_us = std::max(v.end_us, s.started_us + std::max<int64_t>(0, s.duration_us));
    }
  }
  lay_out(v);
  return v;
}

std::vector<trace_view> make_views(const trace_report& r, bool redact_data) {
  std::vector<trace_view> out;
  out.reserve(r.traces.size());
  for (const auto& g : r.traces)
    out.push_back(make_view(g, redact_data));
  return out;
}

size_t total_spans(const std::vector<trace_view>& views) {
  size_t n = 0;
  for (const auto& v : views)
    n += v.spans.size();
  return n;
}

json sources_of(const trace_report& r) {
  int64_t hot = 0;
  int64_t cold = 0;
  for (const auto& g : r.traces) {
    hot += g.hot_spans;
    cold += g.cold_spans;
  }
  return json{{"postgresql", hot}, {"clickhouse", cold}};
}

/// The subject's noun for titles: "Order", "Trace", "Hotel".
std::string subject_noun(const std::string& kind) {
  if (kind == "order")
    return "Order";
  if (kind == "hotel")
    return "Hotel";
  if (kind == "trace")
    return "Trace";
  return kind.empty() ? std::string{"Report"} : kind;
}

std::string instant_or_dash(int64_t us) {
  return us == 0 ? std::string{"—"} : domain::format_instant_us(us);
}

// -- JSON ---------------------------------------------------------------------------------

/// One trace of an order or hotel report.
json encode_trace_entry(const trace_view& v) {
  json tree = agent_json::encode_trace_tree(v.trace_id, v.spans);
  bool empty = v.spans.empty();
  return json{
      {"trace_id", v.trace_id},
      {"started_at", empty ? json(nullptr) : json(domain::format_instant_us(v.start_us))},
      {"ended_at", empty ? json(nullptr) : json(domain::format_instant_us(v.end_us))},
      {"duration_ms", static_cast<double>(v.duration_us()) / static_cast<double>(us_per_ms)},
      {"span_count", v.spans.size()},
      {"root_event", v.root_event.empty() ? json(nullptr) : json(v.root_event)},
      {"status", v.failed ? "error" : "success"},
      {"spans", std::move(tree["spans"])}};
}

// -- HTML ---------------------------------------------------------------------------------

/// Escapes text for HTML content and double- or single-quoted attribute values.
std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

/// Span data pretty-printed for a detail view (JSON indented; other text as it is).
std::string pretty_data(const std::string& text) {
  if (text.empty())
    return "(none)";
  auto v = json::parse(text, nullptr, false);
  std::string out = v.is_discarded() ? text : dump(v, 2);
  if (out.size() > max_detail_chars) {
    auto total = out.size();
    out.resize(max_detail_chars);
    out += "\n… (" + std::to_string(total - max_detail_chars) + " more characters)";
  }
  return out;
}

constexpr std::string_view html_style = R"CSS(
:root{--ok:#2f9e44;--err:#e03131;--tmo:#f08c00;--unk:#868e96;--bg:#fff;--fg:#212529;
--mut:#6c757d;--line:#dee2e6;--soft:#f8f9fa;--open:#e7f5ff;--label:minmax(240px,38%)}
@media (prefers-color-scheme:dark){:root{--bg:#1a1b1e;--fg:#e9ecef;--mut:#909296;
--line:#373a40;--soft:#25262b;--open:#1c2b3a}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header,main{max-width:1600px;margin:0 auto;padding:0 24px}
header{padding-top:20px;padding-bottom:8px;border-bottom:1px solid var(--line)}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 4px}
h3{font-size:15px;margin:16px 0 6px}h4{font-size:12px;margin:6px 0 4px;color:var(--mut)}
code,pre,.mono,.ids{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
.meta{color:var(--mut);margin:4px 0}
.warn{color:var(--tmo);font-weight:600}
.legend{display:flex;gap:16px;flex-wrap:wrap;align-items:center;margin:8px 0;color:var(--mut)}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin-right:4px}
.sw.success{background:var(--ok)}.sw.error{background:var(--err)}.sw.timeout{background:var(--tmo)}
.sw.unknown{background:var(--unk)}
.tools button{font:inherit;margin-right:6px;padding:2px 10px;border:1px solid var(--line);
border-radius:4px;background:var(--soft);color:var(--fg);cursor:pointer}
section{margin:20px 0}
.order dl{display:grid;grid-template-columns:max-content 1fr max-content 1fr;gap:4px 16px;margin:8px 0}
.order dt{color:var(--mut)}.order dd{margin:0}
table{border-collapse:collapse;width:100%;margin:4px 0}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--mut);font-weight:600;font-size:12px}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;background:var(--soft);
border:1px solid var(--line)}
.badge.success{color:var(--ok)}.badge.error{color:var(--err)}.badge.timeout{color:var(--tmo)}
.wf{border:1px solid var(--line);border-radius:6px;overflow:hidden;margin-top:8px}
.ruler,.span>summary{display:grid;grid-template-columns:var(--label) 1fr 96px;align-items:center}
.ruler{background:var(--soft);border-bottom:1px solid var(--line);height:24px;font-size:11px;
color:var(--mut)}
.ruler .rl{padding-left:8px}
.axis{position:relative;height:100%;overflow:hidden}
.tick{position:absolute;top:0;bottom:0;border-left:1px solid var(--line);padding:4px 0 0 3px;
white-space:nowrap}
.tick.end{left:auto;right:0;border-left:0;border-right:1px solid var(--line);padding:4px 3px 0 0}
.span{border-bottom:1px solid var(--line)}.span:last-child{border-bottom:0}
.span>summary{list-style:none;cursor:pointer;min-height:24px}
.span>summary::-webkit-details-marker{display:none}
.span>summary:hover{background:var(--soft)}.span[open]>summary{background:var(--open)}
.label{display:block;padding-left:calc(var(--d,0) * 14px + 8px);white-space:nowrap;overflow:hidden;
text-overflow:ellipsis}
.label::before{content:"▸ ";color:var(--mut)}.span[open] .label::before{content:"▾ "}
.ev{font-weight:600}.svc{color:var(--mut);margin-left:6px}
.sup{margin-left:6px;padding:0 5px;border-radius:3px;background:var(--soft);border:1px solid var(--line);
font-size:12px}
.st{margin-left:6px;font-size:12px}
.span.success .st{color:var(--ok)}.span.error .st{color:var(--err)}
.span.timeout .st{color:var(--tmo)}.span.unknown .st{color:var(--unk)}
.track{display:block;position:relative;height:24px;overflow:hidden}
.bar{position:absolute;top:6px;height:12px;min-width:2px;border-radius:2px;background:var(--unk)}
.span.success .bar{background:var(--ok)}.span.error .bar{background:var(--err)}
.span.timeout .bar{background:var(--tmo)}
.dur{display:block;text-align:right;padding-right:8px;font-variant-numeric:tabular-nums;
font-size:12px;color:var(--mut)}
.err{display:block;grid-column:1/-1;padding:0 8px 4px calc(var(--d,0) * 14px + 22px);
color:var(--err);font-size:12px;white-space:pre-wrap;word-break:break-word}
.detail{padding:8px 16px 12px calc(var(--d,0) * 14px + 22px);background:var(--soft);
border-top:1px dashed var(--line)}
.detail dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0 0 6px}
.detail dt{color:var(--mut)}.detail dd{margin:0}
.data{display:grid;grid-template-columns:1fr 1fr;gap:12px}
@media (max-width:900px){.data{grid-template-columns:1fr}}
pre{margin:0;padding:8px;max-height:420px;overflow:auto;background:var(--bg);border:1px solid var(--line);
border-radius:4px;white-space:pre-wrap;word-break:break-all;font-size:12px}
.only-failed .span.success{display:none}
)CSS";

constexpr std::string_view html_script = R"JS(
document.addEventListener('click',function(e){var a=e.target&&e.target.getAttribute&&
e.target.getAttribute('data-act');if(!a)return;document.querySelectorAll('details.span')
.forEach(function(d){d.open=(a==='expand');});});
document.addEventListener('change',function(e){if(e.target&&e.target.id==='only-failed')
document.body.classList.toggle('only-failed',e.target.checked);});
)JS";

void html_order(std::string& out, const order_record& o) {
  auto row = [&](std::string_view k1, const std::string& v1, std::string_view k2,
                 const std::string& v2) {
    out += "<dt>";
    out += k1;
    out += "</dt><dd>" + v1 + "</dd><dt>";
    out += k2;
    out += "</dt><dd>" + v2 + "</dd>";
  };
  auto or_dash = [](const std::string& s) { return s.empty() ? std::string{"—"} : esc(s); };
  std::string status = "<span class=\"badge\">" + esc(o.status) + "</span>";
  std::string hotel = "<code>" + esc(o.hotel_id) + "</code>";
  if (!o.room_name.empty())
    hotel += " · " + esc(o.room_name);
  if (!o.board.empty())
    hotel += " · " + esc(o.board);
  std::string dates = esc(domain::format_date(o.check_in)) + " → " +
                      esc(domain::format_date(o.check_out)) + " (" +
                      std::to_string(o.check_out - o.check_in) + " nights)";
  std::string price = esc(domain::format_amount(o.price_minor, o.currency)) + " " + esc(o.currency);
  if (!o.net_currency.empty())
    price += " <span class=\"meta\">(net " +
             esc(domain::format_amount(o.net_minor, o.net_currency)) + " " + esc(o.net_currency) +
             ")</span>";
  out += "<section class=\"order\"><h2>Order summary</h2><dl>";
  row("Order", "<code>" + esc(o.order_id) + "</code>", "Agent",
      "<code>" + or_dash(o.agent_id) + "</code>");
  row("Status", status, "Reason", or_dash(o.status_reason));
  row("Supplier", or_dash(o.supplier), "Supplier ref",
      "<code>" + or_dash(o.supplier_ref) + "</code>");
  row("Hotel", hotel, "Dates", dates);
  row("Price", price, "Client reference", or_dash(o.client_reference));
  row("Created", esc(instant_or_dash(o.created_us)), "Updated", esc(instant_or_dash(o.updated_us)));
  out += "</dl><h3>Status history</h3><table class=\"history\"><thead><tr><th>Time</th>"
         "<th>From</th><th>To</th><th>Event</th><th>Reason</th><th>Trace</th></tr></thead><tbody>";
  for (const auto& h : o.history) {
    out += "<tr><td class=\"mono\">" + esc(domain::format_instant_us(h.at_us)) + "</td><td>" +
           or_dash(h.from_status) + "</td><td><span class=\"badge\">" + esc(h.to_status) +
           "</span></td><td>" + esc(h.event) + "</td><td>" + or_dash(h.reason) + "</td><td>";
    if (!h.trace_id.empty())
      out +=
          "<a class=\"mono\" href=\"#trace-" + esc(h.trace_id) + "\">" + esc(h.trace_id) + "</a>";
    out += "</td></tr>";
  }
  if (o.history.empty())
    out += "<tr><td colspan=\"6\" class=\"meta\">no recorded transitions</td></tr>";
  out += "</tbody></table></section>";
}

void html_ruler(std::string& out, const trace_view& v) {
  int64_t total = std::max<int64_t>(1, v.duration_us());
  int64_t step = tick_step(total);
  out += "<div class=\"ruler\"><span class=\"rl\">span</span><span class=\"axis\">";
  // Ticks before the last 15% only, so their labels do not run into the end label.
  for (int64_t t = 0; t * 100 < total * 85; t += step)
    out += "<span class=\"tick\" style=\"left:" + percent(t, total) + "\">" + format_ms(t) +
           " ms</span>";
  out += "<span class=\"tick end\">" + format_ms(v.duration_us()) + " ms</span>";
  out += "</span><span class=\"dur\">duration</span></div>";
}

void html_span(std::string& out, const trace_view& v, const span_row& row) {
  const auto& s = v.spans[row.index];
  int64_t total = std::max<int64_t>(1, v.duration_us());
  int64_t offset = s.started_us - v.start_us;
  auto cls = status_class(s.status);
  auto depth = std::to_string(row.depth);
  auto supplier = supplier_of(s);
  out += "<details class=\"span ";
  out += cls;
  out += "\" data-span-id=\"" + esc(s.span_id) + "\" data-trace-id=\"" + esc(v.trace_id) +
         "\" data-parent-span-id=\"" + esc(s.parent_span_id) + "\" data-status=\"" + esc(s.status) +
         "\" data-depth=\"" + depth + "\" style=\"--d:" + depth + "\"><summary>";
  out += "<span class=\"label\"><span class=\"ev\">" + esc(s.event_type) +
         "</span><span class=\"svc\">" + esc(s.service) + "</span>";
  if (!supplier.empty())
    out += "<span class=\"sup\">" + esc(supplier) + "</span>";
  out += "<span class=\"st\">" + esc(s.status) + "</span></span>";
  out += "<span class=\"track\"><span class=\"bar\" style=\"left:" + percent(offset, total) +
         ";width:" + percent(std::max<int64_t>(0, s.duration_us), total) + "\" title=\"" +
         esc(s.event_type) + " · +" + format_ms(offset) + " ms · " + format_ms(s.duration_us) +
         " ms\"></span></span>";
  out += "<span class=\"dur\">" + format_ms(s.duration_us) + " ms</span>";
  if (!s.error_detail.empty())
    out += "<span class=\"err\">" + esc(s.error_detail) + "</span>";
  out += "</summary><div class=\"detail\"><dl>";
  auto kv = [&](std::string_view k, const std::string& html) {
    out += "<dt>";
    out += k;
    out += "</dt><dd>" + html + "</dd>";
  };
  kv("span id", "<code>" + esc(s.span_id) + "</code>");
  kv("parent", s.parent_span_id.empty() ? std::string{"— (root)"}
                                        : "<code>" + esc(s.parent_span_id) + "</code>");
  kv("service", esc(s.service) + (s.node.empty() ? "" : " on <code>" + esc(s.node) + "</code>"));
  if (!s.related_type.empty() || !s.related_id.empty())
    kv("related", esc(s.related_type) + " <code>" + esc(s.related_id) + "</code>");
  if (!s.agent_id.empty())
    kv("agent", "<code>" + esc(s.agent_id) + "</code>");
  kv("started", "<code>" + esc(domain::format_instant_us(s.started_us)) + "</code> (+" +
                    format_ms(offset) + " ms)");
  kv("duration", format_ms(s.duration_us) + " ms");
  kv("status", esc(s.status));
  if (!s.error_detail.empty())
    kv("error", esc(s.error_detail));
  out += "</dl><div class=\"data\"><div><h4>request_data</h4><pre>" +
         esc(pretty_data(s.request_data)) + "</pre></div><div><h4>response_data</h4><pre>" +
         esc(pretty_data(s.response_data)) + "</pre></div></div></div></details>";
}

void html_trace(std::string& out, const trace_view& v) {
  out += "<section class=\"trace\" id=\"trace-" + esc(v.trace_id) + "\" data-trace-id=\"" +
         esc(v.trace_id) + "\"><h2>Trace <code>" + esc(v.trace_id) + "</code></h2>";
  out += "<p class=\"meta\">";
  if (!v.spans.empty())
    out += "started <code>" + esc(domain::format_instant_us(v.start_us)) + "</code> · ";
  out += "duration " + format_ms(v.duration_us()) + " ms · " + std::to_string(v.spans.size()) +
         " spans";
  if (!v.root_event.empty())
    out += " · root " + esc(v.root_event);
  out += std::string{" · <span class=\"badge "} +
         (v.failed ? "error\">error" : "success\">success") + "</span>";
  if (v.cold_spans > 0)
    out += " · " + std::to_string(v.cold_spans) + " from the archive";
  out += "</p><div class=\"wf\">";
  html_ruler(out, v);
  for (const auto& row : v.rows)
    html_span(out, v, row);
  if (v.rows.empty())
    out += "<p class=\"meta\" style=\"padding:8px\">no spans recorded</p>";
  out += "</div></section>";
}

// -- text ----------------------------------------------------------------------------------

constexpr std::string_view ansi_reset = "\x1b[0m";
constexpr std::string_view ansi_bold = "\x1b[1m";
constexpr std::string_view ansi_dim = "\x1b[2m";
constexpr std::string_view ansi_red = "\x1b[31m";
constexpr std::string_view ansi_green = "\x1b[32m";
constexpr std::string_view ansi_yellow = "\x1b[33m";

/// Text safe for a terminal: control characters (C0, DEL and the UTF-8 encoded C1 range,
/// which holds escape introducers) become '?', line breaks and tabs a space; cut to `limit`.
std::string term_safe(std::string_view s, size_t limit = std::string::npos) {
  std::string out;
  out.reserve(std::min(s.size(), limit));
  for (size_t i = 0; i < s.size() && out.size() < limit; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    auto next = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0;
    if (c == '\n' || c == '\r' || c == '\t') {
      out += ' ';
    } else if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {
      out += '?';
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (out.size() >= limit && s.size() > limit) {
    // Do not leave half a UTF-8 sequence behind.
    size_t end = out.size();
    while (end > 0 && (static_cast<unsigned char>(out[end - 1]) & 0xc0) == 0x80)
      --end;
    if (end > 0 && static_cast<unsigned char>(out[end - 1]) >= 0xc0)
      out.resize(end - 1);
    out += "…";
  }
  return out;
}

/// Paints terminal text when colours are on.
struct painter {
  bool color = false;

  std::string operator()(std::string_view code, const std::string& text) const {
    if (!color)
      return text;
    std::string out{code};
    out += text;
    out += ansi_reset;
    return out;
  }

  std::string status(const std::string& s) const {
    auto safe = term_safe(s);
    if (s == "success")
      return (*this)(ansi_green, safe);
    if (s == "timeout")
      return (*this)(ansi_yellow, safe);
    if (s == "error")
      return (*this)(ansi_red, safe);
    return safe;
  }
};

void text_order(std::string& out, const order_record& o, const painter& p) {
  auto dash = [](const std::string& s) { return s.empty() ? std::string{"-"} : term_safe(s); };
  out += "  order     " + p(ansi_bold, term_safe(o.order_id)) + "  agent " + dash(o.agent_id) +
         "  client ref " + dash(o.client_reference) + "\n";
  out += "  status    " + p.status(o.status) + "  reason " + dash(o.status_reason) + "\n";
  out += "  supplier  " + dash(o.supplier) + "  ref " + dash(o.supplier_ref) + "\n";
  out += "  hotel     " + dash(o.hotel_id);
  if (!o.room_name.empty())
    out += "  " + term_safe(o.room_name);
  if (!o.board.empty())
    out += " (" + term_safe(o.board) + ")";
  out += "\n  dates     " + domain::format_date(o.check_in) + " → " +
         domain::format_date(o.check_out) + "\n";
  out += "  price     " + domain::format_amount(o.price_minor, o.currency) + " " +
         term_safe(o.currency) + "\n";
  out += "  history\n";
  for (const auto& h : o.history) {
    std::string move = (h.from_status.empty() ? std::string{"(new)"} : term_safe(h.from_status)) +
                       " → " + term_safe(h.to_status);
    out += "    " + p(ansi_dim, domain::format_instant_us(h.at_us)) + "  " + pad_right(move, 28) +
           "  " + pad_right(term_safe(h.event), 14);
    if (!h.reason.empty())
      out += "  " + term_safe(h.reason);
    if (!h.trace_id.empty())
      out += "  " + p(ansi_dim, "trace " + term_safe(h.trace_id));
    out += "\n";
  }
  if (o.history.empty())
    out += "    (none)\n";
}

void text_trace(std::string& out, const trace_view& v, const painter& p) {
  out += "\n" + p(ansi_bold, "trace " + term_safe(v.trace_id));
  if (!v.spans.empty())
    out += "  started " + domain::format_instant_us(v.start_us);
  out += "  duration " + format_ms(v.duration_us()) + " ms  " + std::to_string(v.spans.size()) +
         " spans  " + (v.failed ? p(ansi_red, "error") : p(ansi_green, "success")) + "\n";
  for (const auto& row : v.rows) {
    const auto& s = v.spans[row.index];
    std::string line = "  +" + pad_left(fixed_ms(s.started_us - v.start_us), 10) + " ms  ";
    line += p(ansi_dim, row.guide) + p(ansi_bold, term_safe(s.event_type)) + "  " +
            term_safe(s.service);
    if (!s.related_id.empty())
      line += "  " + term_safe(s.related_type) + ":" + term_safe(s.related_id);
    line += "  " + p.status(s.status) + "  " + fixed_ms(s.duration_us) + " ms";
    if (!s.error_detail.empty())
      line += "  " + p(ansi_red, "— " + term_safe(s.error_detail, max_text_error_chars));
    line += "  " + p(ansi_dim, "#" + term_safe(s.span_id));
    out += line + "\n";
  }
  if (v.rows.empty())
    out += "  (no spans)\n";
}

// -- OTLP ----------------------------------------------------------------------------------

json otlp_attr(std::string_view key, const std::string& value) {
  return json{{"key", key}, {"value", {{"stringValue", value}}}};
}

/// Unix nanoseconds as the decimal string OTLP/JSON wants for fixed64 (negatives become 0).
std::string unix_nanos(int64_t us) {
  return std::to_string(static_cast<uint64_t>(std::max<int64_t>(0, us)) *
                        static_cast<uint64_t>(ns_per_us));
}

json otlp_span(const span_record& s, const std::string& trace_id) {
  int kind = otlp_kind_internal;
  if (s.parent_span_id.empty() || s.service == "api_gateway")
    kind = otlp_kind_server;
  else if (s.service == "supplier_adapter")
    kind = otlp_kind_client;
  json attrs = json::array();
  auto put = [&](std::string_view key, const std::string& value) {
    if (!value.empty())
      attrs.push_back(otlp_attr(key, value));
  };
  put("bedbank.related_type", s.related_type);
  put("bedbank.related_id", s.related_id);
  put("bedbank.agent_id", s.agent_id);
  put("bedbank.status", s.status);
  put("bedbank.request_data", redact_text(s.request_data));
  put("bedbank.response_data", redact_text(s.response_data));
  put("error.detail", s.error_detail);
  json status{{"code", s.status == "success"     ? otlp_status_ok
                       : failed_status(s.status) ? otlp_status_error
                                                 : otlp_status_unset}};
  if (!s.error_detail.empty())
    status["message"] = s.error_detail;
  json out{{"traceId", s.trace_id.empty() ? trace_id : s.trace_id}, {"spanId", s.span_id}};
  if (!s.parent_span_id.empty())
    out["parentSpanId"] = s.parent_span_id;
  out["name"] = s.event_type;
  out["kind"] = kind;
  out["startTimeUnixNano"] = unix_nanos(s.started_us);
  out["endTimeUnixNano"] = unix_nanos(s.started_us + std::max<int64_t>(0, s.duration_us));
  out["attributes"] = std::move(attrs);
  out["status"] = std::move(status);
  return out;
}

json otlp_resource(const std::string& service, const std::string& node) {
  json attrs = json::array(
      {otlp_attr("service.name", "bedbank." + service), otlp_attr("service.namespace", "bedbank")});
  if (!node.empty()) {
    attrs.push_back(otlp_attr("host.name", node));
    attrs.push_back(otlp_attr("bedbank.node", node));
  }
  return json{{"attributes", std::move(attrs)}};
}

} // namespace

// -- public --------------------------------------------------------------------------------

void redact(json& j) {
  redact_tree(j);
}

bool redact_in_place(std::string& text) {
  if (text.empty() || !may_hold_secret(text))
    return false;
  auto v = json::parse(text, nullptr, false);
  if (v.is_discarded() || !redact_tree(v))
    return false;
  text = dump(v);
  return true;
}

std::string redact_text(std::string_view text) {
  if (text.empty() || !may_hold_secret(text))
    return std::string{text};
  auto v = json::parse(text, nullptr, false);
  if (v.is_discarded() || !redact_tree(v))
    return std::string{text};
  return dump(v);
}

json encode_report(const trace_report& r) {
  auto views = make_views(r, true);
  if (r.kind == "trace") {
    std::vector<span_record> spans;
    std::string trace_id = r.subject;
    for (auto& v : views) {
      if (trace_id.empty())
        trace_id = v.trace_id;
      spans.insert(spans.end(), std::make_move_iterator(v.spans.begin()),
                   std::make_move_iterator(v.spans.end()));
    }
    json out = agent_json::encode_trace_tree(trace_id, std::move(spans));
    out["sources"] = sources_of(r);
    return out;
  }
  json traces = json::array();
  for (const auto& v : views)
    traces.push_back(encode_trace_entry(v));
  json out;
  if (r.kind == "order") {
    out["order_id"] = r.subject.empty() && r.has_order ? r.order.order_id : r.subject;
    out["order"] = r.has_order ? order_json::encode_order(r.order) : json(nullptr);
  } else if (r.kind == "hotel") {
    out["hotel_id"] = r.subject;
    out["from"] = r.from_us == 0 ? json(nullptr) : json(domain::format_instant_us(r.from_us));
    out["to"] = r.to_us == 0 ? json(nullptr) : json(domain::format_instant_us(r.to_us));
  } else {
    out["kind"] = r.kind;
    out["subject"] = r.subject;
  }
  out["traces"] = std::move(traces);
  out["span_count"] = total_spans(views);
  out["sources"] = sources_of(r);
  out["truncated"] = r.truncated;
  return out;
}

std::string render_html(const trace_report& r) {
  auto views = make_views(r, true);
  auto noun = subject_noun(r.kind);
  auto sources = sources_of(r);
  std::string out;
  out.reserve(16 * 1024 + total_spans(views) * 2048);
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
         "<title>bedbank · " +
         esc(noun) + " " + esc(r.subject) + "</title><style>";
  out += html_style;
  out += "</style></head><body data-kind=\"" + esc(r.kind) + "\" data-subject=\"" + esc(r.subject) +
         "\"><header><h1>" + esc(noun) + " <code>" + esc(r.subject) + "</code></h1>";
  out += "<p class=\"meta\">" + std::to_string(views.size()) + " trace" +
         (views.size() == 1 ? "" : "s") + " · " + std::to_string(total_spans(views)) +
         " spans · postgresql " + dump(sources["postgresql"]) + " · clickhouse " +
         dump(sources["clickhouse"]);
  if (r.kind == "hotel")
    out += " · window " + esc(instant_or_dash(r.from_us)) + " → " + esc(instant_or_dash(r.to_us));
  out += "</p>";
  if (r.truncated)
    out += "<p class=\"warn\">Truncated: more traces or spans exist than this report carries.</p>";
  out += "<div class=\"legend\"><span><span class=\"sw success\"></span>success</span>"
         "<span><span class=\"sw error\"></span>error</span>"
         "<span><span class=\"sw timeout\"></span>timeout</span>"
         "<span><span class=\"sw unknown\"></span>other</span>"
         "<span class=\"tools\"><button type=\"button\" data-act=\"expand\">Expand all</button>"
         "<button type=\"button\" data-act=\"collapse\">Collapse all</button>"
         "<label><input type=\"checkbox\" id=\"only-failed\"> failed only</label></span>"
         "</div></header><main>";
  if (r.kind == "order" && r.has_order)
    html_order(out, r.order);
  for (const auto& v : views)
    html_trace(out, v);
  if (views.empty())
    out += "<p class=\"meta\">No traces found.</p>";
  out += "</main><script>";
  out += html_script;
  out += "</script></body></html>\n";
  return out;
}

std::string render_text(const trace_report& r, bool color) {
  auto views = make_views(r, false);
  painter p{color};
  auto sources = sources_of(r);
  std::string out = p(ansi_bold, subject_noun(r.kind) + " " + term_safe(r.subject)) + "  " +
                    std::to_string(views.size()) + (views.size() == 1 ? " trace, " : " traces, ") +
                    std::to_string(total_spans(views)) + " spans (postgresql " +
                    dump(sources["postgresql"]) + ", clickhouse " + dump(sources["clickhouse"]) +
                    ")\n";
  if (r.kind == "hotel")
    out += "  window " + instant_or_dash(r.from_us) + " → " + instant_or_dash(r.to_us) + "\n";
  if (r.kind == "order" && r.has_order)
    text_order(out, r.order, p);
  if (r.truncated)
    out +=
        p(ansi_yellow, "  truncated: more traces or spans exist than this report carries") + "\n";
  for (const auto& v : views)
    text_trace(out, v, p);
  if (views.empty())
    out += "\n  no traces found\n";
  return out;
}

json encode_otlp(const trace_report& r) {
  json resource_spans = json::array();
  // (service, node) → index in resource_spans, in order of first appearance.
  std::vector<std::pair<std::pair<std::string, std::string>, size_t>> groups;
  for (const auto& g : r.traces) {
    auto spans = g.spans;
    std::stable_sort(spans.begin(), spans.end(),
                     [](const auto& a, const auto& b) { return a.started_us < b.started_us; });
    for (const auto& s : spans) {
      auto key = std::make_pair(s.service, s.node);
      auto it =
          std::find_if(groups.begin(), groups.end(), [&](const auto& e) { return e.first == key; });
      size_t at = 0;
      if (it == groups.end()) {
        at = resource_spans.size();
        groups.emplace_back(key, at);
        resource_spans.push_back(json{
            {"resource", otlp_resource(s.service, s.node)},
            {"scopeSpans", json::array({json{{"scope", {{"name", "bedbank"}, {"version", "1"}}},
                                             {"spans", json::array()}}})}});
      } else {
        at = it->second;
      }
      resource_spans[at]["scopeSpans"][0]["spans"].push_back(otlp_span(s, g.trace_id));
    }
  }
  return json{{"resourceSpans", std::move(resource_spans)}};
}

nlohmann::json encode_archive_pass(const archive_pass& p) {
  using nlohmann::json;
  return json{
      {"batches", p.batches},
      {"moved", p.moved},
      {"inserted", p.inserted},
      {"dropped_partitions", p.dropped},
      {"through", p.through_us > 0 ? json(domain::format_instant_us(p.through_us)) : json(nullptr)},
      {"duration_ms", p.duration_us / 1000},
      {"more", p.more},
      {"steps_ms",
       {{"pg_read", p.select_us / 1000},
        {"pg_delete", p.delete_us / 1000},
        {"ch_insert", p.insert_us / 1000},
        {"ch_verify", p.verify_us / 1000}}}};
}

} // namespace bedbank::trace_report_format
