"""How much of ``vaelib.torch`` is written again in ``vaelib.keras``: the figures of issue 11.

For a checkout (``--root``, default this repository) it prints

* non-blank lines per backend, split into docstring lines and the rest (code and comments);
* the share of torch non-blank lines that reappear, in order, in the Keras module of the
  same name: per module pair, lines are stripped and their white space folded, and the sizes
  of ``difflib.SequenceMatcher``'s matching blocks are summed (the same for docstring lines
  alone, matched against the twin's docstring lines);
* the number of pairs ``duplicates`` lists over the tree, and how many have both sides in
  the backends' modules;
* the 10 longest functions (and methods) per backend, first to last line.

Usage: ``python benchmarks/backend_twins.py [--root DIR]`` (compare two commits by running it
on a ``git worktree`` of each).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import re
import subprocess
from pathlib import Path

BACKENDS = ("torch", "keras")


def docstring_lines(tree: ast.Module) -> set[int]:
    """Line numbers (1-based) covered by module, class and function docstrings."""
    covered: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
                if isinstance(body[0].value.value, str):
                    covered.update(range(body[0].lineno, body[0].end_lineno + 1))
    return covered


def split_lines(path: Path) -> tuple[list[str], list[str]]:
    """(non-docstring, docstring) non-blank lines of a module, stripped with white space folded."""
    text = path.read_text(encoding="utf-8")
    doc = docstring_lines(ast.parse(text))
    code_lines: list[str] = []
    doc_lines: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        folded = " ".join(line.split())
        if folded:
            (doc_lines if number in doc else code_lines).append(folded)
    return code_lines, doc_lines


def matched(a: list[str], b: list[str]) -> int:
    """How many lines of ``a`` reappear in order in ``b``."""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks())


def functions(path: Path, root: Path) -> list[tuple[int, str]]:
    """(length in lines, qualified name) of every function and method of a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                found.append((child.end_lineno - child.lineno + 1, f"{path.relative_to(root)}:{name}"))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(tree, "")
    return found


def duplicate_pairs(root: Path) -> tuple[int, int, str]:
    """(pairs, pairs with both sides in a backend, lines of those pairs' longest runs, first line)."""
    proc = subprocess.run(
        ["duplicates", "--repo", str(root), "--most", "200", "--seconds", "300"],
        cwd=root, capture_output=True, text=True, check=False,
    )
    lines = proc.stdout.splitlines()
    head = lines[0] if lines else proc.stderr.strip()
    count = re.match(r"\D*(\d+)", head)
    sides = [re.findall(r"(\S+):(\d+)-(\d+)", line) for line in lines[1:]]
    inside = [pair for pair in sides if len(pair) == 2 and all(re.match(r"vaelib/(torch|keras)/", s[0]) for s in pair)]
    longest_runs = sum(int(pair[0][2]) - int(pair[0][1]) + 1 for pair in inside)
    return (int(count.group(1)) if count else -1), len(inside), longest_runs, head


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    root = parser.parse_args().root.resolve()
    rev = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    print(f"checkout: {root} at {rev.stdout.strip() or '?'}")

    modules = {b: sorted((root / "vaelib" / b).glob("*.py")) for b in BACKENDS}
    split = {b: {p.name: split_lines(p) for p in modules[b]} for b in BACKENDS}
    print("\n| backend | modules | non-blank lines | docstring lines | other lines |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for b in BACKENDS:
        code = sum(len(c) for c, _ in split[b].values())
        doc = sum(len(d) for _, d in split[b].values())
        print(f"| {b} | {len(modules[b])} | {code + doc} | {doc} | {code} |")

    total = same = doc_total = doc_same = 0
    rows = []
    for name, (code, doc) in split["torch"].items():
        twin = split["keras"].get(name)
        total += len(code) + len(doc)
        doc_total += len(doc)
        if twin is None:
            rows.append((name, len(code) + len(doc), 0))
            continue
        both = matched(code + doc, twin[0] + twin[1])
        same += both
        doc_same += matched(doc, twin[1])
        rows.append((name, len(code) + len(doc), both))
    print("\n| torch module | non-blank lines | reappearing in the Keras twin |")
    print("| --- | ---: | ---: |")
    for name, n, m in rows:
        print(f"| {name} | {n} | {m} ({m / n:.0%}) |" if n else f"| {name} | 0 | 0 |")
    print(f"| all | {total} | {same} ({same / total:.1%}) |")
    print(f"docstring lines of torch reappearing in the twin's docstrings: {doc_same} of {doc_total}"
          f" ({doc_same / max(doc_total, 1):.1%})")

    pairs, twins, run_lines, head = duplicate_pairs(root)
    print(f"\n`duplicates` over the tree: {pairs} pairs, {twins} of them inside vaelib/torch + vaelib/keras, "
          f"whose longest shared runs span {run_lines} lines ({head!r})")

    for b in BACKENDS:
        longest = sorted((f for p in modules[b] for f in functions(p, root)), key=lambda t: (-t[0], t[1]))[:10]
        print(f"\n10 longest functions in vaelib/{b}:")
        for n, name in longest:
            print(f"  {n:4d}  {name}")


if __name__ == "__main__":
    main()
