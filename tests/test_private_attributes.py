"""No module of the project reads or writes a private attribute of Django or a library, but django_internals.py.

A static look at the project's packages (core/, users/, outbox/...; not tests/, bench/, testsupport/):
an attribute ``x._name`` of anything but the module's own objects (``self``, ``cls``), or
``getattr(x, "_name")``, is a private one of someone else's. Django's documented ``_meta`` and
``_default_manager`` are public API despite the underscore. What no public API covers goes
into core/mail/django_internals.py, one small function with a test against the real library.
"""

import ast

from tests.conftest import ROOT

DOCUMENTED = {"_meta", "_default_manager", "_base_manager"}  # Django's docs: Model._meta API, Managers
ALLOWED_FILE = ROOT / "core" / "mail" / "django_internals.py"


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in DOCUMENTED


def private_uses(path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    where = f"{path.relative_to(ROOT)}"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            if not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"}):
                found.append(f"{where}:{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") in {"getattr", "setattr", "hasattr"}:
            name = node.args[1] if len(node.args) > 1 else None
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and private(name.value):
                found.append(f"{where}:{node.lineno}: {node.func.id}(..., {name.value!r})")
        elif isinstance(node, ast.Attribute) and node.attr == "__dir__" and isinstance(node.ctx, ast.Store):
            found.append(f"{where}:{node.lineno}: another module's __dir__ set")
    for node in tree.body:  # PEP 562: a module's own __dir__ changes what dir() of it says
        names = [node.name] if isinstance(node, ast.FunctionDef) else []
        names += [target.id for target in getattr(node, "targets", []) if isinstance(target, ast.Name)]
        if "__dir__" in names:
            found.append(f"{where}:{node.lineno}: a module-level __dir__")
    return found


def test_private_attributes_of_others_only_in_django_internals():
    packages = [
        init.parent for init in ROOT.glob("*/__init__.py") if init.parent.name not in ("tests", "bench", "testsupport")
    ]
    paths = [path for package in packages for path in package.rglob("*.py")]
    found = [use for path in paths if path != ALLOWED_FILE for use in private_uses(path)]
    assert found == [], "move these into core/mail/django_internals.py (or use a public API):\n" + "\n".join(found)
