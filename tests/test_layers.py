"""Dependencies run one way (CONTRIBUTING.md's layout): a static look at every import of the project's packages.

users → delivery → core.mail; outbox → core.mail; mailserver → outbox. The project
package's own settings, URLs and commands (core/ outside core/mail/) may import any of them.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What each package may import of the project, besides itself.
ALLOWED = {
    "core.mail": {"core.env", "core.security"},
    "delivery": {"core.mail", "core.security", "core.staff"},
    "users": {"delivery", "core.mail", "core.security", "core.counters", "core.env"},
    "outbox": {"core.mail", "core.security", "core.staff"},
    "mailserver": {"outbox", "core.mail", "core.security"},
}
PROJECT = ("core", "delivery", "users", "outbox", "mailserver")


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] in PROJECT}


def package_of(module: str) -> str | None:
    return next((package for package in ALLOWED if module == package or module.startswith(package + ".")), None)


def test_each_package_imports_only_what_lies_below_it():
    wrong = []
    for package, allowed in ALLOWED.items():
        folder = ROOT.joinpath(*package.split("."))
        for path in folder.rglob("*.py"):
            if "migrations" in path.parts:  # history: a migration may name any app's models
                continue
            for name in sorted(imports(path)):
                own = name == package or name.startswith(package + ".")
                if not own and not any(name == ok or name.startswith(ok + ".") for ok in allowed):
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, "against the layering in CONTRIBUTING.md:\n" + "\n".join(wrong)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_circle_even_inside_a_function():
    """No module reaches itself through the imports of the modules it imports (a function-level import counts:
    hiding a circle inside a function is still a circle)."""
    paths = [
        path for package in PROJECT for path in ROOT.joinpath(package).rglob("*.py") if "migrations" not in path.parts
    ]
    modules = {module_name(path): path for path in paths}
    graph = {
        name: {
            found for found in imports(path) if found in modules and found != name and not name.startswith(found + ".")
        }
        for name, path in modules.items()
    }
    circles, done = [], set()

    def visit(name, trail):
        if name in trail:
            circles.append(" → ".join([*trail[trail.index(name) :], name]))
            return
        if name in done:
            return
        for following in sorted(graph[name]):
            visit(following, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    assert not circles, "import circles:\n" + "\n".join(circles)
