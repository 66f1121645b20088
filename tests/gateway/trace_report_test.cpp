// Trace reports: the JSON of the three kinds (trace, order, hotel), the HTML waterfall's
// element contract and escaping, the terminal text with and without colours, the OTLP/JSON
// export, and the scrubbing of secrets out of span data.
#define CAF_SUITE trace_report
#include <caf/test/unit_test_impl.hpp>

#include <set>
#include <sstream>

#include "domain/dates.hpp"
#include "protocols/agent_json.hpp"
#include "protocols/order_json.hpp"
#include "protocols/trace_report.hpp"

using namespace bedbank;
using namespace bedbank::trace_report_format;
using nlohmann::json;

namespace {

constexpr int64_t t0 = 1700000000000000; // µs since the epoch
const std::string tid1 = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string tid2 = "0af7651916cd43dd8448eb211c80319c";

span_record make_span(const std::string& trace, const std::string& id, const std::string& parent,
                      const std::string& event, const std::string& service, int64_t start,
                      int64_t duration, const std::string& status) {
  span_record s;
  s.trace_id = trace;
  s.span_id = id;
  s.parent_span_id = parent;
  s.event_type = event;
  s.service = service;
  s.started_us = start;
  s.duration_us = duration;
  s.status = status;
  s.agent_id = "agent-a";
  s.node = "node-a";
  return s;
}

/// Four spans: gateway root, order engine child, a supplier call (timeout, card data, script
/// in the error) below it, and a zero-length failed step on another node.
trace_group first_trace() {
  trace_group g;
  g.trace_id = tid1;
  auto root =
      make_span(tid1, "00f067aa0ba902b7", "", "http_request", "api_gateway", t0, 50000, "success");
  root.request_data = R"({"headers":{"Authorization":"Bearer sk-live-1"},"rate_key":"abc"})";
  root.response_data = R"({"order_id":"ORD-1"})";
  auto engine = make_span(tid1, "1111111111111111", "00f067aa0ba902b7", "order_create",
                          "order_engine", t0 + 1000, 40000, "success");
  engine.related_type = "order";
  engine.related_id = "ORD-1";
  auto call = make_span(tid1, "2222222222222222", "1111111111111111", "supplier_booking",
                        "supplier_adapter", t0 + 2000, 30000, "timeout");
  call.related_type = "supplier";
  call.related_id = "hotelbeds";
  call.error_detail = "deadline <script>alert(1)</script>";
  call.request_data =
      R"({"card_number":"4111 1111 1111 1111","cvv":"123","holder":"<script>x</script>"})";
  auto persist = make_span(tid1, "3333333333333333", "00f067aa0ba902b7", "persist", "order_store",
                           t0 + 45000, 0, "error");
  persist.node = "node-b";
  persist.error_detail = "conflict";
  // Out of start order on purpose: the report sorts.
  g.spans = {engine, root, persist, call};
  g.hot_spans = 3;
  g.cold_spans = 1;
  return g;
}

/// Two clean spans, all successful.
trace_group second_trace() {
  trace_group g;
  g.trace_id = tid2;
  g.spans = {make_span(tid2, "4444444444444444", "", "order_confirm", "api_gateway", t0 + 900000,
                       8000, "success"),
             make_span(tid2, "5555555555555555", "4444444444444444", "supplier_confirm",
                       "supplier_adapter", t0 + 901000, 6000, "success")};
  g.spans[1].related_type = "supplier";
  g.spans[1].related_id = "hotelbeds";
  g.hot_spans = 2;
  return g;
}

order_record make_order() {
  order_record o;
  o.order_id = "ORD-1";
  o.agent_id = "agent-a";
  o.client_reference = "REF-1";
  o.status = "confirmed";
  o.supplier = "hotelbeds";
  o.supplier_ref = "HB-777";
  o.hotel_id = "H-SHA-0001";
  o.room_name = "Deluxe <King>";
  o.board = "BB";
  o.check_in = 20828;
  o.check_out = 20830;
  o.price_minor = 123450;
  o.currency = "CNY";
  o.created_us = t0;
  o.updated_us = t0 + 950000;
  o.history = {{"", "pending", "created", "", t0, tid1},
               {"pending", "confirmed", "confirm", "supplier_confirmed", t0 + 907000, tid2}};
  return o;
}

trace_report order_report() {
  trace_report r;
  r.kind = "order";
  r.subject = "ORD-1";
  r.has_order = true;
  r.order = make_order();
  r.traces = {first_trace(), second_trace()};
  r.truncated = true;
  return r;
}

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1))
    ++n;
  return n;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

std::set<std::string> keys_of(const json& j) {
  std::set<std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it)
    out.insert(it.key());
  return out;
}

/// The attribute `key` of an OTLP attribute list, or "<absent>".
std::string otlp_attr(const json& attrs, const std::string& key) {
  for (const auto& a : attrs)
    if (a["key"] == key)
      return a["value"]["stringValue"].get<std::string>();
  return "<absent>";
}

/// Every span of a JSON tree, depth first.
void collect_ids(const json& spans, std::vector<std::string>& out) {
  for (const auto& s : spans) {
    out.push_back(s["span_id"].get<std::string>());
    collect_ids(s["children"], out);
  }
}

} // namespace

// -- JSON --------------------------------------------------------------------------------

CAF_TEST(kind trace is exactly the trace tree plus sources) {
  trace_report r;
  r.kind = "trace";
  r.subject = tid2;
  r.traces = {second_trace()};
  auto out = encode_report(r);
  auto expected = agent_json::encode_trace_tree(tid2, second_trace().spans);
  expected["sources"] = json{{"postgresql", 2}, {"clickhouse", 0}};
  CAF_CHECK_EQUAL(out, expected);
  CAF_CHECK_EQUAL(keys_of(out),
                  (std::set<std::string>{"trace_id", "spans", "span_count", "sources"}));
}

CAF_TEST(kind trace redacts span data before building the tree) {
  trace_report r;
  r.kind = "trace";
  r.subject = tid1;
  r.traces = {first_trace()};
  auto out = encode_report(r);
  auto spans = first_trace().spans;
  for (auto& s : spans) {
    s.request_data = redact_text(s.request_data);
    s.response_data = redact_text(s.response_data);
  }
  auto expected = agent_json::encode_trace_tree(tid1, spans);
  expected["sources"] = json{{"postgresql", 3}, {"clickhouse", 1}};
  CAF_CHECK_EQUAL(out, expected);
  CAF_CHECK_EQUAL(out["span_count"], 4);
  const auto& root = out["spans"][0];
  CAF_CHECK_EQUAL(root["span_id"], "00f067aa0ba902b7");
  CAF_CHECK_EQUAL(root["request_data"]["headers"]["Authorization"], "[redacted]");
  CAF_CHECK_EQUAL(root["request_data"]["rate_key"], "abc");
  const auto& call = root["children"][0]["children"][0];
  CAF_CHECK_EQUAL(call["span_id"], "2222222222222222");
  CAF_CHECK_EQUAL(call["request_data"]["card_number"], "[redacted]");
  CAF_CHECK_EQUAL(call["request_data"]["cvv"], "[redacted]");
  CAF_CHECK_EQUAL(call["request_data"]["holder"], "<script>x</script>");
  CAF_CHECK(out.dump().find("4111") == std::string::npos);
}

CAF_TEST(kind order carries the order and one summary per trace) {
  auto r = order_report();
  auto out = encode_report(r);
  CAF_CHECK_EQUAL(keys_of(out), (std::set<std::string>{"order_id", "order", "traces", "span_count",
                                                       "sources", "truncated"}));
  CAF_CHECK_EQUAL(out["order_id"], "ORD-1");
  CAF_CHECK_EQUAL(out["order"], order_json::encode_order(r.order));
  CAF_CHECK_EQUAL(out["order"]["history"].size(), 2u);
  CAF_CHECK_EQUAL(out["span_count"], 6);
  CAF_CHECK_EQUAL(out["sources"], (json{{"postgresql", 5}, {"clickhouse", 1}}));
  CAF_CHECK_EQUAL(out["truncated"], true);
  CAF_REQUIRE_EQUAL(out["traces"].size(), 2u);
  const auto& t = out["traces"][0];
  CAF_CHECK_EQUAL(keys_of(t),
                  (std::set<std::string>{"trace_id", "started_at", "ended_at", "duration_ms",
                                         "span_count", "root_event", "status", "spans"}));
  CAF_CHECK_EQUAL(t["trace_id"], tid1);
  CAF_CHECK_EQUAL(t["started_at"], domain::format_instant_us(t0));
  CAF_CHECK_EQUAL(t["ended_at"], domain::format_instant_us(t0 + 50000));
  CAF_CHECK_EQUAL(t["duration_ms"], 50.0);
  CAF_CHECK(t["duration_ms"].is_number());
  CAF_CHECK_EQUAL(t["span_count"], 4);
  CAF_CHECK_EQUAL(t["root_event"], "http_request");
  CAF_CHECK_EQUAL(t["status"], "error");
  auto spans = first_trace().spans;
  for (auto& s : spans) {
    s.request_data = redact_text(s.request_data);
    s.response_data = redact_text(s.response_data);
  }
  auto tree1 = agent_json::encode_trace_tree(tid1, spans);
  CAF_CHECK_EQUAL(t["spans"], tree1["spans"]);
  const auto& t2 = out["traces"][1];
  CAF_CHECK_EQUAL(t2["trace_id"], tid2);
  CAF_CHECK_EQUAL(t2["status"], "success");
  CAF_CHECK_EQUAL(t2["duration_ms"], 8.0);
  CAF_CHECK_EQUAL(t2["root_event"], "order_confirm");
  auto tree2 = agent_json::encode_trace_tree(tid2, second_trace().spans);
  CAF_CHECK_EQUAL(t2["spans"], tree2["spans"]);
}

CAF_TEST(kind hotel carries the window and the traces in the given order) {
  trace_report r;
  r.kind = "hotel";
  r.subject = "H-SHA-0001";
  r.from_us = t0 - 3600000000;
  r.to_us = t0 + 3600000000;
  r.traces = {second_trace(), first_trace()}; // newest first, as the reader gives them
  auto out = encode_report(r);
  CAF_CHECK_EQUAL(keys_of(out), (std::set<std::string>{"hotel_id", "from", "to", "traces",
                                                       "span_count", "sources", "truncated"}));
  CAF_CHECK_EQUAL(out["hotel_id"], "H-SHA-0001");
  CAF_CHECK_EQUAL(out["from"], domain::format_instant_us(t0 - 3600000000));
  CAF_CHECK_EQUAL(out["to"], domain::format_instant_us(t0 + 3600000000));
  CAF_CHECK_EQUAL(out["truncated"], false);
  CAF_CHECK_EQUAL(out["span_count"], 6);
  CAF_CHECK_EQUAL(out["sources"], (json{{"postgresql", 5}, {"clickhouse", 1}}));
  CAF_REQUIRE_EQUAL(out["traces"].size(), 2u);
  CAF_CHECK_EQUAL(out["traces"][0]["trace_id"], tid2);
  CAF_CHECK_EQUAL(out["traces"][1]["trace_id"], tid1);
}

CAF_TEST(orphans and empty traces in a report) {
  trace_report r;
  r.kind = "hotel";
  r.subject = "H-1";
  trace_group orphan;
  orphan.trace_id = tid1;
  orphan.spans = {make_span(tid1, "aaaaaaaaaaaaaaaa", "ffffffffffffffff", "late", "query_engine",
                            t0 + 5, 1, "success"),
                  make_span(tid1, "bbbbbbbbbbbbbbbb", "eeeeeeeeeeeeeeee", "early", "query_engine",
                            t0, 1, "success")};
  r.traces = {orphan, trace_group{tid2, {}, 0, 0}};
  auto out = encode_report(r);
  CAF_CHECK_EQUAL(out["traces"][0]["root_event"], "early");
  CAF_CHECK_EQUAL(out["traces"][0]["spans"].size(), 2u);
  CAF_CHECK(out["traces"][1]["started_at"].is_null());
  CAF_CHECK(out["traces"][1]["root_event"].is_null());
  CAF_CHECK_EQUAL(out["traces"][1]["span_count"], 0);
  CAF_CHECK_EQUAL(out["traces"][1]["spans"], json::array());
}

// -- HTML --------------------------------------------------------------------------------

CAF_TEST(html has one span row and one bar per span with its ids) {
  auto r = order_report();
  auto html = render_html(r);
  CAF_CHECK_EQUAL(count(html, "class=\"span "), 6u);
  CAF_CHECK_EQUAL(count(html, "class=\"span"), 6u);
  CAF_CHECK_EQUAL(count(html, "class=\"bar\""), 6u);
  for (const auto& g : r.traces)
    for (const auto& s : g.spans) {
      CAF_CHECK_EQUAL(count(html, "data-span-id=\"" + s.span_id + "\""), 1u);
      auto at = html.find("data-span-id=\"" + s.span_id + "\"");
      auto tag = html.substr(html.rfind('<', at), html.find('>', at) - html.rfind('<', at));
      CAF_CHECK(tag.find("data-trace-id=\"" + g.trace_id + "\"") != std::string::npos);
      CAF_CHECK(tag.find("data-parent-span-id=\"" + s.parent_span_id + "\"") != std::string::npos);
      CAF_CHECK(tag.find("class=\"span " + s.status + "\"") != std::string::npos);
    }
  // Tree order: root, its first child, the grandchild, then the root's second child.
  auto pos = [&](const std::string& id) { return html.find("data-span-id=\"" + id + "\""); };
  CAF_CHECK(pos("00f067aa0ba902b7") < pos("1111111111111111"));
  CAF_CHECK(pos("1111111111111111") < pos("2222222222222222"));
  CAF_CHECK(pos("2222222222222222") < pos("3333333333333333"));
  CAF_CHECK(html.find("data-depth=\"2\" style=\"--d:2\"") != std::string::npos);
  // Bars on the trace's axis: the supplier call starts 2 ms into a 50 ms trace, lasts 30 ms.
  CAF_CHECK(html.find("left:4.0000%;width:60.0000%") != std::string::npos);
  CAF_CHECK(html.find("left:90.0000%;width:0.0000%") != std::string::npos);
  CAF_CHECK_EQUAL(count(html, "<details class=\"span"), 6u);
  CAF_CHECK_EQUAL(count(html, "<section class=\"trace\""), 2u);
  CAF_CHECK(html.find("class=\"ruler\"") != std::string::npos);
  CAF_CHECK(html.find(">hotelbeds<") != std::string::npos);
}

CAF_TEST(html is self contained and escapes span data) {
  auto html = render_html(order_report());
  CAF_CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CAF_CHECK_EQUAL(count(html, "http://"), 0u);
  CAF_CHECK_EQUAL(count(html, "https://"), 0u);
  CAF_CHECK_EQUAL(count(html, "src="), 0u);
  CAF_CHECK_EQUAL(count(html, "<link"), 0u);
  CAF_CHECK_EQUAL(count(html, "@import"), 0u);
  CAF_CHECK_EQUAL(count(html, "url("), 0u);
  // The page's own script only; the error detail's and the data's scripts are text.
  CAF_CHECK_EQUAL(count(html, "<script"), 1u);
  CAF_CHECK(html.find("deadline &lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CAF_CHECK(html.find("&lt;script&gt;x&lt;/script&gt;") != std::string::npos);
  CAF_CHECK(html.find("Deluxe &lt;King&gt;") != std::string::npos);
  // Redacted and pretty-printed data in the detail views.
  CAF_CHECK(html.find("4111 1111") == std::string::npos);
  CAF_CHECK(html.find("Bearer sk-live-1") == std::string::npos);
  CAF_CHECK(html.find("&quot;Authorization&quot;: &quot;[redacted]&quot;") != std::string::npos);
  CAF_CHECK(html.find("<title>bedbank · Order ORD-1</title>") != std::string::npos);
  CAF_CHECK(html.find("HB-777") != std::string::npos);
  CAF_CHECK(html.find("supplier_confirmed") != std::string::npos);
  CAF_CHECK(html.find("123450") == std::string::npos);
  CAF_CHECK(html.find("1234.50 CNY") != std::string::npos);
  CAF_CHECK(html.find("Truncated") != std::string::npos);
}

CAF_TEST(html for a trace and an empty report) {
  trace_report r;
  r.kind = "trace";
  r.subject = tid2;
  r.traces = {second_trace()};
  auto html = render_html(r);
  CAF_CHECK(html.find("<h1>Trace <code>" + tid2 + "</code></h1>") != std::string::npos);
  CAF_CHECK_EQUAL(count(html, "class=\"span "), 2u);
  CAF_CHECK(html.find("class=\"order\"") == std::string::npos);
  trace_report empty;
  empty.kind = "hotel";
  empty.subject = "H-<1>";
  auto e = render_html(empty);
  CAF_CHECK_EQUAL(count(e, "class=\"span"), 0u);
  CAF_CHECK(e.find("H-&lt;1&gt;") != std::string::npos);
  CAF_CHECK(e.find("H-<1>") == std::string::npos);
}

// -- text --------------------------------------------------------------------------------

CAF_TEST(text without colour has no escape byte and one line per span) {
  auto r = order_report();
  r.traces[0].spans[3].error_detail = "evil \x1b[31m red \x1b]0;title\x07";
  auto text = render_text(r, false);
  CAF_CHECK_EQUAL(text.find('\x1b'), std::string::npos);
  CAF_CHECK_EQUAL(text.find('\x07'), std::string::npos);
  auto lines = lines_of(text);
  size_t span_lines = 0;
  for (const auto& g : r.traces)
    for (const auto& s : g.spans) {
      size_t n = 0;
      for (const auto& l : lines)
        if (l.find("#" + s.span_id) != std::string::npos) {
          ++n;
          CAF_CHECK(l.find(s.event_type) != std::string::npos);
          CAF_CHECK(l.find(s.status) != std::string::npos);
        }
      CAF_CHECK_EQUAL(n, 1u);
      span_lines += n;
    }
  CAF_CHECK_EQUAL(span_lines, 6u);
  // Offsets, the tree, suppliers, durations, errors.
  CAF_CHECK(text.find("+     2.000 ms  │  └─ supplier_booking  supplier_adapter  "
                      "supplier:hotelbeds  timeout  30.000 ms") != std::string::npos);
  CAF_CHECK(text.find("├─ order_create") != std::string::npos);
  CAF_CHECK(text.find("└─ persist") != std::string::npos);
  CAF_CHECK(text.find("— conflict") != std::string::npos);
  CAF_CHECK(text.find("— evil ?[31m red ?]0;title?") != std::string::npos);
  CAF_CHECK(text.find("trace " + tid1 + "  started " + domain::format_instant_us(t0) +
                      "  duration 50 ms  4 spans") != std::string::npos);
  // Header, order summary and history.
  CAF_CHECK(text.rfind("Order ORD-1", 0) == 0);
  CAF_CHECK(text.find("HB-777") != std::string::npos);
  CAF_CHECK(text.find("pending → confirmed") != std::string::npos);
  CAF_CHECK(text.find(domain::format_instant_us(t0 + 907000)) != std::string::npos);
  CAF_CHECK(text.find("truncated") != std::string::npos);
  // Span data is not printed.
  CAF_CHECK(text.find("rate_key") == std::string::npos);
}

CAF_TEST(text with colour paints statuses) {
  auto text = render_text(order_report(), true);
  CAF_CHECK(text.find("\x1b[33mtimeout\x1b[0m") != std::string::npos);
  CAF_CHECK(text.find("\x1b[31merror\x1b[0m") != std::string::npos);
  CAF_CHECK(text.find("\x1b[32msuccess\x1b[0m") != std::string::npos);
  CAF_CHECK(text.find("\x1b[2m#00f067aa0ba902b7\x1b[0m") != std::string::npos);
}

// -- OTLP --------------------------------------------------------------------------------

CAF_TEST(otlp groups spans by service and node with spec field names) {
  auto out = encode_otlp(order_report());
  CAF_REQUIRE(out.contains("resourceSpans"));
  const auto& rs = out["resourceSpans"];
  // (api_gateway, node-a), (order_engine, node-a), (supplier_adapter, node-a),
  // (order_store, node-b).
  CAF_REQUIRE_EQUAL(rs.size(), 4u);
  std::map<std::string, json> by_service;
  size_t spans = 0;
  for (const auto& r : rs) {
    const auto& attrs = r["resource"]["attributes"];
    by_service[otlp_attr(attrs, "service.name")] = r;
    CAF_CHECK_EQUAL(otlp_attr(attrs, "service.namespace"), "bedbank");
    CAF_CHECK_EQUAL(otlp_attr(attrs, "host.name"), otlp_attr(attrs, "bedbank.node"));
    CAF_REQUIRE_EQUAL(r["scopeSpans"].size(), 1u);
    CAF_CHECK_EQUAL(r["scopeSpans"][0]["scope"], (json{{"name", "bedbank"}, {"version", "1"}}));
    spans += r["scopeSpans"][0]["spans"].size();
  }
  CAF_CHECK_EQUAL(spans, 6u);
  CAF_CHECK_EQUAL(
      otlp_attr(by_service["bedbank.order_store"]["resource"]["attributes"], "host.name"),
      "node-b");
  const auto& gw = by_service["bedbank.api_gateway"]["scopeSpans"][0]["spans"];
  CAF_REQUIRE_EQUAL(gw.size(), 2u);
  const auto& root = gw[0];
  CAF_CHECK_EQUAL(root["traceId"], tid1);
  CAF_CHECK_EQUAL(root["spanId"], "00f067aa0ba902b7");
  CAF_CHECK(!root.contains("parentSpanId"));
  CAF_CHECK_EQUAL(root["name"], "http_request");
  CAF_CHECK_EQUAL(root["kind"], 2);
  CAF_CHECK_EQUAL(root["startTimeUnixNano"], "1700000000000000000");
  CAF_CHECK_EQUAL(root["endTimeUnixNano"], "1700000000050000000");
  CAF_CHECK_EQUAL(root["status"]["code"], 1);
  CAF_CHECK_EQUAL(otlp_attr(root["attributes"], "bedbank.agent_id"), "agent-a");
  auto req = json::parse(otlp_attr(root["attributes"], "bedbank.request_data"));
  CAF_CHECK_EQUAL(req["headers"]["Authorization"], "[redacted]");
  CAF_CHECK_EQUAL(req["rate_key"], "abc");
  CAF_CHECK_EQUAL(gw[1]["traceId"], tid2);
  const auto& sup = by_service["bedbank.supplier_adapter"]["scopeSpans"][0]["spans"];
  CAF_REQUIRE_EQUAL(sup.size(), 2u);
  CAF_CHECK_EQUAL(sup[0]["spanId"], "2222222222222222");
  CAF_CHECK_EQUAL(sup[0]["parentSpanId"], "1111111111111111");
  CAF_CHECK_EQUAL(sup[0]["kind"], 3);
  CAF_CHECK_EQUAL(sup[0]["status"]["code"], 2);
  CAF_CHECK_EQUAL(sup[0]["status"]["message"], "deadline <script>alert(1)</script>");
  CAF_CHECK_EQUAL(otlp_attr(sup[0]["attributes"], "error.detail"),
                  "deadline <script>alert(1)</script>");
  CAF_CHECK_EQUAL(otlp_attr(sup[0]["attributes"], "bedbank.related_type"), "supplier");
  CAF_CHECK_EQUAL(otlp_attr(sup[0]["attributes"], "bedbank.related_id"), "hotelbeds");
  CAF_CHECK(otlp_attr(sup[0]["attributes"], "bedbank.request_data").find("4111 1111") ==
            std::string::npos);
  const auto& engine = by_service["bedbank.order_engine"]["scopeSpans"][0]["spans"][0];
  CAF_CHECK_EQUAL(engine["kind"], 1);
  CAF_CHECK_EQUAL(engine["status"]["code"], 1);
  CAF_CHECK(!engine["status"].contains("message"));
  CAF_CHECK_EQUAL(otlp_attr(engine["attributes"], "bedbank.request_data"), "<absent>");
  const auto& store = by_service["bedbank.order_store"]["scopeSpans"][0]["spans"][0];
  CAF_CHECK_EQUAL(store["startTimeUnixNano"], store["endTimeUnixNano"]);
  CAF_CHECK_EQUAL(store["status"]["code"], 2);
  for (const auto& r : rs)
    for (const auto& s : r["scopeSpans"][0]["spans"]) {
      CAF_CHECK_EQUAL(s["traceId"].get<std::string>().size(), 32u);
      CAF_CHECK_EQUAL(s["spanId"].get<std::string>().size(), 16u);
      CAF_CHECK(s["startTimeUnixNano"].is_string());
      CAF_CHECK(s["kind"].is_number_integer());
    }
}

// -- redaction -----------------------------------------------------------------------------

CAF_TEST(redact scrubs every class of secret key) {
  auto j = json::parse(R"({
    "api_key": "k1", "X-Api-Key": "k2", "apiKey": "k3",
    "Authorization": "Bearer t", "proxy-authorization": "Basic x",
    "password": "p", "passwd": "p", "secret": "s", "client_secret": "s",
    "token": "t", "access_token": "t", "refreshToken": "t", "id_token": "t",
    "signature": "sig", "X-Signature": "sig",
    "card_number": "4000", "cardNo": "4000", "PAN": "4000", "cvv": "1", "CVC": "1",
    "cvv2": "1", "cvc2": "1", "security_code": "1", "card_holder_name": "San Zhang",
    "expiry": "12/30", "expiry_date": "12/30", "expiration": "12/30",
    "card": {"number": "4000", "brand": "visa"},
    "nothing": null
  })");
  auto keys = keys_of(j);
  redact(j);
  for (const auto& k : keys) {
    if (k == "nothing")
      CAF_CHECK(j[k].is_null());
    else
      CAF_CHECK_EQUAL(j[k], "[redacted]");
  }
}

CAF_TEST(redact leaves identifiers alone and walks nested arrays) {
  auto j = json::parse(R"({
    "rate_key": "eyJzIjoiaG90ZWxiZWRzIn0", "trial_id": "TR-1", "client_reference": "REF-1",
    "search_id": "0123456789abcdef", "hotel_id": "H-SHA-0001", "order_id": "ORD-1",
    "rooms": [{"adults": 2, "guests": [{"first_name": "San", "password": "x"}]},
              [[{"deep": [{"token": "y"}]}]]],
    "headers": [{"name": "Authorization", "value": "Bearer z"},
                {"name": "Accept", "value": "application/json"}]
  })");
  redact(j);
  CAF_CHECK_EQUAL(j["rate_key"], "eyJzIjoiaG90ZWxiZWRzIn0");
  CAF_CHECK_EQUAL(j["trial_id"], "TR-1");
  CAF_CHECK_EQUAL(j["client_reference"], "REF-1");
  CAF_CHECK_EQUAL(j["search_id"], "0123456789abcdef");
  CAF_CHECK_EQUAL(j["hotel_id"], "H-SHA-0001");
  CAF_CHECK_EQUAL(j["order_id"], "ORD-1");
  CAF_CHECK_EQUAL(j["rooms"][0]["guests"][0]["first_name"], "San");
  CAF_CHECK_EQUAL(j["rooms"][0]["guests"][0]["password"], "[redacted]");
  CAF_CHECK_EQUAL(j["rooms"][1][0][0]["deep"][0]["token"], "[redacted]");
  CAF_CHECK_EQUAL(j["headers"][0]["value"], "[redacted]");
  CAF_CHECK_EQUAL(j["headers"][0]["name"], "Authorization");
  CAF_CHECK_EQUAL(j["headers"][1]["value"], "application/json");
}

CAF_TEST(redact masks luhn valid card numbers only) {
  auto j = json::parse(R"({
    "a": "4111111111111111", "b": "4111 1111 1111 1111", "c": "4111-1111-1111-1111",
    "amex": "378282246310005", "bad": "4111111111111112", "short": "411111111111",
    "text": "card 4111111111111111", "num": 4111111111111111,
    "list": ["5555555555554444", "1234567812345678"]
  })");
  redact(j);
  CAF_CHECK_EQUAL(j["a"], "************1111");
  CAF_CHECK_EQUAL(j["b"], "************1111");
  CAF_CHECK_EQUAL(j["c"], "************1111");
  CAF_CHECK_EQUAL(j["amex"], "***********0005");
  CAF_CHECK_EQUAL(j["bad"], "4111111111111112");
  CAF_CHECK_EQUAL(j["short"], "411111111111");
  CAF_CHECK_EQUAL(j["text"], "card 4111111111111111");
  CAF_CHECK_EQUAL(j["num"], 4111111111111111);
  CAF_CHECK_EQUAL(j["list"][0], "************4444");
  CAF_CHECK_EQUAL(j["list"][1], "1234567812345678");
}

CAF_TEST(redact handles deep nesting without recursion) {
  constexpr int depth = 5000;
  std::string text;
  for (int i = 0; i < depth; ++i)
    text += "[";
  text += R"({"cvv":"123"})";
  for (int i = 0; i < depth; ++i)
    text += "]";
  auto j = json::parse(text);
  redact(j);
  const json* v = &j;
  for (int i = 0; i < depth; ++i)
    v = &(*v)[0];
  CAF_CHECK_EQUAL((*v)["cvv"], "[redacted]");
}

CAF_TEST(redact_text returns clean input untouched) {
  std::string clean = "{ \"city\" : \"SHA\",\n  \"rate_key\": \"eyJ\", \"at\": 1700000000 }";
  CAF_CHECK_EQUAL(redact_text(clean), clean);
  // A marker without anything to scrub keeps the original formatting too.
  std::string marker = "{ \"capital\" : \"Beijing\" ,\"expand\": true }";
  CAF_CHECK_EQUAL(redact_text(marker), marker);
  std::string not_json = "token=abc; card 4111111111111111";
  CAF_CHECK_EQUAL(redact_text(not_json), not_json);
  CAF_CHECK_EQUAL(redact_text(""), "");
  auto scrubbed = redact_text(R"({"Token": "abc", "n": "4111 1111 1111 1111", "x": 1})");
  CAF_CHECK_EQUAL(json::parse(scrubbed),
                  (json{{"Token", "[redacted]"}, {"n", "************1111"}, {"x", 1}}));
  CAF_CHECK_EQUAL(redact_text(R"(["4111111111111111"])"), R"(["************1111"])");
}

CAF_TEST(an archive pass reads the same for the operator and in its span) {
  archive_pass p;
  auto idle = encode_archive_pass(p);
  CAF_CHECK(idle["through"].is_null());
  CAF_CHECK_EQUAL(idle["moved"], 0);
  p.batches = 3;
  p.moved = 25000;
  p.inserted = 24000;
  p.dropped = {"20251101"};
  p.through_us = domain::parse_instant_us("2026-11-01T10:00:00.000001Z").value();
  p.duration_us = 2'500'000;
  p.select_us = 1'200'999;
  p.insert_us = 900'000;
  p.verify_us = 300'000;
  p.delete_us = 400'000;
  auto j = encode_archive_pass(p);
  CAF_CHECK_EQUAL(j["batches"], 3);
  CAF_CHECK_EQUAL(j["moved"], 25000);
  CAF_CHECK_EQUAL(j["inserted"], 24000);
  CAF_CHECK_EQUAL(j["dropped_partitions"], json::array({"20251101"}));
  CAF_CHECK_EQUAL(j["through"], domain::format_instant_us(p.through_us));
  CAF_CHECK_EQUAL(j["duration_ms"], 2500);
  CAF_CHECK_EQUAL(j["more"], false);
  CAF_CHECK_EQUAL(
      j["steps_ms"],
      (json{{"pg_read", 1200}, {"pg_delete", 400}, {"ch_insert", 900}, {"ch_verify", 300}}));
}
