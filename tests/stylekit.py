"""The class names our Python code gives the pages, and the class names a stylesheet defines.

`used_classes()` reads the app's sources (main.py, components/, pages/) with `ast`: every string
passed to `.classes(...)` (also `add=`, `remove=`, `replace=`), to a `classes=` argument, or to a
parameter the code splices into classes (`classes`, `width`, `gap`, `columns`: their defaults and
what callers pass); Quasar props that take classes (`class=`, `card-class=`, `content-class=`, …);
and `class="…"` in HTML and Vue templates. Names are followed to the string constants they hold
(module constants, also imported ones, and a function's own variables), f-strings are filled in
where their parts are such names; a piece that stays unknown (`text-{align}`) is left out.

`defined_classes(css)`: the class selectors of a stylesheet (Tailwind's escapes undone).
scripts/build_css.py feeds `used_classes()` to the Tailwind CLI; tests/test_stylesheet.py checks
every used class is defined in the committed sheet, by Quasar or NiceGUI, or by our own `*_CSS`.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("main.py", "components", "pages")
CLASS_PARAMS = frozenset({"classes", "width", "gap", "columns"})  # parameters spliced into classes
CLASS_METHOD_KEYWORDS = frozenset({"add", "remove", "replace"})
HOLE = "\0"  # a part of a string no constant says
MAX_VARIANTS = 64
PROP_CLASS = re.compile(r"(?:^|\s)(?:[\w-]+-)?class=(?:'([^']*)'|\"([^\"]*)\"|([^\s'\"]\S*))")
HTML_CLASS = re.compile(r"\bclass=\"([^\"]*)\"|\bclass='([^']*)'")
CSS_CLASS = re.compile(r"\.(-?(?:[A-Za-z_]|\\.)(?:\\.|[\w-])*)")
ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6}\s?|.)")


def source_files(root: Path = ROOT) -> list[Path]:
    files: list[Path] = []
    for name in SOURCES:
        path = root / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


class Strings:
    """What string values an expression may have, from the constants of all the app's modules."""

    def __init__(self, trees: Iterable[ast.Module]) -> None:
        self.constants: dict[str, set[str]] = {}
        for tree in trees:
            for node in tree.body:
                if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        if isinstance(target, ast.Name):
                            self.constants.setdefault(target.id, set()).update(self.values(node.value, None))

    def values(self, node: ast.expr, scope: ast.AST | None) -> set[str]:
        """The strings `node` may be (HOLE where a part is unknown), at most MAX_VARIANTS."""
        out: set[str]
        if isinstance(node, ast.Constant):
            out = {node.value} if isinstance(node.value, str) else {HOLE}
        elif isinstance(node, ast.JoinedStr):
            parts = [self.values(v, scope) for v in node.values]
            out = {"".join(p) for p in itertools.islice(itertools.product(*parts), MAX_VARIANTS)}
        elif isinstance(node, ast.FormattedValue):
            out = self.values(node.value, scope)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            pairs = itertools.product(self.values(node.left, scope), self.values(node.right, scope))
            out = {a + b for a, b in itertools.islice(pairs, MAX_VARIANTS)}
        elif isinstance(node, ast.IfExp):
            out = self.values(node.body, scope) | self.values(node.orelse, scope)
        elif isinstance(node, ast.Name):
            out = self.local(node.id, scope) or self.constants.get(node.id, set()) or {HOLE}
        else:
            out = {HOLE}
        return out

    def local(self, name: str, scope: ast.AST | None) -> set[str]:
        """A function's own variable: everything assigned to it (`+=` adds its pieces as options)."""
        if scope is None:
            return set()
        out: set[str] = set()
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                out |= self.values(node.value, None if node.value is scope else scope)
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
                out |= {f"{base} {extra}" for base in out or {""} for extra in self.values(node.value, scope)}
        return out


def tokens(text: str) -> Iterator[str]:
    """The whole class names in a class list (a name touching an unknown part is left out)."""
    for token in text.split():
        if HOLE not in token:
            yield token


def _class_lists(node: ast.AST, strings: Strings, scope: ast.AST | None, signatures: dict[str, list[str]]) -> set[str]:
    """The class lists (strings) one call node gives an element."""
    out: set[str] = set()
    if not isinstance(node, ast.Call):
        return out
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name == "classes":
        for arg in node.args:
            out |= strings.values(arg, scope)
        for keyword in node.keywords:
            if keyword.arg in CLASS_METHOD_KEYWORDS:
                out |= strings.values(keyword.value, scope)
    params = signatures.get(name, [])
    for index, arg in enumerate(node.args):
        if index < len(params) and params[index] in CLASS_PARAMS:
            out |= strings.values(arg, scope)
    for keyword in node.keywords:
        if keyword.arg in CLASS_PARAMS:
            out |= strings.values(keyword.value, scope)
    return out


def _signatures(trees: Iterable[ast.Module]) -> dict[str, list[str]]:
    """Each function's (and class's __init__'s) positional parameter names, by the name it is called by."""
    out: dict[str, list[str]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                out.setdefault(node.name, [a.arg for a in node.args.args])
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                        out[node.name] = [a.arg for a in item.args.args[1:]]
    return out


def _defaults(node: ast.FunctionDef, strings: Strings) -> set[str]:
    """The defaults of a function's class parameters."""
    args = node.args
    pairs = list(zip(args.args[len(args.args) - len(args.defaults) :], args.defaults, strict=True))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None]
    return {v for a, d in pairs if a.arg in CLASS_PARAMS for v in strings.values(d, None)}


def _functions(tree: ast.Module) -> Iterator[tuple[ast.AST | None, ast.AST]]:
    """Every node with the function it is in (None: module level)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                yield node, inner
    for node in ast.iter_child_nodes(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for inner in ast.walk(node):
                yield None, inner


def used_classes(root: Path = ROOT) -> set[str]:
    """Every class name the app's Python code gives an element (see the module's docstring)."""
    trees = [ast.parse(path.read_text(encoding="utf-8"), str(path)) for path in source_files(root)]
    strings = Strings(trees)
    signatures = _signatures(trees)
    lists: set[str] = set()
    for tree in trees:
        for scope, node in _functions(tree):
            lists |= _class_lists(node, strings, scope, signatures)
            if isinstance(node, ast.FunctionDef):
                lists |= _defaults(node, strings)
            if isinstance(node, ast.Constant | ast.JoinedStr):
                for text in strings.values(node, scope):
                    lists |= {m[0] or m[1] for m in HTML_CLASS.findall(text)}
                    lists |= {next(g for g in m if g) for m in PROP_CLASS.findall(text) if any(m)}
    return {token for text in lists for token in tokens(text)}


def defined_classes(css: str) -> set[str]:
    """The class names a stylesheet's selectors (and, harmlessly, its other text) name."""
    return {ESCAPE.sub(lambda m: _unescape(m[1]), name) for name in CSS_CLASS.findall(css)}


def _unescape(escaped: str) -> str:
    if len(escaped) > 1 or escaped in "0123456789abcdefABCDEF":
        try:
            return chr(int(escaped.strip(), 16))
        except ValueError:
            return escaped
    return escaped
