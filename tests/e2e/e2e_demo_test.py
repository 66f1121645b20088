#!/usr/bin/env python3
"""The demo as a new user meets it: `make run`'s own configuration (config/bedbank.yaml: three
mock suppliers with their latencies, error rates, sold-out hotels and moving prices), its ports
pointed at the test servers and one agent of this test's own added, so its credit and rate
limit never run out.

1. Search → trial → create, 40 times over the six cities and dates nobody searched before:
   every trial right after its search finds the search's price (`available`, the same amount),
   and every create is `confirmed` on the first try. A price moves only where a
   mock.price_change_window ends between the search and the trial (once in 15 minutes); only
   then may a trial answer `price_changed`, and it must then hold the price a new search shows.
2. A second trial of the same rate a moment later answers the same price: prices hold.
3. The `Test: price_changed` header still makes a trial answer `price_changed`, on purpose.
4. bedbank's log holds no warning or error: a clean run logs none.
Usage: e2e_demo_test.py <bedbank binary> <config/bedbank.yaml>
"""
import functools
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (tests/e2e/harness.py)
from harness import check, day  # noqa: E402

BIN, DEMO_CONFIG, PORT, ADMIN_PORT = harness.invocation()
KEY = "demo-e2e-key-000000000001"
ADMIN = "demo-admin-token"
CITIES = ["SHA", "PEK", "CAN", "SZX", "HGH", "CTU"]
BOOKINGS = 40
FIRST_DAY = 300  # check-in days from today: dates no other test searches
STARTUP_SECONDS = 30
RUN = harness.run_id()
AGENT = f"""agents:
  - id: demo-e2e
    name: Demo E2E Agency
    api_key: {KEY}
    rate_limit_per_minute: 100000
    credit_limit: "10000000000.00"
"""

request = functools.partial(harness.request, key=KEY, port=PORT, timeout=30)


def duration_s(text):
    """Seconds of a configuration duration such as 15m, 900s, 2h or 250ms."""
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", text)
    if not m:
        raise ValueError(f"not a duration: {text}")
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def demo_config():
    """The demo configuration with this test's agent instead of `agents: []`, in a temp file;
    and the mock suppliers' price change window in seconds (the same for all of them)."""
    with open(DEMO_CONFIG) as f:
        text = f.read()
    if not check(re.search(r"^agents: \[\]$", text, re.M), "config/bedbank.yaml ends with `agents: []`"):
        raise RuntimeError("cannot add the test's agent")
    windows = {duration_s(w) for w in re.findall(r"^\s+price_change_window:\s*(\S+)", text, re.M)}
    if not check(len(windows) == 1, f"one price change window for every mock supplier: {windows}"):
        raise RuntimeError("cannot tell when prices may move")
    out = tempfile.NamedTemporaryFile("w", prefix="demo-", suffix=".yaml", delete=False)
    out.write(re.sub(r"^agents: \[\]$", AGENT.rstrip("\n"), text, flags=re.M))
    out.close()
    return out.name, windows.pop()


def ports():
    """--set flags pointing the demo configuration at this test's ports and servers."""
    return ["--set", f"server.port={PORT}", "--set", f"server.admin_port={ADMIN_PORT}",
            "--set", f"database.port={os.environ['BEDBANK_TEST_PG_PORT']}",
            "--set", f"redis.port={os.environ['BEDBANK_TEST_REDIS_PORT']}",
            "--set", f"clickhouse.port={os.environ['BEDBANK_TEST_CH_PORT']}"]


def search(city, check_in, check_out):
    body = {"city": city, "check_in": check_in, "check_out": check_out, "rooms": [{"adults": 2}]}
    st, _, doc = request("POST", "/api/search", body)
    check(st == 200, f"search {city} {check_in} → 200 ({st} {str(doc)[:200]})")
    return doc if st == 200 else None


def trial(rate, headers=None):
    body = {"rate_key": rate["rate_key"],
            "rooms": [{"adults": 2, "guests": [{"first_name": "San", "last_name": "Zhang"}]}],
            "expected_price": rate["price"]}
    return request("POST", "/api/orders/trial", body, headers=headers)


def pick(doc, i):
    """A rate of the answer, a different hotel and supplier from one booking to the next."""
    rates = [rate for r in doc.get("results", []) for rate in r.get("rates", [])]
    return rates[(i * 7) % len(rates)] if rates else None


def bookings(window_s):
    first_try, moved, confirmed = 0, 0, 0
    suppliers = set()
    for i in range(BOOKINGS):
        city = CITIES[i % len(CITIES)]
        check_in, check_out = day(FIRST_DAY + i), day(FIRST_DAY + i + 2)
        t0 = time.time()
        doc = search(city, check_in, check_out)
        rate = pick(doc, i) if doc else None
        if not check(rate is not None, f"booking {i}: the search for {city} {check_in} has rates"):
            continue
        suppliers.add(rate["supplier"])
        st, _, t = trial(rate)
        same_window = int(t0 // window_s) == int(time.time() // window_s)
        if not check(st == 200 and isinstance(t, dict), f"booking {i}: trial → 200 ({st} {str(t)[:200]})"):
            continue
        if t.get("status") == "price_changed" and not same_window:
            # A price change window ended between the search and the trial: a new search shows
            # the trial's new price.
            moved += 1
            again = search(city, check_in, check_out) or {}
            now = [r for h in again.get("results", []) for r in h.get("rates", [])
                   if r["rate_key"] == rate["rate_key"]]
            check(now and now[0]["price"] == t.get("price"),
                  f"booking {i}: a moved price is what a new search shows ({t.get('price')} vs {now[:1]})")
            continue
        ok = check(t.get("status") == "available" and t.get("price") == rate["price"],
                   f"booking {i} ({rate['supplier']}): a trial right after its search is available at the "
                   f"search's price ({t.get('status')} {t.get('price')} vs {rate['price']})")
        if not ok:
            continue
        first_try += 1
        st2, _, t2 = trial(rate)
        if int(t0 // window_s) == int(time.time() // window_s):
            check(st2 == 200 and t2.get("status") == "available" and t2.get("price") == rate["price"],
                  f"booking {i}: a second trial a moment later answers the same price ({st2} {str(t2)[:200]})")
        st, _, o = request("POST", "/api/orders", {"trial_id": t["trial_id"],
                                                   "client_reference": f"DEMO-{RUN}-{i:03d}"})
        if check(st == 201 and o.get("status") == "confirmed",
                 f"booking {i}: create → 201 confirmed on the first try ({st} {str(o)[:200]})"):
            confirmed += 1
    print(f"{BOOKINGS} bookings: {first_try} trials available at the search's price, {moved} across a "
          f"price change window, {confirmed} confirmed; suppliers {sorted(suppliers)}", flush=True)
    check(len(suppliers) >= 2, f"the bookings went to several suppliers ({sorted(suppliers)})")


def price_changed_on_purpose():
    doc = search("SHA", day(FIRST_DAY + BOOKINGS + 1), day(FIRST_DAY + BOOKINGS + 3))
    rate = pick(doc, 0) if doc else None
    if not check(rate is not None, "a search for the price_changed scenario has rates"):
        return
    st, _, t = trial(rate, headers={"Test": "price_changed"})
    check(st == 200 and t.get("status") == "price_changed",
          f"Test: price_changed still makes a trial answer price_changed ({st} {str(t)[:200]})")


def main():
    config, window_s = demo_config()
    mig = harness.migrate(BIN, config, *ports())
    check(mig.returncode == 0, f"migrate exits 0 ({mig.stderr.strip()})")
    log = harness.open_log("e2e-demo-", RUN)
    proc = harness.serve(BIN, config, "--node-id", "e2e-demo", *ports(), stdout=log)
    try:
        if not check(harness.wait_up(proc, ADMIN_PORT, STARTUP_SECONDS, key=ADMIN), "bedbank answers /admin/health"):
            return
        harness.section("search → trial → create", bookings, window_s, timed=True)
        harness.section("price_changed on purpose", price_changed_on_purpose)
    finally:
        harness.stop_checked(proc, "bedbank", the="", must_run=False)
        harness.check_log(log, "bedbank's log")
        if harness.CHECKS.failed:
            harness.print_log_tail(log)
        os.unlink(config)


if __name__ == "__main__":
    harness.finish(main, "e2e_demo: {passed} passed, {failed} failed", on_error="fail")
