"""The README's first command runs the narrated demo: it must work end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_runs_and_narrates(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTELBOT_")}
    env["HOME"] = str(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hotelbot",
            "demo",
            "--speed",
            "8",
            "--state-dir",
            str(tmp_path / "demo"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "grand-riga" in out and "nevsky-spb" in out
    assert "До сих пор жду полотенца" in out  # Russian guest text stored and shown
    assert "18 guest messages stored" in out  # 16 texts, a voice note and a photo
    assert out.count("[stored]") == 19  # and a missed call
    # Guests who send no words reach staff too (domain/signals.py).
    assert "📞 Anna (+37121111111), room 101, called on WhatsApp and nobody answered" in out
    assert "🎤 Tom (+37256666666), room 106, sent a voice note" in out
    # The welcome trigger fires for the hotels without quiet hours, through the outbox.
    assert "Welcome to Grand Hotel Riga, Mark!" in out and "[sent]" in out
    # The welcome's file goes out by URL after its text (sendFileByUrl).
    assert "'[file breakfast-menu.pdf] Our breakfast menu, Liis'  [sent]" in out
    # Klaus booked in English and writes German: his Wi-Fi answer comes in German.
    assert "Klaus writes German (booked in English)" in out
    assert "WLAN: Netz Grand Hotel Riga Guest" in out
    # Reception replies to the alert about Anna's call: acknowledged, never escalated; nobody
    # acknowledges Mark's, so the duty manager gets it once, with a reminder to staff.
    assert "alert #2 acknowledged (quote): it will not be escalated" in out
    assert "-> DUTY MANAGER 37120000099@c.us: '⏰ Not acknowledged for" in out
    assert "alert #1 (Grand Hotel Riga): Mark (+37123333333)'  [sent]" in out
    assert "Anna" not in "".join(line for line in out.splitlines() if "DUTY MANAGER" in line)
    # Sofia's breakfast question is answered from the hotel's facts.
    assert "'Breakfast is served 7:00-10:30 in the Garden Room, ground floor.'  [sent]" in out
    assert (tmp_path / "demo" / "hotelbot.sqlite3").exists()
