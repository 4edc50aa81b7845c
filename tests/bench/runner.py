"""One benchmark scenario: a fake Green API process, the bare reference loop, then the real
daemon against the same fake, measured the same way.

Phases per subject (bare loop, then hotelbot):
1. start the subject; push one warm-up message per instance and wait until all are deleted
   (proves every poller is connected, so start-up is not counted as latency);
2. snapshot the subject's CPU time and the fake's request counts; push M messages to every
   instance at once; wait until the fake holds nothing pending;
3. figures: acks/s over first-available..last-deleted, latency available->deleted per item
   (the fake's stamps), CPU ms per message, requests per message, peak RSS (VmHWM);
4. hotelbot only: wait for staff alerts of the complaints (when a processor/sender exists),
   then optionally an idle window (CPU % and requests/s with nothing to do).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench import pg
from tests.bench.fake_proc import STAFF_CHAT_ID, instance_id, token
from tests.bench.procs import (
    FakeInDriver,
    FakeProcess,
    cpu_s,
    open_fds,
    own_cpu_s,
    peak_rss_mb,
    python_module,
    stop,
)


@dataclass(frozen=True)
class Scenario:
    hotels: int
    messages: int
    complaint_share: float = 0.1
    error_rate_500: float = 0.0
    error_rate_429: float = 0.0
    drop_rate: float = 0.0
    llm_latency_s: float | None = None
    idle_window_s: float = 0.0
    transport: str = "httpx"
    receive_timeout_s: int = 20
    alert_wait_s: float = 15.0
    settle_s: float = 5.0
    keep_dir: bool = False
    profile_svg: str | None = None
    # /metrics served (on a free port) and scraped every `scrape_every_s` while measuring
    # (more often than Prometheus' usual 15 s: an upper bound on its cost); False: off.
    metrics: bool = True
    scrape_every_s: float = 2.0
    with_bare: bool = True  # also measure the bare aiohttp loop (the staff-alert rows do not)
    # "sqlite" (a file in the temp dir, synchronous=FULL) or "postgres" (a database created
    # on the machine's server for this subject and dropped after: tests/bench/pg.py).
    database: str = "sqlite"
    daemons: int = 1  # several daemons share the hotels through leases (PostgreSQL only)
    lease_ttl_s: float = 6.0  # with several daemons: they balance within ttl/3 rounds
    # The fake in a thread of the driver's process (procs.FakeInDriver) instead of its own.
    fake_in_driver: bool = False
    # CPU placement (Linux affinity, set at spawn so threads and children inherit it):
    # "off" = the OS decides; "shared" = the fake and the subject on CPU 0 (the fake takes
    # CPU from the subject, as a driver hosting its fake on a busy machine does); "split" =
    # the subject on CPU 0, the fake on CPU 1 (as on a real host: Green API runs elsewhere).
    pin: str = "off"
    workers: int | None = None  # [processing] workers; None = the daemon's default

    @property
    def name(self) -> str:
        return f"{self.hotels} hotels x {self.messages} msg"

    @property
    def setup(self) -> str:
        """The database and daemons, e.g. "SQLite, 1 daemon" or "PostgreSQL, 2 daemons"."""
        db = "SQLite" if self.database == "sqlite" else "PostgreSQL"
        return f"{db}, {self.daemons} daemon{'s' if self.daemons != 1 else ''}"


@dataclass
class SubjectResult:
    subject: str
    messages: int = 0
    undeleted: int = 0
    duration_s: float = 0.0
    acks_per_s: float = 0.0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    cpu_ms_per_msg: float = 0.0  # push .. all deleted
    cpu_ms_per_msg_total: float = 0.0  # push .. processed and alerted (+ settle_s)
    requests_per_msg: float = 0.0
    peak_rss_mb: float = 0.0
    startup_s: float = 0.0  # spawn .. every hotel's warm-up message deleted
    fake_cpu_pct: float = 0.0
    open_fds: int = 0
    alerts: int = 0
    complaints: int = 0
    alerts_missing: int = 0
    alert_p50_ms: float | None = None
    alert_p95_ms: float | None = None
    alert_p99_ms: float | None = None
    idle_window_s: float = 0.0
    idle_cpu_pct: float | None = None
    idle_requests_per_s: float | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class ScenarioResult:
    scenario: Scenario
    bare: SubjectResult
    hotelbot: SubjectResult

    def ratios(self) -> dict[str, float | None]:
        def ratio(a: float | None, b: float | None) -> float | None:
            return None if a is None or not b else a / b

        return {
            "acks_per_s": ratio(self.hotelbot.acks_per_s, self.bare.acks_per_s),
            "p99_ms": ratio(self.hotelbot.p99_ms, self.bare.p99_ms),
            "cpu_ms_per_msg": ratio(self.hotelbot.cpu_ms_per_msg, self.bare.cpu_ms_per_msg),
            "cpu_ms_per_msg_total": ratio(
                self.hotelbot.cpu_ms_per_msg_total, self.bare.cpu_ms_per_msg_total
            ),
            "peak_rss_mb": ratio(self.hotelbot.peak_rss_mb, self.bare.peak_rss_mb),
        }


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _hotels_toml(url: str, hotels: int) -> str:
    parts = []
    for index in range(hotels):
        parts.append(
            "[[hotels]]\n"
            f'slug = "bench-{index + 1}"\n'
            f'name = "Bench Hotel {index + 1}"\n'
            f'instance_id = "{instance_id(index)}"\n'
            f'api_token = "{token(index)}"\n'
            f'api_url = "{url}"\n'
            f'staff_chat_id = "{STAFF_CHAT_ID}"\n'
            'quiet_hours = "off"\n'
            "alert_cooldown_min = 0\n"
        )
    return "\n".join(parts)


def _settings_toml(
    db_url: str, scenario: Scenario, llm_url: str | None, metrics_listen: str = ""
) -> str:
    text = (
        "[database]\n"
        f'url = "{db_url}"\n'
        "[greenapi]\n"
        f"receive_timeout_s = {scenario.receive_timeout_s}\n"
        f'transport = "{scenario.transport}"\n'
        "backoff_min_s = 0.2\n"
        "backoff_max_s = 2.0\n"
        "[logging]\n"
        'level = "INFO"\n'
        'format = "text"\n'
        "[metrics]\n"
        f'listen = "{metrics_listen}"\n'
    )
    if scenario.daemons > 1:
        text += f"[leases]\nttl_s = {scenario.lease_ttl_s}\n"
    if scenario.workers is not None:
        text += f"[processing]\nworkers = {scenario.workers}\n"
    if llm_url is not None:
        text += (
            "[llm]\n"
            "enabled = true\n"
            f'base_url = "{llm_url}"\n'
            'api_key = "bench-not-a-secret"\n'
            "max_concurrency = 64\n"
        )
    return text


def _env(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTELBOT_")}
    env["HOTELBOT_CONFIG"] = str(config)
    return env


def _start_llm(latency_s: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        python_module("hotelbot.fakes.openai_server", "--latency-s", str(latency_s)),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    url = line.strip().rsplit(" ", 1)[-1]
    if not url.startswith("http"):
        stop(proc)
        raise RuntimeError(f"fake OpenAI server did not start: {line!r}")
    return proc, url


def _cpu(pids: list[int]) -> float:
    return sum(cpu_s(pid) for pid in pids)


def _measure(
    fake: FakeProcess | FakeInDriver,
    pids: list[int],
    subject: str,
    scenario: Scenario,
    tag: str,
    *,
    wait_alerts: bool,
    spawned_at: float,
    ready: Callable[[], list[str]] | None = None,
) -> SubjectResult:
    """`pids`: the subject's processes (their children are counted with them); `ready`:
    waits until the subject may take traffic (several daemons: leases balanced) and returns
    notes."""
    result = SubjectResult(subject)
    total = scenario.hotels * scenario.messages
    if ready is not None:
        result.notes.extend(ready())
    # Warm-up: one message per instance, all deleted = every poller is connected.
    before = fake.call("pending")["deleted"]
    fake.call("push", messages=1, tag=f"{tag}-warmup", complaint_share=0.0)
    if not fake.wait_drained(before + scenario.hotels, timeout_s=60 + scenario.hotels * 0.05):
        result.notes.append("warm-up did not drain within the time limit")
    result.startup_s = time.monotonic() - spawned_at
    # Let the warm-up's downstream work (processing, start-up scans) finish first.
    time.sleep(scenario.settle_s)
    faults = {
        "error_rate_500": scenario.error_rate_500,
        "error_rate_429": scenario.error_rate_429,
        "drop_rate": scenario.drop_rate,
    }
    fake.call("faults", spec=faults)
    requests_before = int(fake.call("stats")["requests"])
    deleted_before = int(fake.call("pending")["deleted"])
    cpu_before = _cpu(pids)
    fake_cpu_before = own_cpu_s(fake.pid)
    wall_before = time.monotonic()
    fake.call("push", messages=scenario.messages, tag=tag, complaint_share=scenario.complaint_share)
    drained = fake.wait_drained(deleted_before + total, timeout_s=120 + total * 0.01)
    wall_s = time.monotonic() - wall_before
    cpu_used_s = _cpu(pids) - cpu_before
    result.fake_cpu_pct = 100 * (own_cpu_s(fake.pid) - fake_cpu_before) / max(wall_s, 1e-9)
    requests_used = int(fake.call("stats")["requests"]) - requests_before
    fake.call("faults", spec={"clear": True})
    if not drained:
        result.notes.append("did not drain within the time limit")
    cpu_ingest_s = cpu_used_s
    report = fake.call("report", tag=tag)
    if wait_alerts and report["complaints"]:
        # Alerts leave through the outbox after the processor: give them time to arrive.
        # Stop early when nothing new is sent for 3 s (e.g. no processor in this tree).
        deadline = time.monotonic() + scenario.alert_wait_s
        progress_at, sent = time.monotonic(), report["sent"]
        while time.monotonic() < deadline and report["alerts_missing"]:
            if time.monotonic() - progress_at > 3.0:
                result.notes.append("staff alerts stopped arriving (no alert sender?)")
                break
            time.sleep(0.2)
            report = fake.call("report", tag=tag)
            if report["sent"] != sent:
                progress_at, sent = time.monotonic(), report["sent"]
    if wait_alerts:
        time.sleep(scenario.settle_s)  # the processing tail of the last messages
    cpu_used_s = _cpu(pids) - cpu_before
    _fill(result, report, cpu_ingest_s)
    result.cpu_ms_per_msg_total = 1000 * cpu_used_s / max(1, result.messages)
    result.requests_per_msg = requests_used / max(1, result.messages)
    result.peak_rss_mb = sum(peak_rss_mb(pid) for pid in pids)
    result.open_fds = sum(open_fds(pid) for pid in pids)
    if scenario.idle_window_s > 0:
        time.sleep(1.0)  # let the last deletes' follow-up polls start
        cpu_before = _cpu(pids)
        requests_before = int(fake.call("stats")["requests"])
        time.sleep(scenario.idle_window_s)
        result.idle_window_s = scenario.idle_window_s
        result.idle_cpu_pct = 100 * (_cpu(pids) - cpu_before) / scenario.idle_window_s
        idle_requests = int(fake.call("stats")["requests"]) - requests_before
        result.idle_requests_per_s = idle_requests / scenario.idle_window_s
        result.peak_rss_mb = sum(peak_rss_mb(pid) for pid in pids)
    return result


def _fill(result: SubjectResult, report: dict[str, Any], cpu_used_s: float) -> None:
    deleted_ms: list[float] = report["deleted_ms"]
    result.messages = int(report["messages"])
    result.undeleted = int(report["undeleted"])
    first, last = report["first_available_mono"], report["last_deleted_mono"]
    if first is not None and last is not None and last > first:
        result.duration_s = last - first
        result.acks_per_s = len(deleted_ms) / result.duration_s
    result.p50_ms = percentile(deleted_ms, 0.50)
    result.p95_ms = percentile(deleted_ms, 0.95)
    result.p99_ms = percentile(deleted_ms, 0.99)
    result.max_ms = max(deleted_ms) if deleted_ms else None
    result.cpu_ms_per_msg = 1000 * cpu_used_s / max(1, len(deleted_ms))
    alert_ms: list[float] = report["alert_ms"]
    result.complaints = int(report["complaints"])
    result.alerts = len(alert_ms)
    result.alerts_missing = int(report["alerts_missing"])
    result.alert_p50_ms = percentile(alert_ms, 0.50)
    result.alert_p95_ms = percentile(alert_ms, 0.95)
    result.alert_p99_ms = percentile(alert_ms, 0.99)


def _pin(pid: int, scenario: Scenario, *, fake: bool) -> None:
    """Apply `scenario.pin` to a process just spawned (see Scenario.pin)."""
    if scenario.pin == "off":
        return
    cpu = 1 if fake and scenario.pin == "split" else 0
    os.sched_setaffinity(pid, {cpu})


def _run_bare(fake: FakeProcess | FakeInDriver, scenario: Scenario) -> SubjectResult:
    spawned_at = time.monotonic()
    proc = subprocess.Popen(
        python_module(
            "tests.bench.bare_loop",
            "--url",
            fake.url,
            "--instances",
            str(scenario.hotels),
            "--receive-timeout-s",
            str(scenario.receive_timeout_s),
        ),
        stdout=subprocess.PIPE,
        text=True,
    )
    _pin(proc.pid, scenario, fake=False)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # "ready"
        bare = Scenario(**{**scenario.__dict__, "idle_window_s": 0.0})
        return _measure(
            fake,
            [proc.pid],
            "bare aiohttp loop",
            bare,
            "bare",
            wait_alerts=False,
            spawned_at=spawned_at,
        )
    finally:
        stop(proc)
        if proc.stdout is not None:
            proc.stdout.close()


def _run_hotelbot(
    fake: FakeProcess | FakeInDriver, scenario: Scenario, workdir: Path, tag: str = "hotelbot"
) -> SubjectResult:
    """Set up the database (SQLite file, or a PostgreSQL database created for this run and
    dropped after), then start `scenario.daemons` daemons and measure them together."""
    db_url = f"sqlite+aiosqlite:///{workdir / 'hotelbot.db'}"
    if scenario.database == "postgres":
        db_url = pg.create_database()
    try:
        return _run_daemons(fake, scenario, workdir, db_url, tag)
    finally:
        if scenario.database == "postgres":
            pg.drop_database(db_url)


def _wait_balanced(db_url: str, names: list[str], hotels: int) -> list[str]:
    """Several daemons: wait until every daemon holds its fair share of leases (the first
    one up claims every hotel; the others get theirs at the following lease rounds)."""
    quota = -(-hotels // len(names))
    deadline = time.monotonic() + 120
    owners: dict[str, int] = {}
    while time.monotonic() < deadline:
        owners = pg.leases_by_owner(db_url)
        if sum(owners.values()) == hotels and all(
            quota - 1 <= owners.get(name, 0) <= quota for name in names
        ):
            return [f"leases balanced: {owners}"]
        time.sleep(0.5)
    return [f"leases not balanced within 120 s: {owners}"]


def _run_daemons(
    fake: FakeProcess | FakeInDriver, scenario: Scenario, workdir: Path, db_url: str, tag: str
) -> SubjectResult:
    llm: subprocess.Popen[str] | None = None
    llm_url = None
    if scenario.llm_latency_s is not None:
        llm, llm_url = _start_llm(scenario.llm_latency_s)
    config = workdir / "hotelbot.toml"
    port = _free_port() if scenario.metrics else None  # the first daemon serves /metrics
    listen = "" if port is None else f"127.0.0.1:{port}"
    config.write_text(_settings_toml(db_url, scenario, llm_url, listen))
    hotels = workdir / "hotels.toml"
    hotels.write_text(_hotels_toml(fake.url, scenario.hotels))
    env = _env(config)
    for args in (["db", "upgrade"], ["hotel", "import", str(hotels)]):
        subprocess.run(
            python_module("hotelbot", *args), env=env, check=True, stdout=subprocess.DEVNULL
        )
    names = [f"bench-{index + 1}" for index in range(scenario.daemons)]
    logs = [(workdir / f"daemon-{name}.log").open("w") for name in names]
    spawned_at = time.monotonic()
    daemons: list[subprocess.Popen[bytes]] = []
    for index, (name, log) in enumerate(zip(names, logs, strict=True)):
        daemon_env = {**env, "HOTELBOT_DAEMON_NAME": name}
        if index > 0:
            daemon_env["HOTELBOT_METRICS__LISTEN"] = ""
        daemons.append(
            subprocess.Popen(
                python_module("hotelbot", "run"),
                env=daemon_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        _pin(daemons[-1].pid, scenario, fake=False)
    profiler: subprocess.Popen[bytes] | None = None
    scraper = None if port is None else _Scraper(port, scenario.scrape_every_s)
    ready = None
    if scenario.daemons > 1:
        ready = lambda: _wait_balanced(db_url, names, scenario.hotels)  # noqa: E731
    try:
        if scenario.profile_svg:
            profiler = _start_profiler(daemons[0].pid, scenario.profile_svg)
        if scraper is not None:
            scraper.start()
        result = _measure(
            fake,
            [d.pid for d in daemons],
            "hotelbot",
            scenario,
            tag,
            wait_alerts=True,
            spawned_at=spawned_at,
            ready=ready,
        )
        if scraper is not None:
            scraper.stop()
            result.notes.append(
                f"metrics on: {scraper.scrapes} scrape(s) of /metrics, "
                f"last {scraper.last_bytes:,} bytes"
            )
        for name, daemon in zip(names, daemons, strict=True):
            if daemon.poll() is not None:
                result.notes.append(f"daemon {name} exited early with status {daemon.returncode}")
        return result
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            try:
                profiler.wait(timeout=60)
            except subprocess.TimeoutExpired:
                stop(profiler)
        for name, daemon, log in zip(names, daemons, logs, strict=True):
            code = stop(daemon, timeout_s=30)
            log.close()
            if code not in (0, None):
                path = workdir / f"daemon-{name}.log"
                tail = path.read_text(errors="replace")[-2000:]
                sys.stderr.write(f"daemon {name} exited with status {code}; log tail:\n{tail}\n")
        if llm is not None:
            stop(llm)
            if llm.stdout is not None:
                llm.stdout.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Scraper(threading.Thread):
    """Scrapes the daemon's /metrics every `every_s` (its CPU is counted in the daemon's)."""

    def __init__(self, port: int, every_s: float) -> None:
        super().__init__(daemon=True)
        self._url = f"http://127.0.0.1:{port}/metrics"
        self._every_s = every_s
        self._stopped = threading.Event()
        self.scrapes = 0
        self.last_bytes = 0

    def run(self) -> None:
        while not self._stopped.wait(self._every_s):
            try:
                with urllib.request.urlopen(self._url, timeout=5) as response:
                    self.last_bytes = len(response.read())
                self.scrapes += 1
            except OSError:
                continue  # not listening yet

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=10)


def _start_profiler(pid: int, svg: str) -> subprocess.Popen[bytes] | None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        sys.stderr.write("py-spy not found (pip install py-spy); not profiling\n")
        return None
    fmt = "flamegraph" if svg.endswith(".svg") else "raw"  # raw = collapsed stacks
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "-o", svg, "--rate", "200", "--format", fmt],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_scenario(scenario: Scenario) -> ScenarioResult:
    """Run both subjects on one fresh fake process. Raises RuntimeError if a process
    cannot start; a subject that does not drain is reported with a note, not raised."""
    return run_subjects([scenario])[0]


def run_subjects(scenarios: list[Scenario]) -> list[ScenarioResult]:
    """The bare loop once (with the first scenario's load, if it wants one), then hotelbot
    once per scenario (e.g. SQLite, PostgreSQL, two daemons), all on one fake process, so
    every result's ratios are to the same bare-loop measurement. The scenarios must share
    hotels and messages."""
    first = scenarios[0]
    if any((s.hotels, s.messages) != (first.hotels, first.messages) for s in scenarios):
        raise ValueError("subjects of one run need the same hotels and messages")
    fake: FakeProcess | FakeInDriver = (
        FakeInDriver(first.hotels) if first.fake_in_driver else FakeProcess(first.hotels)
    )
    results: list[ScenarioResult] = []
    if first.pin != "off":
        if first.fake_in_driver:
            raise ValueError("--pin needs the fake in its own process")
        _pin(fake.pid, first, fake=True)
    try:
        bare = _run_bare(fake, first) if first.with_bare else SubjectResult("(not run)")
        for index, scenario in enumerate(scenarios):
            workdir = Path(tempfile.mkdtemp(prefix="hotelbot-bench-"))
            try:
                # Each subject's messages carry their own tag: its report covers only them.
                hotelbot = _run_hotelbot(fake, scenario, workdir, f"hotelbot-{index}")
            finally:
                if not scenario.keep_dir:
                    shutil.rmtree(workdir, ignore_errors=True)
                else:
                    sys.stderr.write(f"bench files kept in {workdir}\n")
            results.append(ScenarioResult(scenario, bare, hotelbot))
    finally:
        fake.close()
    return results
