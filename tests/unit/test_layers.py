"""The import direction of docs/style.md: transports -> service -> ha -> inventory, mysql -> domain.

Nothing below a transport imports a transport; ``domain`` imports nothing that does I/O.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "mega"
TRANSPORTS = ("mega.api", "mega.rpc.server", "mega.http", "mega.cli", "mega.daemon")
IO_MODULES = ("sqlalchemy", "pymysql", "psycopg", "socket", "subprocess", "mega.inventory", "mega.mysql",
              "mega.ha", "mega.service", "requests", "httpx")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py")) if (SRC / package).is_dir() else [SRC / f"{package}.py"]


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_domain_is_pure() -> None:
    for path in modules("domain"):
        bad = [m for m in imports(path) if under(m, IO_MODULES)]
        assert not bad, f"{path.name} imports {bad}"


def test_lower_layers_never_import_transports_or_the_service() -> None:
    for package in ("domain", "inventory", "mysql", "ha", "sandbox"):
        for path in modules(package):
            bad = [m for m in imports(path) if under(m, TRANSPORTS + ("mega.service", "mega.service_groups"))]
            assert not bad, f"{package}/{path.name} imports {bad}"


def test_service_never_imports_transports() -> None:
    for name in ("service", "service_groups"):
        bad = [m for m in imports(SRC / f"{name}.py") if under(m, TRANSPORTS)]
        assert not bad, f"{name}.py imports {bad}"
