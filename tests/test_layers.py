"""The package's layers: no module imports from a layer above it, no import cycles, a torch-free face."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "symbolic"

# Each package (or top-level module) and its layer: a module may import its own layer and those below.
LAYERS = {
    "errors": 0, "utils": 0, "paths": 0, "score": 0, "threads": 0,
    "styles": 1,
    "inputs": 2, "outputs": 2, "tokenization": 2,
    "resources": 3, "audio": 3, "data": 3, "analysis": 3,
    "sampling": 4,
    "models": 5, "polyphonic": 5,
    "evaluation": 6,
    "jobs": 7,
    "cli": 8, "__main__": 8,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every ``symbolic...`` module a file imports, at any depth (lazy imports inside functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("symbolic.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("symbolic"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names
                      if (PACKAGE / Path(*node.module.split(".")[1:]) / f"{a.name}.py").is_file()}
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in imports(path) if m in modules and m != name} for name, path in modules.items()}


def layer(module: str) -> int | None:
    parts = module.split(".")
    return None if len(parts) == 1 else LAYERS[parts[1]]


def test_every_package_has_a_layer():
    assert {module_name(p).split(".")[1] for p in PACKAGE.rglob("*.py") if module_name(p) != "symbolic"} \
        <= set(LAYERS)


def test_no_module_imports_from_a_layer_above():
    upward = [(name, target) for name, targets in graph().items() for target in targets
              if layer(name) is not None and layer(target) is not None and layer(target) > layer(name)]
    assert upward == []


def test_no_import_cycles():
    edges = graph()
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_layer_check_sees_an_upward_import(tmp_path):
    assert "symbolic.jobs.arrange" in imports(PACKAGE / "cli" / "jobs.py")
    assert layer("symbolic.jobs.arrange") > layer("symbolic.tokenization.stream")


def test_import_symbolic_needs_no_torch_and_the_face_loads_on_use():
    code = ("import sys, symbolic; assert 'torch' not in sys.modules, 'torch imported'; "
            "assert 'symbolic.jobs' not in sys.modules; "
            "from symbolic import JobConfig; assert JobConfig().guidance_scale == 6.0; "
            "import symbolic.styles.registry, symbolic.styles.words, symbolic.styles.mix; "
            "assert 'torch' not in sys.modules, 'styles imported torch'; "
            "assert callable(symbolic.convert) and callable(symbolic.load_decoder); "
            "assert symbolic.accompany.__module__ == 'symbolic.jobs.arrange'; print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
