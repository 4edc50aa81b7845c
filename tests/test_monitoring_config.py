"""The shipped Prometheus rules and Grafana dashboard: valid for promtool, firing when they
should, and naming only metrics the daemon exposes (checked against a real scrape in
tests/test_metrics.py, which calls `check_against_scrape`)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "config" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "config" / "grafana" / "hotelbot.json"
PROMTOOL = shutil.which("promtool")

needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not installed (apt-get install --no-install-recommends prometheus); "
    "CI installs it",
)

_NAME = re.compile(r"\b(hotelbot_[a-z_]+?)(?:_bucket|_count|_sum)?\b")


def referenced_metrics() -> set[str]:
    """Every hotelbot_* metric family named by the alert rules and the dashboard."""
    text = ALERTS.read_text() + json.dumps(json.loads(DASHBOARD.read_text()))
    return set(_NAME.findall(text))


def check_against_scrape(scrape_text: str) -> None:
    """Raise AssertionError when the rules or dashboard name a metric the scrape lacks, or
    when promtool finds a problem in the scrape (when promtool is installed)."""
    families = set(re.findall(r"^# TYPE (\S+) ", scrape_text, flags=re.M))
    families |= {f"{name}_info" for name in families if f"{name}_info" in scrape_text}
    missing = {name for name in referenced_metrics() if name not in families}
    assert not missing, f"rules/dashboard name metrics the daemon does not expose: {missing}"
    if PROMTOOL is not None:
        done = subprocess.run(
            [PROMTOOL, "check", "metrics"], input=scrape_text, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, "check", "rules", str(ALERTS)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7 rules found" in done.stdout


_RULE_TESTS = """
rule_files: [{alerts}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'hotelbot_instance_state{{job="hotelbot",hotel="riga",state="notAuthorized"}}'
        values: '0 0 1 1 1 1 1'
      - series: 'hotelbot_instance_state{{job="hotelbot",hotel="tallinn",state="notAuthorized"}}'
        values: '0 0 0 0 0 0 0'
      - series: 'hotelbot_outbox_oldest_pending_age_seconds{{hotel="riga",lane="alert"}}'
        values: '0 60 130 190 250 310 370'
      - series: 'hotelbot_outbox_oldest_pending_age_seconds{{hotel="riga",lane="automated"}}'
        values: '0 600 1200 1800 2400 3000 3600'
      - series: 'hotelbot_notifications_dead_lettered_total{{hotel="riga",type="malformed"}}'
        values: '0 0 0 1 1 1 1'
      - series: 'up{{job="hotelbot",instance="a:9464"}}'
        values: '1 1 0 0 0 0 0'
    alert_rule_test:
      - eval_time: 6m
        alertname: HotelbotInstanceNotAuthorized
        exp_alerts:
          - exp_labels: {{severity: critical, hotel: riga}}
      - eval_time: 3m
        alertname: HotelbotInstanceNotAuthorized
        exp_alerts: []
      - eval_time: 4m
        alertname: HotelbotStaffAlertWaiting
        exp_alerts:
          - exp_labels: {{severity: critical, hotel: riga}}
      - eval_time: 2m
        alertname: HotelbotStaffAlertWaiting
        exp_alerts: []
      - eval_time: 5m
        alertname: HotelbotDeadLettersRising
        exp_alerts:
          - exp_labels: {{severity: warning, hotel: riga}}
      - eval_time: 5m
        alertname: HotelbotDaemonDown
        exp_alerts:
          - exp_labels: {{severity: critical, job: hotelbot, instance: "a:9464"}}
"""


def without_annotations(rules: str) -> str:
    """The rules with their `annotations:` blocks cut (promtool's unit tests would otherwise
    compare every word of them); expressions, durations and labels stay as shipped."""
    kept: list[str] = []
    cutting_below: int | None = None
    for line in rules.splitlines():
        indent = len(line) - len(line.lstrip())
        if cutting_below is not None and (not line.strip() or indent > cutting_below):
            continue
        cutting_below = indent if line.strip() == "annotations:" else None
        if cutting_below is None:
            kept.append(line)
    return "\n".join(kept) + "\n"


@needs_promtool
def test_alerts_fire_when_they_should(tmp_path: Path) -> None:
    """promtool's rule unit tests: a logged-out instance, a staff alert waiting over 2 min
    (automated messages waiting do not count), a dead letter, a daemon down."""
    assert PROMTOOL is not None
    rules = tmp_path / "alerts.yml"
    rules.write_text(without_annotations(ALERTS.read_text()))
    spec = tmp_path / "alerts_test.yml"
    spec.write_text(_RULE_TESTS.format(alerts=json.dumps(str(rules))))
    done = subprocess.run([PROMTOOL, "test", "rules", str(spec)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dashboard_is_grafana_json_with_queries() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "hotelbot"
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 10 and all("hotelbot_" in e or "process_" in e for e in exprs)
    assert {"hotelbot_instance_state", "hotelbot_staff_alert_latency_seconds"} <= (
        referenced_metrics()
    )
