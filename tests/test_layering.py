"""The dependency direction of the package, read from the source with `ast` (docs/architecture.md):

    domain  <-  app  <-  daemon (runtime), cli, ops
      ^          ^
      '-- adapters (greenapi, storage, sentiment) depend inward only

The runtime (daemon/), the CLI, the operator tools (ops/) and the narrated demo (demo.py)
import no SQLAlchemy (not even for a type; `SQL_FREE`). Exceptions that exist today are
listed by file with the reason; the lists may only shrink (a test fails when an entry is no
longer needed, so it gets deleted)."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "hotelbot"

# Libraries that do I/O or run things: none of them may appear in domain/ (nor in app/).
IO_LIBRARIES = frozenset(
    {
        "aiohttp", "aiosqlite", "alembic", "anyio", "apscheduler", "asyncio", "asyncpg",
        "httpx", "loguru", "openai", "prometheus_client", "pydantic", "socket", "sqlalchemy",
        "sqlite3", "ssl", "subprocess", "tenacity", "threading", "typer",
    }
)  # fmt: skip
ADAPTERS = ("greenapi", "storage", "sentiment")
OUTER = ("daemon", "cli", "ops", "demo", "fakes")  # runtime, entry points, tooling

# domain/ may read its own packaged data files (the rules lexicon) with these standard modules;
# a loader in sentiment/ could take this over (review-architecture.md §3.2).
FILE_ACCESS = frozenset({"importlib.resources", "pathlib", "os", "io"})
DOMAIN_FILE_READERS = {
    "domain/rules/lexicon.py": {"importlib.resources", "pathlib"},
    "domain/rules/model.py": {"importlib.resources"},
}


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("storage/migrations/"):
            continue  # Alembic's scripts: generated shape, SQL by nature
        yield relative, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imports(tree: ast.Module) -> set[str]:
    """Absolute names imported anywhere in the module (also inside functions and
    TYPE_CHECKING blocks: a type-only edge still couples the layers)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _module_of(name: str, modules: set[str] | frozenset[str]) -> str | None:
    """The one of `modules` that `name` is or lies inside (`pathlib.Path` -> "pathlib")."""
    return next((m for m in modules if name == m or name.startswith(m + ".")), None)


def _top(name: str) -> str:
    return name.split(".")[0]


def _layer_of(name: str) -> str | None:
    """`hotelbot.storage.outbox` -> "storage"; `hotelbot.redact` -> "redact"; else None."""
    parts = name.split(".")
    return parts[1] if parts[0] == "hotelbot" and len(parts) > 1 else None


MODULES = dict(_modules())


def _covers(prefix: str, relative: str) -> bool:
    """A prefix ending in "/" is a directory (everything under it); else one module's path."""
    return relative.startswith(prefix) if prefix.endswith("/") else relative == prefix


def _violations(
    prefix: str,
    forbidden: set[str] | frozenset[str],
    *,
    layers: bool,
    modules: dict[str, ast.Module] = MODULES,
) -> list[str]:
    found = []
    for relative, tree in modules.items():
        if not _covers(prefix, relative):
            continue
        for name in sorted(_imports(tree)):
            target = _layer_of(name) if layers else _top(name)
            if target in forbidden:
                found.append(f"{relative} imports {name}")
    return found


def test_the_scan_sees_the_package() -> None:
    assert len(MODULES) > 100 and "domain/outbox.py" in MODULES and "daemon/app.py" in MODULES


def test_domain_imports_no_io_library_and_no_other_layer() -> None:
    problems = []
    for relative, tree in MODULES.items():
        if not relative.startswith("domain/"):
            continue
        allowed_readers = DOMAIN_FILE_READERS.get(relative, set())
        for name in sorted(_imports(tree)):
            top = _top(name)
            if top == "hotelbot":
                if _layer_of(name) != "domain":
                    problems.append(f"{relative} imports {name} (another layer)")
            elif top in IO_LIBRARIES:
                problems.append(f"{relative} imports {name} (I/O library)")
            elif top not in sys.stdlib_module_names and top != "__future__":
                problems.append(f"{relative} imports {name} (third-party)")
            elif _module_of(name, FILE_ACCESS - allowed_readers) is not None:
                problems.append(f"{relative} imports {name} (file access)")
    assert problems == []


def test_the_domain_file_reader_exception_is_still_needed() -> None:
    for relative, allowed in DOMAIN_FILE_READERS.items():
        found = (_module_of(n, allowed) for n in _imports(MODULES[relative]))
        used = {m for m in found if m is not None}
        assert used == allowed, f"{relative}: shrink DOMAIN_FILE_READERS to {sorted(used)}"


def test_app_layer_has_no_sql_no_tasks_and_no_outer_layer() -> None:
    assert _violations("app/", IO_LIBRARIES, layers=False) == []
    assert _violations("app/", {*ADAPTERS, *OUTER}, layers=True) == []


def test_the_app_check_fails_on_a_forbidden_import() -> None:
    planted = {
        "app/planted.py": ast.parse(
            "from sqlalchemy import select\nfrom hotelbot.storage.db import Database\n"
            "def f():\n    import asyncio\n"
        )
    }
    assert _violations("app/", IO_LIBRARIES, layers=False, modules=planted) == [
        "app/planted.py imports asyncio",
        "app/planted.py imports sqlalchemy",
        "app/planted.py imports sqlalchemy.select",
    ]
    assert _violations("app/", {*ADAPTERS, *OUTER}, layers=True, modules=planted) != []


# The use cases of issue 17, each one async function in its own app/ module: the CLI, the
# daemon and ops/ call it, so no other module may define a function of the same name (a
# second copy of the rule would drift from the first).
USE_CASES = {
    "app/understand.py": {"understand_batch", "refine_verdicts"},
    "app/alerts.py": {"decide_alerts", "send_followups"},
    "app/handled.py": {"mark_handled", "handle_conversation"},
    "app/staff_send.py": {"send_as_staff"},
    "app/trigger_fire.py": {"decide_fire"},
    "app/forget_guest.py": {"forget_guest"},
    "app/outbox_step.py": {
        "cancel_withdrawn",
        "send_claimed",
        "record_outcomes",
        "settle_unknown_sends",
    },
}


def _defined_functions(tree: ast.Module) -> set[str]:
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def _use_case_homes(modules: dict[str, ast.Module]) -> list[str]:
    """Problems: a use case missing from its module, or defined again elsewhere."""
    problems = []
    for home, names in USE_CASES.items():
        tree = modules.get(home)
        top = {
            n.name: n for n in (tree.body if tree else []) if isinstance(n, ast.AsyncFunctionDef)
        }
        problems += [f"{home} lacks async def {name}" for name in sorted(names - set(top))]
        for relative, other in modules.items():
            if relative != home:
                again = sorted(names & _defined_functions(other))
                problems += [f"{relative} defines {name} again" for name in again]
    return problems


def test_each_use_case_exists_once_in_the_app_layer() -> None:
    assert _use_case_homes(MODULES) == []
    planted = {**MODULES, "ops/planted.py": ast.parse("async def forget_guest(db): pass\n")}
    assert _use_case_homes(planted) == ["ops/planted.py defines forget_guest again"]
    emptied = {**MODULES, "app/forget_guest.py": ast.parse("")}
    assert _use_case_homes(emptied) == ["app/forget_guest.py lacks async def forget_guest"]


# Lease fencing is one structure (docs/scale-out.md): only the unit of work checks leases.
FENCING_CHECKS = frozenset({"holds_lease", "lock_owned_epochs", "lease_held"})
FENCING_HOMES = frozenset({"storage/leases.py", "storage/unit_of_work.py"})


def _hand_fencing(modules: dict[str, ast.Module]) -> list[str]:
    return [
        f"{relative} imports {name}"
        for relative, tree in modules.items()
        if relative not in FENCING_HOMES
        for name in sorted(_imports(tree))
        if name.startswith("hotelbot.storage.leases.") and name.rsplit(".", 1)[1] in FENCING_CHECKS
    ]


def test_no_component_fences_by_hand() -> None:
    assert _hand_fencing(MODULES) == []
    planted = {"daemon/x.py": ast.parse("from hotelbot.storage.leases import lock_owned_epochs")}
    assert _hand_fencing(planted) == [
        "daemon/x.py imports hotelbot.storage.leases.lock_owned_epochs"
    ]


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_adapters_depend_inward_only(adapter: str) -> None:
    # Never on the runtime, the entry points or the tooling, nor on a sibling adapter.
    siblings = {a for a in ADAPTERS if a != adapter}
    assert _violations(f"{adapter}/", {*OUTER, *siblings}, layers=True) == []


# The runtime, the CLI, ops/ and the demo read and write through storage functions (typed
# rows, `StorageError`) and the use cases of app/: they import no SQLAlchemy, not even for a
# type (a transaction handle is `storage.db.Connection`). A directory ends in "/"; "demo.py"
# is the one module it names.
SQL_FREE = ("cli/", "daemon/", "ops/", "demo.py")


def _sql_imports(prefix: str, modules: dict[str, ast.Module]) -> list[str]:
    """Modules under `prefix` that import the database library, anywhere in the module."""
    return _violations(prefix, {"sqlalchemy"}, layers=False, modules=modules)


def test_every_sql_free_entry_names_modules_that_exist() -> None:
    assert all(any(_covers(prefix, relative) for relative in MODULES) for prefix in SQL_FREE)


@pytest.mark.parametrize("prefix", SQL_FREE)
def test_the_cli_the_runtime_ops_and_the_demo_import_no_sqlalchemy(prefix: str) -> None:
    assert _sql_imports(prefix, MODULES) == []


@pytest.mark.parametrize("prefix", SQL_FREE)
def test_the_sqlalchemy_check_sees_imports_in_functions_and_type_checking_blocks(
    prefix: str,
) -> None:
    module = f"{prefix}planted.py" if prefix.endswith("/") else prefix
    planted = {
        module: ast.parse(
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from sqlalchemy.ext.asyncio import AsyncConnection\n"
            "def f():\n    import sqlalchemy.exc\n"
        ),
        "storage/planted.py": ast.parse("from sqlalchemy import select\n"),  # SQL's home
        f"{prefix.rstrip('/').removesuffix('.py')}_other.py": ast.parse(
            "import sqlalchemy\n"
        ),  # not it
    }
    assert _sql_imports(prefix, planted) == [
        f"{module} imports sqlalchemy.exc",
        f"{module} imports sqlalchemy.ext.asyncio",
        f"{module} imports sqlalchemy.ext.asyncio.AsyncConnection",
    ]


def test_shipped_code_never_imports_the_tests() -> None:
    importing = [r for r, t in MODULES.items() if any(_top(n) == "tests" for n in _imports(t))]
    assert importing == []


# -- no absolute machine paths -------------------------------------------------------------

# An absolute path starts with a filesystem root directory. Allowed: the system locations the
# product documents (/etc, /var, /run, /usr) and the kernel's interfaces (/proc, /dev), which
# are the same on every Linux host (the benchmarks read /proc/PID/stat, scripts /dev/null).
_ROOTS = (
    "bin|boot|dev|etc|home|lib|lib64|media|mnt|opt|proc|root|run|sbin|srv|sys|tmp|usr|var|"
    "Users|Volumes|private|work|workspace|shared|data|nix|snap|mnt"
)
_ABSOLUTE = re.compile(rf"(?<![\w.:/~)}}$-])/({_ROOTS})(?=/|\b)")
_ALLOWED_ROOTS = frozenset({"etc", "var", "run", "usr", "proc", "dev"})
# systemd's own unit search path (systemd.unit(5)), where ops/unitfile.py looks for the unit.
_ALLOWED_PATHS = ("/lib/systemd/system",)
# Scanned besides the package: what `make` runs (the benchmarks and the evaluation scripts
# included) and the settings the operator copies. Not
# systemd/: a unit needs absolute paths, and its install root /opt/hotelbot is the one
# docs/systemd.md documents.
_OTHER_SOURCES = ("Makefile", "pyproject.toml", "config", "tests/bench", "tests/eval")


def _source_files() -> Iterator[Path]:
    yield from PACKAGE.rglob("*.py")
    yield from (p for p in PACKAGE.rglob("*") if p.suffix in {".toml", ".ini", ".mako", ".txt"})
    root = PACKAGE.parent
    for name in _OTHER_SOURCES:
        target = root / name
        if target.is_file():
            yield target
        elif target.is_dir():
            # Compiled caches embed the interpreter's own paths; they are not sources.
            yield from (
                p for p in target.rglob("*") if p.is_file() and "__pycache__" not in p.parts
            )


def absolute_paths(text: str) -> list[str]:
    """The absolute filesystem paths in `text` outside the allowed system locations."""
    return [
        m.group(0)
        for m in _ABSOLUTE.finditer(text)
        if m.group(1) not in _ALLOWED_ROOTS and not text.startswith(_ALLOWED_PATHS, m.start())
    ]


def test_the_path_finder_finds_machine_paths_and_spares_system_ones() -> None:
    assert absolute_paths('DATA = Path("/work/shared/eval")') == ["/work"]
    assert absolute_paths("see /home/ops/notes and /tmp/x.db") == ["/home", "/tmp"]
    assert absolute_paths("/etc/hotelbot/hotelbot.toml /var/lib/hotelbot /run/x /usr/bin") == []
    assert absolute_paths("https://api.green-api.com/waInstance1/x ./tmp/a src/lib/b") == []
    assert absolute_paths("BIN := $(VENV)/bin; /lib/systemd/system/hotelbot.service") == []


def test_no_absolute_machine_path_in_the_sources() -> None:
    found = []
    for path in _source_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for line_no, line in enumerate(text.splitlines(), 1):
            for hit in absolute_paths(line):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{line_no}: {hit}")
    assert found == []


# -- SQL has one home --------------------------------------------------------------------------

# Outside storage/ no module imports SQLAlchemy or storage's table definitions (with those it
# could build statements of its own); `SQL_FREE` above names the layers this matters most for,
# this rule covers the whole package, the fakes and shared helpers included. The one exception
# is listed with what it may import and why.
TABLE_MODULES = ("hotelbot.storage.all_models", "hotelbot.storage.dialect")
SQL_EXCEPTIONS = {
    # Parses and renders the database URL the settings hold (to add the pg_password
    # credential, to name the SQLite file), lazily: the URL grammar is SQLAlchemy's.
    "settings.py": "sqlalchemy.engine",
}


def _is_table_module(name: str) -> bool:
    module = name.rsplit(".", 1)[0] if name.count(".") > 2 else name
    leaf = module.removeprefix("hotelbot.storage.")
    return module in TABLE_MODULES or (
        module.startswith("hotelbot.storage.") and (leaf == "models" or leaf.startswith("models_"))
    )


def _sql_outside_storage(modules: dict[str, ast.Module]) -> list[str]:
    found = []
    for relative, tree in modules.items():
        if relative.startswith("storage/"):
            continue
        allowed = SQL_EXCEPTIONS.get(relative)
        for name in sorted(_imports(tree)):
            if _is_table_module(name):
                found.append(f"{relative} imports {name} (a table definition)")
            elif _top(name) == "sqlalchemy" and not (
                allowed and (name == allowed or name.startswith(allowed + "."))
            ):
                found.append(f"{relative} imports {name}")
    return found


def test_sql_lives_in_storage_only() -> None:
    assert _sql_outside_storage(MODULES) == []


def test_the_sql_home_check_fails_on_planted_imports() -> None:
    planted = {
        "observability/planted.py": ast.parse("from sqlalchemy import func\n"),
        "fakes/planted.py": ast.parse(
            "def f():\n    from hotelbot.storage.models_messaging import Alert\n"
        ),
        "redact_planted.py": ast.parse("import hotelbot.storage.dialect\n"),
        "settings.py": ast.parse("from sqlalchemy import select\n"),  # beyond its exception
        "storage/planted.py": ast.parse("from sqlalchemy import select\n"),  # SQL's home
        "daemon/fine.py": ast.parse("from hotelbot.storage.outbox import open_by_lane\n"),
    }
    assert _sql_outside_storage(planted) == [
        "observability/planted.py imports sqlalchemy",
        "observability/planted.py imports sqlalchemy.func",
        "fakes/planted.py imports hotelbot.storage.models_messaging (a table definition)",
        "fakes/planted.py imports hotelbot.storage.models_messaging.Alert (a table definition)",
        "redact_planted.py imports hotelbot.storage.dialect (a table definition)",
        "settings.py imports sqlalchemy",
        "settings.py imports sqlalchemy.select",
    ]


@pytest.mark.parametrize("relative", sorted(SQL_EXCEPTIONS))
def test_each_sql_exception_is_still_needed(relative: str) -> None:
    allowed = SQL_EXCEPTIONS[relative]
    assert any(
        name == allowed or name.startswith(allowed + ".") for name in _imports(MODULES[relative])
    ), f"{relative} no longer imports {allowed}: delete its entry in SQL_EXCEPTIONS"
