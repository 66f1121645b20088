#!/usr/bin/env python3
"""Crash test of the order path: kill -9 in the middle of 200 concurrent orders.

Starts `bedbank serve` (own ports, the ctest `services` fixture's PostgreSQL/Redis), fires
200 orders at once from threads (each: trial, then create with a unique client_reference
and a mock scenario in the development `Test` header: ok, slow_booking, answer_lost,
booking_error, sold_out; some hold_only then confirmed, some hold_only left to expire,
some cancelled once confirmed), kills bedbank with SIGKILL once about half of the creates
have been answered, restarts it with the same configuration, re-sends every create,
confirm and cancel whose answer was lost (same client_reference: the existing order or a
new one, never a second), waits until every order is terminal and then checks what
PostgreSQL holds: one order per client reference, each in the status its scenario leads
to, exactly one supplier booking per confirmed order and none for failed or closed ones,
no duplicate bookings, balanced credit (reserve = capture + release per order, nothing
left reserved), no pending outbox rows, no active holds.
The agents crash-a and crash-b (orders.yaml) are used by this test only.
Usage: crash_orders_test.py <bedbank binary> <config>
"""
import collections
import functools
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (tests/e2e/harness.py)
import order_crash  # noqa: E402  (tests/e2e/order_crash.py)
from harness import check, lit  # noqa: E402
from order_crash import TERMINAL  # noqa: E402

BIN, CONFIG, PORT, ADMIN_PORT = harness.invocation()
PG_PORT = os.environ["BEDBANK_TEST_PG_PORT"]
AGENTS = {"crash-a": "crash-key-a-000000000001", "crash-b": "crash-key-b-000000000001"}
NODE_ID = "crash-orders"
# Same overrides for both runs: trials and holds must outlive the restart so that lost
# creates can be re-sent with their trial and held orders confirmed after it; the holds left
# alone still expire well within the settle bound.
OVERRIDES = ["--set", "inventory.hold_ttl=40s"]
STARTUP_SECONDS = 30
SETTLE_SECONDS = 180
KILL_AFTER = order_crash.ORDERS // 2  # answered creates before the kill
RUN = harness.run_id()

# request(method, path, body=None, key=None, port=PORT, headers=None, timeout=60)
request = functools.partial(harness.request, port=PORT, timeout=60)
PG = harness.Postgres(PG_PORT)
sql = PG.sql
order_crash.configure(request, AGENTS, PG, RUN, "CRASH")


def start(log):
    return harness.serve(BIN, CONFIG, "--node-id", NODE_ID, *OVERRIDES, stdout=log)


def wait_up(proc):
    return harness.wait_up(proc, ADMIN_PORT, STARTUP_SECONDS)


def main():
    mig = harness.migrate(BIN, CONFIG)
    check(mig.returncode == 0, f"migrate exits 0 ({mig.stderr.strip()})")
    log = harness.open_log("crash-orders-", RUN)
    proc = start(log)
    try:
        if not check(wait_up(proc), "bedbank answers /admin/health"):
            return
        rates = order_crash.gather_rates()
        orders = order_crash.plan(rates)
        victim = proc
        killed, in_flight, took = order_crash.phase_one(
            orders, lambda: os.kill(victim.pid, signal.SIGKILL), KILL_AFTER)  # our own child
        proc.wait()
        lost = collections.Counter(x for o in orders for x in o.lost)
        answered = sum(1 for o in orders if o.create_status)
        print(f"phase one: {took:.1f} s, {answered} creates answered, killed {killed} with "
              f"{in_flight} creates in flight; lost answers {dict(lost)}", flush=True)
        check(killed, f"the kill happened ({answered} creates answered)")
        check(in_flight > 0, "creates were in flight at the kill")
        # Refused trials (the supplier re-check under load) are noted and retried after the
        # restart; any other unexpected answer stays an error of its order.
        for o in orders:
            trial_errors = [e for e in o.errors if e.startswith("trial attempt")]
            if trial_errors:
                print(f"note: {o.ref} trial answers before the kill: {trial_errors}", flush=True)
            o.errors = [e for e in o.errors if not e.startswith("trial attempt")]
        proc = start(log)
        if not check(wait_up(proc), "bedbank restarts after kill -9"):
            return
        # What the kill left behind: orders committed (whether or not their create was
        # answered) and the statuses the restarted node has to carry on from.
        refs = ",".join(lit(o.ref) for o in orders)
        at_restart = {r[0]: r[1] for r in sql(
            f"SELECT client_reference, status FROM orders WHERE client_reference IN ({refs})")}
        print(f"at the restart: {len(at_restart)} orders in PostgreSQL, by status "
              f"{dict(collections.Counter(at_restart.values()))}", flush=True)
        t0 = time.time()
        order_crash.phase_two(orders)
        for o in orders:
            if o.create_status is None and o.replays:
                st, replay, _ = o.replays[0]
                if o.ref in at_restart:
                    check(st == 200 and replay == "true",
                          f"{o.ref}: create committed before the kill, re-sent → {st} (replay {replay}), want 200 replay")
                else:
                    check(st == 201, f"{o.ref}: create never committed, re-sent → {st}, want 201")
        lost_creates = [o for o in orders if o.create_status is None]
        print(f"lost creates: {len(lost_creates)}, of which {sum(1 for o in lost_creates if o.ref in at_restart)} "
              f"had committed before the kill", flush=True)
        print(f"phase two: re-sent {len(orders)} creates in {time.time() - t0:.1f} s", flush=True)
        t0 = time.time()
        rows = order_crash.wait_terminal(orders, SETTLE_SECONDS)
        settled = sum(1 for r in rows if r[1] in TERMINAL)
        print(f"settled {settled}/{len(orders)} in {time.time() - t0:.1f} s", flush=True)
        counts, n_bookings, duplicates, reserved, mismatched = order_crash.verify(orders)
        print(f"crash: {len(orders)} orders, {counts['confirmed']} confirmed, {counts['failed']} failed, "
              f"{counts['cancelled']} cancelled, {counts['closed']} closed"
              + "".join(f", {n} {s}" for s, n in counts.items() if s not in TERMINAL)
              + f"; bookings {n_bookings} ({duplicates} duplicates); reserved {reserved}", flush=True)
        if mismatched:
            print(f"orders not in their scenario's status, by kind: {dict(mismatched)}", flush=True)
        harness.stop(proc)
        check(proc.returncode == 0, f"SIGTERM stops bedbank with exit 0 (got {proc.returncode})")
    finally:
        harness.stop(proc)
        harness.check_log(log, "bedbank's log")  # it provokes no warning
        if harness.CHECKS.failed:
            harness.print_log_tail(log)


if __name__ == "__main__":
    harness.finish(main, "crash_orders: {failed} violations", on_error="fail")
