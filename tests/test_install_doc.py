"""docs/systemd.md, run as written: its `sh` blocks, in order, in a throwaway root.

The root is an overlay of this machine's `/` (writes go to a tmpfs) inside a private mount
namespace, entered with chroot: every block runs as root in one bash with `set -e`, exactly
as a sysadmin would paste it, so a failing documented step fails the test and names the
block. There is no systemd as PID 1, so a few commands are stand-ins (tests/install_shims):
`systemctl` runs the unit's main process through `hotelbot-admin --exec-start` (the unit's
user, umask, environment and credentials) and is stricter than systemd (start needs READY=1,
stop needs exit status 0); `editor` applies the edits a sysadmin would make;
`systemd-ask-password` answers with a test key; `journalctl` prints the captured log;
`apt-get update` is skipped (no network needed: the packages are installed already).

Between blocks the test plays the world: a guest writes to the fake Green API, and the test
checks the daemon stored and alerted it in the database the admin commands see; before the
upgrade step a new version is committed to the repository (a module of the old version is
gone, so a stale build/ would show). After the uninstall steps nothing is left.

Variants: SQLite with credentials, and PostgreSQL on the local socket with an environment
file (needs the machine's PostgreSQL; required under CI=true).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hotelbot.fakes.greenapi import FakeGreenApi
from hotelbot.fakes.openai_server import FakeOpenAI
from tests import shapes
from tests.conftest import require_postgres

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "systemd.md"
SHIMS = Path(__file__).resolve().parent / "install_shims"
VARIANTS = ("sqlite", "postgresql")
_MARKER = re.compile(r"^<!-- variant: (\w+) -->$")
LLM_KEY = "sk-install-test-0123456789"
HOTELS = (("grand-riga", "1101000001", "Grand Hotel Riga"), ("nevsky-spb", "7103000002", "Nevsky"))

needs_root_tools = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("chroot") is None,
    reason="needs root with unshare and chroot (the project's machines and CI have them)",
)


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced `sh` block of the page: where it is and which variant it belongs to."""

    line: int
    heading: str
    variant: str | None
    text: str


def doc_blocks(markdown: str) -> list[Block]:
    """Every ```sh block, with the heading above it and the variant marker right before it."""
    blocks: list[Block] = []
    heading, variant, fence = "", None, None
    body: list[str] = []
    start = 0
    previous = ""
    for number, line in enumerate(markdown.splitlines(), start=1):
        if fence is not None:
            if line.strip() == "```":
                if fence == "sh":
                    blocks.append(Block(start, heading, variant, "\n".join(body) + "\n"))
                fence, body = None, []
            else:
                body.append(line)
            continue
        if line.startswith("```"):
            fence, start = line[3:].strip(), number
            marker = _MARKER.match(previous.strip())
            variant = marker.group(1) if marker else None
        elif line.startswith("#"):
            heading = line.lstrip("#").strip()
        previous = line
    return blocks


def blocks_for(variant: str) -> list[Block]:
    return [b for b in doc_blocks(DOC.read_text()) if b.variant in (None, variant)]


def test_the_page_is_runnable_as_written() -> None:
    """The rules the install test relies on: known variant markers, each variant complete,
    and nothing in an `sh` block that needs sudo, an interactive editor of units, or a
    terminal that never returns."""
    blocks = doc_blocks(DOC.read_text())
    assert len(blocks) >= 15
    assert {b.variant for b in blocks} == {None, *VARIANTS}
    for block in blocks:
        assert "sudo " not in block.text, block
        assert "systemctl edit" not in block.text, block
        assert "journalctl" not in block.text or " -f" not in block.text, block
        # `! cmd` is never an error under `set -e`: the test could not catch it failing.
        assert not re.search(r"^\s*!\s", block.text, re.MULTILINE), block
    for variant in VARIANTS:
        text = "".join(b.text for b in blocks_for(variant))
        for step in (
            "db upgrade",
            "hotel import",
            "doctor",
            "enable --now",
            "db backup" if variant == "sqlite" else "pg_dump",
            "pip install --upgrade",
            "userdel",
        ):
            assert step in text, (variant, step)


# -- the throwaway root ---------------------------------------------------------------------

_SETUP = r"""
set -e
base=$1; shims=$2; repo=$3; postgres=$4
shift 4
mount --make-rprivate /
mount -t tmpfs -o size=6g,mode=0700 tmpfs "$base"
mkdir "$base/upper" "$base/work" "$base/root"
root=$base/root
mount -t overlay overlay -o "lowerdir=/,upperdir=$base/upper,workdir=$base/work" "$root"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mkdir -p "$root/opt/install-test" "$root/srv/hotelbot-repo" "$root/run/lock"
mount --bind "$shims" "$root/opt/install-test"
mount --bind "$repo" "$root/srv/hotelbot-repo"
if [ "$postgres" = yes ]; then
    mkdir -p "$root/run/postgresql"
    mount --bind /run/postgresql "$root/run/postgresql"
fi
exec chroot "$root" /usr/bin/env -i \
    PATH=/opt/install-test/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive \
    HOTELBOT_REPO=/srv/hotelbot-repo "$@" /bin/bash --noprofile --norc -s
"""


class StepFailed(AssertionError):
    pass


class ThrowawayRoot:
    """A bash in a chroot on an overlay of `/`, in its own mount namespace. `run()` feeds it
    one script and returns the output; a failing command ends the shell (`set -e`) and
    raises StepFailed with the output. `close()` kills every process of the namespace."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.steps = 0
        self.namespace = ""

    @classmethod
    async def start(cls, base: Path, shims: Path, repo: Path, *, postgres: bool) -> ThrowawayRoot:
        passed = [f"{k}={v}" for k, v in os.environ.items() if k.startswith("PIP_")]
        proc = await asyncio.create_subprocess_exec(
            "unshare",
            "--mount",
            "--fork",
            "--",
            "sh",
            "-c",
            _SETUP,
            "setup",
            str(base),
            str(shims),
            str(repo),
            "yes" if postgres else "no",
            *passed,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        root = cls(proc)
        root.namespace = await root._child_namespace()
        # `! cmd` never trips `set -e` in bash: checks that something fails use this.
        await root.run(
            'set -e\nmust_fail() { if "$@"; then echo "unexpectedly worked: $*"; return 1; fi; }\n',
            "set up the shell",
            timeout_s=60,
        )
        return root

    async def _child_namespace(self) -> str:
        # unshare(1) moves itself into the new namespace before it forks the shell.
        own = os.readlink("/proc/self/ns/mnt")
        for _ in range(100):
            if self.proc.returncode is not None:
                break
            with contextlib.suppress(OSError):
                namespace = os.readlink(f"/proc/{self.proc.pid}/ns/mnt")
                if namespace != own:
                    return namespace
            await asyncio.sleep(0.05)
        assert self.proc.stdout is not None
        out = await self.proc.stdout.read() if self.proc.returncode is not None else b""
        raise RuntimeError(f"the throwaway root did not start: {out.decode(errors='replace')}")

    async def run(self, script: str, label: str, *, timeout_s: float = 900) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        script = script if script.endswith("\n") else script + "\n"
        self.steps += 1
        step = self.steps
        path = f"/tmp/install-step-{step}.sh"
        self.proc.stdin.write(
            f"cat > {path} <<'@@END-OF-STEP@@'\n{script}@@END-OF-STEP@@\n"
            f". {path}\necho '@@STEP-DONE {step}'\n".encode()
        )
        await self.proc.stdin.drain()
        lines: list[str] = []
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    raw = await self.proc.stdout.readline()
                    if not raw:
                        raise StepFailed(_report(label, script, lines, "the shell exited"))
                    line = raw.decode(errors="replace").rstrip("\n")
                    if line == f"@@STEP-DONE {step}":
                        if os.environ.get("HOTELBOT_INSTALL_TEST_VERBOSE"):  # for debugging
                            print(f"--- {label}\n{script}--- output\n" + "\n".join(lines))
                        return "\n".join(lines)
                    lines.append(line)
        except TimeoutError:
            raise StepFailed(_report(label, script, lines, f"no end after {timeout_s} s")) from None

    async def close(self) -> None:
        for pid in _pids_in_namespace(self.namespace):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        await self.proc.wait()


def _pids_in_namespace(namespace: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(entry / "ns" / "mnt") == namespace:
                    found.append(int(entry.name))
    return found


def _report(label: str, script: str, lines: list[str], why: str) -> str:
    tail = "\n".join(lines[-80:])
    return f"documented step failed ({why}): {label}\n--- step ---\n{script}--- output ---\n{tail}"


# -- fixtures: repository, shims, fake servers --------------------------------------------------


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=install-test",
            "-c",
            "user.email=install-test@example.org",
            "-c",
            "init.defaultBranch=main",
            *args,
        ],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def make_repository(target: Path) -> Path:
    """A git repository holding this working tree (tracked and new files, not ignored ones)
    plus a module that only this first version has."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / "hotelbot" / "_install_test_v1.py").write_text("VERSION = 1\n")
    _git(target, "init", "-q")
    _git(target, "add", "-A")
    _git(target, "commit", "-q", "-m", "version 1")
    return target


def commit_next_version(repo: Path) -> None:
    (repo / "hotelbot" / "_install_test_v1.py").unlink()
    (repo / "hotelbot" / "_install_test_v2.py").write_text("VERSION = 2\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "version 2")


def hotels_toml(api_url: str) -> str:
    entries: list[str] = []
    for slug, instance, name in HOTELS:
        entries.append(
            f'[[hotels]]\nslug = "{slug}"\nname = "{name}"\ninstance_id = "{instance}"\n'
            f'api_token = "token-{slug}"\napi_url = "{api_url}"\ntimezone = "Europe/Riga"\n'
            f'staff_chat_id = "3712000000{len(entries)}@c.us"\ndefault_language = "en"\n'
        )
    return "\n".join(entries)


def make_shims(target: Path, *, variant: str, api_url: str, llm_url: str) -> Path:
    bin_dir = target / "bin"
    bin_dir.mkdir(parents=True)
    scripts = {
        "systemctl": (SHIMS / "fake_systemctl.py").read_text(),
        "editor": (SHIMS / "fake_editor.py").read_text(),
        "journalctl": "#!/bin/sh\ncat /var/log/fake-journal/hotelbot.log 2>/dev/null || true\n",
        "systemd-ask-password": "#!/bin/sh\ncat /opt/install-test/answer\n",
        "apt-get": (
            '#!/bin/sh\nif [ "$1" = update ]; then\n'
            '    echo "apt-get update: skipped by the install test"; exit 0\nfi\n'
            'exec /usr/bin/apt-get "$@"\n'
        ),
    }
    for name, text in scripts.items():
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)
    (target / "answer").write_text(LLM_KEY + "\n")
    settings_edits = [["https://api.deepseek.com", llm_url]]
    if variant == "postgresql":  # the reader follows §4.2: the key in hotelbot.env
        settings_edits.append(["enabled = false", "enabled = true"])
    edits = {
        "/etc/hotelbot/hotelbot.toml": {"replace": settings_edits},
        "/etc/hotelbot/hotels.toml": {"content": hotels_toml(api_url)},
        "/etc/hotelbot/hotelbot.env": {
            "replace": [["HOTELBOT_DEEPSEEK_API_KEY=\n", f"HOTELBOT_DEEPSEEK_API_KEY={LLM_KEY}\n"]]
        },
    }
    (target / "edits.json").write_text(json.dumps(edits))
    return target


@contextlib.contextmanager
def _pg_lock() -> Iterator[None]:
    """The PostgreSQL variant creates the role and database `hotelbot` (as the page says) in
    the machine's server: one run at a time."""
    import fcntl

    with open("/tmp/hotelbot-install-test-postgresql.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


async def _pg(sql: str) -> list[tuple[object, ...]]:
    import asyncpg

    from tests.conftest import PG_URL, _asyncpg_dsn

    conn = await asyncpg.connect(_asyncpg_dsn(PG_URL))
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def _pg_clean() -> None:
    await _pg("DROP DATABASE IF EXISTS hotelbot WITH (FORCE)")
    await _pg("DROP ROLE IF EXISTS hotelbot")


@contextlib.asynccontextmanager
async def throwaway_root(
    variant: str, fake_url: str, llm_url: str
) -> AsyncIterator[tuple[ThrowawayRoot, Path]]:
    with tempfile.TemporaryDirectory(prefix="hotelbot-install-") as tmp:
        base = Path(tmp)
        repo = make_repository(base / "repo")
        shims = make_shims(base / "shims", variant=variant, api_url=fake_url, llm_url=llm_url)
        (base / "ns").mkdir()
        root = await ThrowawayRoot.start(base / "ns", shims, repo, postgres=variant == "postgresql")
        try:
            yield root, repo
        finally:
            await root.close()


# -- the test ---------------------------------------------------------------------------------


@pytest.fixture(params=[VARIANTS[0], pytest.param(VARIANTS[1], marks=pytest.mark.postgres)])
def variant(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        require_postgres()
    return str(request.param)


@needs_root_tools
@pytest.mark.slow
@pytest.mark.timeout(1800)
async def test_install_upgrade_and_uninstall_as_documented(variant: str) -> None:
    lock = _pg_lock() if variant == "postgresql" else contextlib.nullcontext()
    with lock:
        if variant == "postgresql":
            await _pg_clean()
        try:
            await _walk_the_page(variant)
        finally:
            if variant == "postgresql":
                await _pg_clean()


async def _walk_the_page(variant: str) -> None:
    async with (
        FakeGreenApi(long_poll_scale=0.05) as fake,
        FakeOpenAI(api_key=LLM_KEY) as llm,
    ):
        for slug, instance, _ in HOTELS:
            fake.add_instance(instance, f"token-{slug}")
        async with throwaway_root(variant, fake.url, llm.base_url) as (root, repo):
            seen: set[str] = set()
            for block in blocks_for(variant):
                if block.heading.endswith("Upgrade"):
                    commit_next_version(repo)
                label = f"docs/systemd.md line {block.line} ({block.heading})"
                output = await root.run(block.text, label)
                seen.add(block.heading)
                if "enable --now" in block.text:
                    await _check_the_running_service(root, fake, llm, variant)
                if "db backup" in block.text:
                    private = r"-rw------- 1 hotelbot hotelbot .* hotelbot-\d"
                    assert re.search(private, output), output
                if "pg_dump" in block.text:
                    private = r"-rw------- 1 root +root .* hotelbot-\d+-\d+\.dump"
                    assert re.search(private, output), output
                if block.heading.endswith("Upgrade"):
                    await _check_the_upgrade(root)
            assert any(h.endswith("Uninstall") for h in seen)
            await _check_nothing_is_left(root, variant)


async def _check_the_running_service(
    root: ThrowawayRoot, fake: FakeGreenApi, llm: FakeOpenAI, variant: str
) -> None:
    """A guest complains: the daemon (run as the unit says) stores and alerts it, and the
    admin commands read it from the same database."""
    instance = fake.instance(HOTELS[0][1])
    instance.push(
        shapes.incoming_text(
            HOTELS[0][1],
            "37129999999@c.us",
            "The shower is broken and there is no hot water!",
            sender_name="Anna",
        )
    )
    await instance.wait_drained(30)
    await instance.wait_sent(1, 30)  # the staff alert
    assert instance.sent[0].chat_id == "37120000000@c.us"
    assert llm.requests, "the LLM was enabled as documented but never asked"
    listing = await root.run(
        "hotelbot-admin messages list --hotel grand-riga\n", "test: messages list"
    )
    assert "no hot water" in listing, listing
    where = await root.run("hotelbot-admin db info --path\n", "test: db info --path")
    expected = (
        "/var/lib/hotelbot/hotelbot.sqlite3"
        if variant == "sqlite"
        else "postgresql+asyncpg://hotelbot@/hotelbot?host=/run/postgresql"
    )
    assert where.strip().splitlines()[-1] == expected, where
    owners = await root.run(
        "stat -c '%U:%G %a %n' /var/lib/hotelbot/* 2>/dev/null || true\n", "test: owners"
    )
    for line in owners.splitlines():
        assert line.startswith("hotelbot:hotelbot 600 "), owners


async def _check_the_upgrade(root: ThrowawayRoot) -> None:
    await root.run(
        "/opt/hotelbot/.venv/bin/python -c 'import hotelbot._install_test_v2'\n"
        "must_fail /opt/hotelbot/.venv/bin/python -c 'import hotelbot._install_test_v1' \\\n"
        "    2>/dev/null\n"
        "systemctl is-active hotelbot\n",
        "test: the upgrade installed version 2 only",
    )


async def _check_nothing_is_left(root: ThrowawayRoot, variant: str) -> None:
    await root.run(
        "must_fail getent passwd hotelbot\nmust_fail getent group hotelbot\n"
        "for p in /opt/hotelbot /var/lib/hotelbot /etc/hotelbot /var/backups/hotelbot \\\n"
        "    /usr/local/sbin/hotelbot-admin /etc/systemd/system/hotelbot.service \\\n"
        "    /etc/systemd/system/multi-user.target.wants/hotelbot.service; do\n"
        '    if [ -e "$p" ] || [ -L "$p" ]; then echo "left behind: $p"; exit 1; fi\n'
        "done\nmust_fail systemctl is-active hotelbot\n",
        "test: uninstall left nothing",
    )
    if variant == "postgresql":
        assert await _pg("SELECT 1 FROM pg_database WHERE datname = 'hotelbot'") == []
        assert await _pg("SELECT 1 FROM pg_roles WHERE rolname = 'hotelbot'") == []
