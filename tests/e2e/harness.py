"""What the end-to-end scripts share: checks and their counts, HTTP against 127.0.0.1,
`bedbank` processes (started, waited for, stopped by their own PID), PostgreSQL through psql,
ClickHouse over HTTP, dates and instants, and the run's last line and exit code.

Each script imports it from its own directory (tests/e2e):

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import harness

It holds no test's own logic: defaults that differ between the scripts (keys, ports, timeouts,
databases, what a message says) are parameters, bound once by each script.
"""
import datetime
import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

# -- the command line -----------------------------------------------------------------------


def invocation():
    """What ctest runs a script with: (bedbank binary, config) from its command line
    (`<script> <bedbank binary> <config>`), and the agent and admin ports of the node it starts
    (BEDBANK_E2E_PORT, BEDBANK_E2E_ADMIN_PORT)."""
    return sys.argv[1], sys.argv[2], int(os.environ["BEDBANK_E2E_PORT"]), int(os.environ["BEDBANK_E2E_ADMIN_PORT"])


# -- checks ---------------------------------------------------------------------------------


class Checks:
    """Pass and fail counts of one run. A failure prints `FAIL: <what>` at once; with
    max_printed, only the first max_printed failures are printed, then one line saying the
    rest are only counted. Safe to use from several threads."""

    def __init__(self, max_printed=None):
        self.passed = 0
        self.failed = 0
        self.max_printed = max_printed
        self._lock = threading.Lock()

    def fail(self, what=None):
        """One failure, printed unless `what` is None."""
        with self._lock:
            self.failed += 1
            if what is None:
                return
            if self.max_printed is None or self.failed <= self.max_printed:
                print(f"FAIL: {what}", flush=True)
            elif self.failed == self.max_printed + 1:
                print("(further violations only counted)", flush=True)

    def check(self, cond, what):
        """Counts cond as a pass or a failure (printing `what`); answers cond."""
        if cond:
            with self._lock:
                self.passed += 1
        else:
            self.fail(what)
        return cond


CHECKS = Checks()  # the run's counts: one script, one process


def check(cond, what):
    return CHECKS.check(cond, what)


def fail(what=None):
    CHECKS.fail(what)


def section(name, fn, *args, timed=False):
    """Runs fn(*args) under a `-- name` heading. An exception fails the section (one failed
    check and its traceback), not the whole run. timed: a last line with the section's counts
    and duration."""
    print(f"-- {name}", flush=True)
    t0, p0, f0 = time.time(), CHECKS.passed, CHECKS.failed
    try:
        return fn(*args)
    except Exception as e:  # a broken answer shape fails the section, not the whole run
        check(False, f"{name}: {type(e).__name__}: {e}")
        traceback.print_exc()
        return None
    finally:
        if timed:
            print(f"   ({CHECKS.passed - p0} passed, {CHECKS.failed - f0} failed, {time.time() - t0:.1f} s)",
                  flush=True)


def finish(main, summary, on_error="count"):
    """Runs main(), prints `summary` (formatted with passed and failed) and exits 1 if any check
    failed, else 0. An exception out of main() prints its traceback and then counts as one
    failure: on_error "count" silently, "fail" with a FAIL line naming it; "raise" does not
    catch it (Python prints it and exits 1, without the summary)."""
    if on_error == "raise":
        main()
    else:
        try:
            main()
        except Exception as e:
            traceback.print_exc()
            if on_error == "fail":
                fail(f"{type(e).__name__}: {e}")
            else:
                CHECKS.fail()
    print(summary.format(passed=CHECKS.passed, failed=CHECKS.failed))
    sys.exit(1 if CHECKS.failed else 0)


# -- HTTP -----------------------------------------------------------------------------------


def raw_request(method, path, body=None, key=None, port=None, headers=None, raw=None, timeout=30,
                conn=None):
    """One request to 127.0.0.1:port: (status, headers with lower-case names, body bytes).
    key: sent as `Authorization: Bearer <key>` unless None. body: sent as JSON; else raw, as
    is. conn: an open connection to use (and leave open); else one of its own, closed after."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    h = {}
    if key is not None:
        h["Authorization"] = f"Bearer {key}"
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    try:
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        payload = r.read()
    finally:
        if own:
            conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, payload


def decode(payload):
    """A body as JSON; as text if it is not JSON; None if empty."""
    try:
        return json.loads(payload) if payload else None
    except ValueError:
        return payload.decode(errors="replace")


def request(method, path, body=None, key=None, port=None, headers=None, raw=None, timeout=30, conn=None):
    """As raw_request, the body decoded: (status, headers, JSON document or text or None)."""
    st, h, payload = raw_request(method, path, body, key, port, headers, raw, timeout, conn)
    return st, h, decode(payload)


# Bodies sent as they are (raw=) to check how the API takes them.
JSON_TYPE = {"Content-Type": "application/json"}
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}
OVERSIZED_JSON = b"{" + b" " * (70 * 1024) + b"}"  # 70 KiB: over the server's body limit


def error_code(doc):
    return doc.get("error", {}).get("code") if isinstance(doc, dict) else None


def error_field(doc):
    return doc.get("error", {}).get("field") if isinstance(doc, dict) else None


# -- bedbank processes ----------------------------------------------------------------------


def migrate(binary, config, *args, timeout=None):
    """`bedbank migrate --config <config> <args>`: its CompletedProcess (text output)."""
    return subprocess.run([binary, "migrate", "--config", config, *args], capture_output=True, text=True,
                          timeout=timeout)


def serve(binary, config, *args, stdout, text=False):
    """Starts `bedbank serve --config <config> <args>`, stderr into stdout."""
    return subprocess.Popen([binary, "serve", "--config", config, *args], stdout=stdout,
                            stderr=subprocess.STDOUT, text=text)


def wait_up(proc, port, seconds, key=None, ok=(200, 401, 503), timeout=2):
    """Waits up to `seconds` for /admin/health on port to answer one of the `ok` statuses while
    proc runs; answers whether it did."""
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None:
        try:
            st, _, _ = request("GET", "/admin/health", key=key, port=port, timeout=timeout)
            if st in ok:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def stop(proc, grace=15):
    """Stops our own child by its PID: SIGTERM, then SIGKILL if it has not exited within `grace`
    seconds. Answers False if it had to be killed, True otherwise (also when it had exited
    already, or proc is None). Its exit code is then proc.returncode."""
    if proc is None or proc.poll() is not None:
        return True
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()  # by its own PID
        proc.wait()
        return False


def stop_checked(proc, what, the="the ", must_run=True, grace=15):
    """stop(proc), checking that SIGTERM stops it with exit 0 within `grace` seconds. `the`
    comes before `what` in those messages. must_run: it is a failure too if it had exited
    before (else that is left unchecked)."""
    if proc.poll() is not None:
        if must_run:
            check(False, f"{what} was still running at the end (exit {proc.returncode})")
        return
    if stop(proc, grace):
        code = proc.returncode
        check(code == 0, f"SIGTERM stops {the}{what} with exit 0 (got {code})")
    else:
        check(False, f"{the}{what} stops within {grace} s of SIGTERM")


def wait_for(pred, seconds, step=0.1):
    """pred() until it answers something true or `seconds` pass; answers its last value."""
    deadline = time.time() + seconds
    value = pred()
    while not value and time.time() < deadline:
        time.sleep(step)
        value = pred()
    return value


def run_id():
    """A name for this run: month, day, time and a random suffix."""
    return time.strftime("%m%d%H%M%S") + "-" + secrets.token_hex(3)


def open_log(prefix, run):
    """A file (kept) for bedbank's output; says where it is."""
    log = tempfile.NamedTemporaryFile(prefix=prefix, suffix=".log", delete=False)
    print(f"run {run}; bedbank output in {log.name}", flush=True)
    return log


def print_log_tail(log, chars=6000):
    log.flush()
    with open(log.name, errors="replace") as f:
        print("--- bedbank output (tail) ---\n" + f.read()[-chars:])


# -- bedbank's log --------------------------------------------------------------------------

# A warn or error event of bedbank's log, JSON (`"level":"warn"`) or text (`<time> warn <component>:`),
# also behind a prefix such as run-cluster.sh's `[node-2] `.
_PROBLEM = re.compile(r'"level":"(?:warn|error)"|^(?:\[[^]]*\] )?\S+ (?:warn|error) [^ :]+: ')


def log_problems(path, expected=()):
    """The warn and error lines of the bedbank log at `path` that match none of `expected`, and a
    count per pattern of those that did. expected: (regex, why) pairs, one per warning the test
    provokes on purpose (a kill, a stopped server, a hung node), why saying which step does."""
    unexplained, explained = [], {p: 0 for p, _ in expected}
    with open(path, errors="replace") as f:
        for line in f:
            if not _PROBLEM.search(line):
                continue
            hit = next((p for p, _ in expected if re.search(p, line)), None)
            if hit is None:
                unexplained.append(line.rstrip("\n"))
            else:
                explained[hit] += 1
    return unexplained, explained


def check_log(log, what, expected=(), shown=8):
    """Checks that the bedbank log `log` (a file object or a path) holds no warn or error line the
    test did not provoke on purpose (see log_problems); a clean run logs none. Prints the first
    `shown` such lines, and how many lines each expected pattern matched."""
    path = log if isinstance(log, str) else log.name
    if not isinstance(log, str):
        log.flush()
    unexplained, explained = log_problems(path, expected)
    provoked = {p: n for p, n in explained.items() if n}
    if provoked:
        print(f"{what}: provoked warnings {provoked}", flush=True)
    for line in unexplained[:shown]:
        print(f"   unexplained: {line[:400]}", flush=True)
    return check(not unexplained, f"{what}: {len(unexplained)} warn/error lines the test did not provoke "
                                  f"(log {path})")


# -- the stores -----------------------------------------------------------------------------


class Postgres:
    """psql against the test PostgreSQL on 127.0.0.1 as user bedbank. sql answers rows of
    text columns; a failure raises RuntimeError naming the query (its first `shown` chars if
    given). sql's db and timeout default to the ones given here."""

    def __init__(self, port, db="bedbank", timeout=60, shown=None):
        self.port, self.db, self.timeout, self.shown = str(port), db, timeout, shown

    def sql(self, query, db=None, timeout=None):
        r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", self.port, "-U", "bedbank", "-d", db or self.db,
                            "-At", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c", query],
                           capture_output=True, text=True, timeout=timeout or self.timeout)
        if r.returncode != 0:
            raise RuntimeError(f"psql: {r.stderr.strip()} in {query if self.shown is None else query[:self.shown]}")
        return [line.split("|") for line in r.stdout.splitlines()]

    def sql_one(self, query):
        """The first column of the first row, None if there is none."""
        rows = self.sql(query)
        return rows[0][0] if rows else None

    def sql_int(self, query):
        """The first column of the first row as an int, 0 if there is none or it is NULL."""
        rows = self.sql(query)
        return int(rows[0][0]) if rows and rows[0][0] != "" else 0


def lit(s):
    """A PostgreSQL string literal."""
    return "'" + str(s).replace("'", "''") + "'"


def clickhouse(query, port, timeout=120):
    """Rows (tab-separated columns) of a ClickHouse query over its HTTP interface."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=query.encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            text = r.read().decode()
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"clickhouse: {e.code} {e.read().decode(errors='replace')[:400]} in {query[:300]}")
    return [line.split("\t") for line in text.splitlines()]


def ch_str(s):
    """A ClickHouse string literal."""
    return "'" + str(s).replace("\\", "\\\\").replace("'", "\\'") + "'"


# -- dates ----------------------------------------------------------------------------------


def day(offset, utc=False):
    """The date `offset` days from today (local, or UTC), ISO 8601."""
    today = datetime.datetime.now(datetime.timezone.utc).date() if utc else datetime.date.today()
    return (today + datetime.timedelta(days=offset)).isoformat()


def instant(dt):
    """RFC 3339 UTC with milliseconds, as the API writes instants."""
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_instant(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
