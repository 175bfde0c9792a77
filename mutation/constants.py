"""The changes mutmut does not make: module-level constants, regular expressions and closed lists.

mutmut changes code inside functions only. The rules also live in what a module sets when it is
imported: a length bound, a character class, the members of a role's set of permissions. This
module changes each of them, one at a time, and runs the module's database-free tests against the
changed module:

- a whole number outside a function (a bound, a default, a date's part): one more, one less;
- a regular expression (the pattern of a ``re.*`` call, and a string constant a pattern is built
  from, such as ``LETTER``): each character class narrowed and widened at each end of each range,
  each of its members left out, one character it did not hold added; each ``{m,n}``, ``{m}``
  or ``{m,}`` bound moved by one; each alternative of an alternation left out; each ``?`` left
  out, ``*`` made ``+``, ``+`` left out; each flag of a ``re.compile`` left out;
- a closed list, set or map of a module-level assignment: each entry left out; a set of an enum's
  members: each other member added.

Each change is applied to the module's source text only: the child process that runs the tests
imports the changed text in place of the file (no copy of the tree), so the file on disk is never
touched. A change the module cannot be imported with (an invalid pattern, an impossible date) is
counted apart, as *invalid*: no test had to notice it.
"""

from __future__ import annotations

import ast
import difflib
import enum
import importlib
import importlib.abc
import importlib.util
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
# What each child imports afresh: the project, and py7zr, which importing liaison patches (it
# refuses to patch a py7zr already patched). Listing the members of an enum imports liaison here.
FRESH_PACKAGES = ("liaison", "schemas", "retention", "tests", "py7zr")
REGEX_CALLS = {"compile", "sub", "search", "match", "fullmatch", "findall", "split", "finditer"}
# One character each class is tried with when the class did not hold it ("one out").
FOREIGN_CANDIDATES = "_/#0a. é"


@dataclass(frozen=True)
class Mutant:
    """One change to one module's source."""

    module: str  # dotted name, e.g. "schemas.patterns"
    line: int
    operator: str  # "number", "regex", "entry"
    description: str  # what changed, e.g. "[ \\-'] without ' '"
    source: bytes  # the whole changed module

    @property
    def name(self) -> str:
        return f"{self.module}:{self.line} {self.description}"

    @property
    def change(self) -> str:
        """The changed lines (``+``) or, for a line left out, the line (``-``): what the accepted
        survivors' file names the mutant by."""
        original = (ROOT / Path(*self.module.split("."))).with_suffix(".py").read_text().splitlines()
        diff = difflib.unified_diff(original, self.source.decode().splitlines(), n=0, lineterm="")
        lines = [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        added = [line[1:].strip() for line in lines if line.startswith("+")]
        return " ".join(added) if added else "- " + " ".join(line[1:].strip() for line in lines)


class Outcome(enum.Enum):
    KILLED = "killed"  # a test failed, or a test module could not be imported with the change
    TIMEOUT = "timeout"  # counted as killed, as mutmut does: the tests noticed something
    SURVIVED = "survived"
    INVALID = "invalid"  # the changed module itself does not import: counted apart
    ERROR = "error"  # pytest could not run (no test collected, a usage error…): nothing noticed it


# --- finding what to change ---------------------------------------------------------------------


class _Edits:
    """Byte offsets of a module's source, from ast positions (whose columns count UTF-8 bytes)."""

    def __init__(self, source: bytes) -> None:
        self.source = source
        self.line_starts = [0]
        for line in source.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(line))

    def start(self, node: ast.AST) -> int:
        return self.line_starts[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]

    def end(self, node: ast.AST) -> int:
        return self.line_starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]

    def replaced(self, start: int, end: int, text: bytes) -> bytes:
        return self.source[:start] + text + self.source[end:]


def _outside_functions(tree: ast.Module) -> Iterator[ast.stmt]:
    """The statements run at import: the module's, and the class bodies' (methods excluded)."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        statement = pending.pop(0)
        if isinstance(statement, ast.ClassDef):
            pending[:0] = statement.body
        elif not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            yield statement


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


def _assigned_names(statement: ast.stmt) -> list[str]:
    targets = statement.targets if isinstance(statement, ast.Assign) else [getattr(statement, "target", None)]
    return [target.id for target in targets if isinstance(target, ast.Name)]


def _described_kwargs(statement: ast.stmt) -> set[int]:
    """ids of nodes under ``metadata=``/``example=``/``label=`` arguments: documentation, not rules."""
    skipped: set[int] = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.keyword) and node.arg in ("metadata", "example", "label", "error_messages"):
            skipped.update(id(inner) for inner in ast.walk(node.value))
    return skipped


def number_mutants(module: str, source: bytes, tree: ast.Module) -> Iterator[Mutant]:
    edits = _Edits(source)
    for statement in _outside_functions(tree):
        if _is_docstring(statement) or "__all__" in _assigned_names(statement):
            continue
        skipped = _described_kwargs(statement)
        for node in ast.walk(statement):
            if id(node) in skipped or not isinstance(node, ast.Constant) or type(node.value) is not int:
                continue
            start, end = edits.start(node), edits.end(node)
            written = source[start:end].decode()
            if not written.isdigit():
                continue  # 0x…, 1_000: none in the rule modules
            for changed in (node.value + 1, node.value - 1):
                if changed < 0:
                    continue
                yield Mutant(
                    module,
                    node.lineno,
                    "number",
                    f"{written} becomes {changed}",
                    edits.replaced(start, end, str(changed).encode()),
                )


def _regex_calls(tree: ast.Module) -> Iterator[ast.Call]:
    """The ``re.*`` calls whose pattern is a literal, anywhere in the module."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
            and node.func.attr in REGEX_CALLS
            and node.args
            and isinstance(node.args[0], ast.Constant | ast.JoinedStr)
        ):
            yield node


def _flag_changes(call: ast.Call, edits: _Edits) -> Iterator[tuple[str, int, int, bytes]]:
    """Each flag of a ``re.compile`` left out: (description, start, end, replacement)."""
    positional = call.args[1] if len(call.args) > 1 and getattr(call.func, "attr", "") == "compile" else None
    flags = positional or next((keyword.value for keyword in call.keywords if keyword.arg == "flags"), None)
    if flags is None:
        return
    atoms = [node for node in ast.walk(flags) if isinstance(node, ast.Attribute)]
    for atom in atoms:
        others = [ast.unparse(other) for other in atoms if other is not atom]
        if others:
            yield f"without {ast.unparse(atom)}", edits.start(flags), edits.end(flags), " | ".join(others).encode()
        else:  # the only flag: the argument goes, with its comma
            yield f"without {ast.unparse(atom)}", edits.end(call.args[0]), edits.end(flags), b""


def _constant_strings(tree: ast.Module) -> dict[str, ast.Constant]:
    found = {}
    for statement in tree.body:
        value = getattr(statement, "value", None)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            for name in _assigned_names(statement):
                found[name] = value
    return found


def regex_mutants(module: str, source: bytes, tree: ast.Module) -> Iterator[Mutant]:
    edits = _Edits(source)
    strings = _constant_strings(tree)
    values = {name: str(node.value) for name, node in strings.items()}
    class_parts: set[str] = set()  # string constants interpolated into patterns' classes
    for call in _regex_calls(tree):
        for description, start, end, written in _flag_changes(call, edits):
            yield Mutant(module, call.lineno, "regex", description, edits.replaced(start, end, written))
        pattern = call.args[0]
        if isinstance(pattern, ast.JoinedStr):
            class_parts.update(
                part.value.id
                for part in pattern.values
                if isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name)
            )
        start, end = edits.start(pattern), edits.end(pattern)
        for offset, literal in _string_tokens(source[start:end]):
            for description, changed in _pattern_changes(literal, values):
                yield Mutant(
                    module,
                    pattern.lineno,
                    "regex",
                    description,
                    edits.replaced(start + offset, start + offset + len(literal.text.encode()), changed.encode()),
                )
    for name in sorted(class_parts & strings.keys()):
        node = strings[name]
        start, end = edits.start(node), edits.end(node)
        for offset, literal in _string_tokens(source[start:end]):
            for description, changed in _class_content_changes(literal, 0, len(literal.body), values):
                yield Mutant(
                    module,
                    node.lineno,
                    "regex",
                    f"{name}: {description}",
                    edits.replaced(
                        start + offset, start + offset + len(literal.text.encode()), literal.rebuilt(changed).encode()
                    ),
                )


@dataclass(frozen=True)
class _Literal:
    """One string literal token: its prefix, quote and body, as written."""

    prefix: str
    quote: str
    body: str

    @property
    def text(self) -> str:
        return f"{self.prefix}{self.quote}{self.body}{self.quote}"

    @property
    def raw(self) -> bool:
        return "r" in self.prefix.lower()

    @property
    def formatted(self) -> bool:
        return "f" in self.prefix.lower()

    def rebuilt(self, body: str) -> str:
        return f"{self.prefix}{self.quote}{body}{self.quote}"


_LITERAL_START = re.compile(r"([rRbBfFuU]{0,2})(\'\'\'|\"\"\"|\'|\")")


def _string_tokens(segment: bytes) -> Iterator[tuple[int, _Literal]]:
    """Each literal of a (possibly implicitly concatenated) string expression, with its byte offset
    (read by hand, not with tokenize, which splits f-strings into parts from Python 3.12)."""
    text = segment.decode()
    index = 0
    while index < len(text):
        if text[index] == "#":  # a comment between two literals: to the end of its line
            newline = text.find("\n", index)
            index = len(text) if newline < 0 else newline
            continue
        match = _LITERAL_START.match(text, index)
        if not match:
            index += 1
            continue
        prefix, quote = match.groups()
        end = match.end()
        while not text.startswith(quote, end):
            end += 2 if text[end] == "\\" else 1
        literal = _Literal(prefix, quote, text[match.end() : end])
        if literal.raw or "\\" not in literal.body:  # escapes mean something else to Python than to re
            yield len(text[:index].encode()), literal
        index = end + len(quote)


def _pattern_changes(literal: _Literal, values: dict[str, str]) -> Iterator[tuple[str, str]]:
    body = literal.body
    for start, end in _classes(body, literal.formatted):
        for description, changed in _class_content_changes(literal, start, end, values):
            yield description, literal.rebuilt(changed)
    quantifier = r"\{\{(\d+)(,\d*)?\}\}" if literal.formatted else r"(?<!\\)\{(\d+)(,\d*)?\}"
    open_, close = ("{{", "}}") if literal.formatted else ("{", "}")
    for match in re.finditer(quantifier, body):
        if _inside_class(body, match.start(), literal.formatted):
            continue
        low, upper = int(match.group(1)), match.group(2) or ""  # upper: "" {m}, "," {m,}, ",n" {m,n}
        moved = [(low - 1, upper), (low + 1, upper)]
        if len(upper) > 1:
            high = int(upper[1:])
            moved += [(low, f",{high - 1}"), (low, f",{high + 1}")]
        for new_low, new_upper in moved:
            if new_low < 0 or (len(new_upper) > 1 and int(new_upper[1:]) < new_low):
                continue
            written = f"{open_}{new_low}{new_upper}{close}"
            yield (
                f"{match.group(0)} becomes {written}",
                literal.rebuilt(body[: match.start()] + written + body[match.end() :]),
            )
    for index, char in _operators(body, literal.formatted):
        if char == "|":
            continue
        replacement = {"?": "", "*": "+", "+": ""}[char]
        yield (
            f"{body[max(0, index - 12) : index + 1]!r}: {char!r} becomes {replacement!r}",
            literal.rebuilt(body[:index] + replacement + body[index + 1 :]),
        )
    for start, end in _alternatives(body, literal.formatted):
        changed = body[:start] + body[end:]
        yield f"alternative {body[start:end].strip('|')!r} left out", literal.rebuilt(changed)


def _scan(body: str, formatted: bool) -> Iterator[tuple[int, str, bool]]:
    """Each position of a pattern's body: its index, the atom there, and whether it is in a class."""
    index, in_class, class_start = 0, False, -1
    while index < len(body):
        char = body[index]
        if char == "\\":
            atom = body[index : index + 2]
        elif formatted and body.startswith(("{{", "}}"), index):
            atom = body[index : index + 2]
        elif formatted and char == "{":
            atom = body[index : body.index("}", index) + 1]
        else:
            atom = char
        yield index, atom, in_class
        if atom == "[" and not in_class:
            in_class, class_start = True, index
        elif atom == "]" and in_class and index > class_start + 1 and body[class_start + 1 : index] != "^":
            in_class = False
        index += len(atom)


def _classes(body: str, formatted: bool) -> Iterator[tuple[int, int]]:
    """The (start, end) of each character class's content, brackets excluded."""
    start = None
    for index, atom, in_class in _scan(body, formatted):
        if atom == "[" and not in_class:
            start = index + 1
        elif atom == "]" and in_class and start is not None and index > start:
            yield start, index
            start = None


def _inside_class(body: str, position: int, formatted: bool) -> bool:
    return any(start <= position < end for start, end in _classes(body, formatted))


def _operators(body: str, formatted: bool) -> Iterator[tuple[int, str]]:
    previous = ""
    for index, atom, in_class in _scan(body, formatted):
        if not in_class and atom in ("?", "*", "+", "|") and previous not in ("(", "?", "*", "+", "}"):
            yield index, atom
        previous = atom if not in_class else "]"


def _alternatives(body: str, formatted: bool) -> Iterator[tuple[int, int]]:
    """The span of each alternative of each alternation, with one of its ``|``."""
    groups: list[list[int]] = [[-1]]  # for each open group: where its first alternative starts (less one), its bars
    spans: list[tuple[int, int]] = []

    def close(marks: list[int], end: int) -> None:
        if len(marks) < 2:
            return
        cuts = [*marks, end]
        for number in range(len(cuts) - 1):
            start = cuts[number] + 1
            if number == 0:
                spans.append((start, cuts[1] + 1))  # the first alternative and the bar after it
            else:
                spans.append((cuts[number], cuts[number + 1]))  # the bar before it and the alternative

    for index, atom, in_class in _scan(body, formatted):
        if in_class:
            continue
        if atom == "(":
            groups.append([index + (2 if body.startswith("(?:", index) else 0)])
        elif atom == ")":
            close(groups.pop(), index)
        elif atom == "|":
            groups[-1].append(index)
    close(groups.pop(), len(body))
    return iter(spans)


def _class_content_changes(
    literal: _Literal, start: int, end: int, values: dict[str, str]
) -> Iterator[tuple[str, str]]:
    """Changes to the class content ``body[start:end]``: each member out, each range end moved, one char in."""
    body = literal.body
    content = body[start:end]
    members = _class_members(content, literal.formatted)
    for member_start, member_end, low, high in members:
        if len(members) > 1:
            yield (
                f"[{content}] without {content[member_start:member_end]!r}",
                body[: start + member_start] + body[start + member_end :],
            )
        if low is None or high is None:
            continue
        for new_low, new_high in ((low + 1, high), (low, high - 1), (low - 1, high), (low, high + 1)):
            if new_low > new_high:
                continue
            written = _class_char(chr(new_low), literal) + "-" + _class_char(chr(new_high), literal)
            if "\x00" in written:
                continue
            yield (
                f"[{content}]: {content[member_start:member_end]!r} becomes {written!r}",
                body[: start + member_start] + written + body[start + member_end :],
            )
    held = _compiled_class(content, values, literal.formatted)
    if held is None:
        return
    for candidate in FOREIGN_CANDIDATES:
        if not held.fullmatch(candidate):
            written = _class_char(candidate, literal)
            at = start + 1 if content.startswith("^") else start  # first: a last "-" would make a range
            yield f"[{content}] also takes {candidate!r}", body[:at] + written + body[at:]
            return


def _class_members(content: str, formatted: bool) -> list[tuple[int, int, int | None, int | None]]:
    """Each member of a class: its span, and for a range its two ends' code points."""
    atoms = [(index, atom) for index, atom, _ in _scan(content, formatted)]
    members: list[tuple[int, int, int | None, int | None]] = []
    number = 0
    while number < len(atoms):
        index, atom = atoms[number]
        if number + 2 < len(atoms) and atoms[number + 1][1] == "-" and number + 2 < len(atoms):
            high_index, high = atoms[number + 2]
            low_char, high_char = _char_of(atom), _char_of(high)
            if low_char is not None and high_char is not None:
                members.append((index, high_index + len(high), ord(low_char), ord(high_char)))
                number += 3
                continue
        members.append((index, index + len(atom), None, None))
        number += 1
    return members


def _char_of(atom: str) -> str | None:
    if len(atom) == 1:
        return atom
    if atom.startswith("\\") and len(atom) == 2 and not atom[1].isalnum():
        return atom[1]
    return None


def _class_char(char: str, literal: _Literal) -> str:
    """``char`` written inside a class of ``literal`` (or "\\x00" when it cannot be written plainly)."""
    if not char.isprintable() or char == literal.quote[0]:
        return "\x00"
    if char in "]\\^-[":
        return "\\" + char if literal.raw else "\x00"
    if literal.formatted and char in "{}":
        return char * 2
    return char


def _compiled_class(content: str, values: dict[str, str], formatted: bool) -> re.Pattern[str] | None:
    if formatted:
        try:
            content = re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], content)
        except KeyError:
            return None
        content = content.replace("{{", "{").replace("}}", "}")
    try:
        return re.compile(f"[{content}]")
    except re.error:
        return None


def entry_mutants(module: str, source: bytes, tree: ast.Module) -> Iterator[Mutant]:
    """Each entry of a module-level closed list, set or map left out; each other member of an enum
    added to a set of that enum's members."""
    edits = _Edits(source)
    loaded: ModuleType | None = None
    for statement in tree.body:
        if not isinstance(statement, ast.Assign | ast.AnnAssign) or statement.value is None:
            continue
        names = _assigned_names(statement)
        if "__all__" in names or not names:
            continue
        for node in ast.walk(statement.value):
            elements: Sequence[ast.expr]
            if isinstance(node, ast.Dict):
                if None in node.keys:
                    continue  # a {**other, …}: none in the rule modules
                elements = [key for key in node.keys if key is not None]
                ends = list(node.values)
            elif isinstance(node, ast.Set | ast.List) or (isinstance(node, ast.Tuple) and node is statement.value):
                elements, ends = node.elts, node.elts
            elif isinstance(node, ast.Call) and len(node.args) > 1 and all(isinstance(a, ast.Tuple) for a in node.args):
                elements, ends = node.args, node.args
            else:
                continue
            for number, (first, last) in enumerate(zip(elements, ends, strict=True)):
                start = edits.start(first)
                end = edits.start(elements[number + 1]) if number + 1 < len(elements) else edits.end(last)
                if number + 1 == len(elements) and number > 0:
                    start = edits.end(ends[number - 1])  # the last one: take the comma before it
                removed = source[edits.start(first) : edits.end(last)].decode()
                yield Mutant(
                    module,
                    first.lineno,
                    "entry",
                    f"{names[0]} without {' '.join(removed.split())[:80]}",
                    edits.replaced(start, end, b""),
                )
            if isinstance(node, ast.Set) and node.elts and all(isinstance(e, ast.Attribute) for e in node.elts):
                if loaded is None:
                    loaded = importlib.import_module(module)
                yield from _added_members(module, statement, node, edits, loaded, names[0])


def _added_members(
    module: str, statement: ast.stmt, node: ast.Set, edits: _Edits, loaded: ModuleType, name: str
) -> Iterator[Mutant]:
    first = node.elts[0]
    if not isinstance(first, ast.Attribute):
        return
    owner = eval(compile(ast.Expression(first.value), module, "eval"), vars(loaded))  # noqa: S307 (our own source)
    if not (isinstance(owner, type) and issubclass(owner, enum.Enum)):
        return
    present = {element.attr for element in node.elts if isinstance(element, ast.Attribute)}
    written = ast.unparse(first.value)
    for member in owner:
        if member.name in present:
            continue
        end = edits.end(node.elts[-1])
        yield Mutant(
            module,
            node.lineno,
            "entry",
            f"{name} also holds {written}.{member.name}",
            edits.replaced(end, end, f", {written}.{member.name}".encode()),
        )


MUTATORS: tuple[Callable[[str, bytes, ast.Module], Iterator[Mutant]], ...] = (
    number_mutants,
    regex_mutants,
    entry_mutants,
)


def mutants_of(path: Path) -> list[Mutant]:
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    source = path.read_bytes()
    tree = ast.parse(source)
    found: dict[bytes, Mutant] = {}
    for mutator in MUTATORS:
        for mutant in mutator(module, source, tree):
            if mutant.source != source:
                found.setdefault(mutant.source, mutant)  # two ways to the same text: one mutant
    return list(found.values())


# --- running the tests against each change ------------------------------------------------------


class _ChangedSource(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports one module from the given text instead of its file."""

    def __init__(self, module: str, path: Path, source: bytes) -> None:
        self.module, self.path, self.source = module, path, source

    def find_spec(self, name: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if name != self.module:
            return None
        return importlib.util.spec_from_file_location(name, self.path, loader=self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        exec(compile(self.source, str(self.path), "exec"), module.__dict__)  # noqa: S102 (the module's own source)


INVALID_EXIT = 70
# Stop at the first failure; no conftest (the rule tests use no fixture of the service: the
# unchanged run would fail otherwise, and the pass stops); hypothesis's examples the same at every
# run, none missing a deadline (mutation.hypothesis_profile);
# the libraries imported before the fork (hypothesis is also a pytest plugin) cannot be rewritten
# for assertions, and need not be.
PYTEST_OPTIONS = (
    "-x",
    "-q",
    "-p",
    "no:cacheprovider",
    "--noconftest",
    "-p",
    "mutation.hypothesis_profile",
    "-W",
    "ignore::pytest.PytestAssertRewriteWarning",
)


def _child(mutant: Mutant | None, tests: Sequence[str]) -> None:
    """In a forked process: forget the project's modules, import the changed one, run the tests."""
    for name in list(sys.modules):
        if name.split(".")[0] in FRESH_PACKAGES:
            del sys.modules[name]
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    if mutant is not None:
        path = ROOT / Path(*mutant.module.split(".")).with_suffix(".py")
        sys.meta_path.insert(0, _ChangedSource(mutant.module, path, mutant.source))
        try:
            importlib.import_module(mutant.module)
        except Exception:  # any failure to import is what makes the change invalid
            os._exit(INVALID_EXIT)
    import pytest

    code = pytest.main([*tests, *PYTEST_OPTIONS])
    os._exit(int(code))


def _start(mutant: Mutant | None, tests: Sequence[str]) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            _child(mutant, tests)
        finally:
            os._exit(99)
    return pid


def _outcome(status: int) -> Outcome:
    """From pytest's exit code: 1 tests failed, 2 collection interrupted (an import failed)."""
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return Outcome.SURVIVED
    if code in (1, 2):
        return Outcome.KILLED
    if code == INVALID_EXIT:
        return Outcome.INVALID
    return Outcome.ERROR


def run_all(
    mutants: Sequence[Mutant],
    tests_for: Callable[[str], Sequence[str]],
    jobs: int,
    timeout: float,
    progress: Callable[[int], None] = lambda done: None,
) -> list[Outcome]:
    """Each mutant's outcome, ``jobs`` children at a time; a child past ``timeout`` seconds is killed."""
    outcomes: list[Outcome | None] = [None] * len(mutants)
    running: dict[int, tuple[int, float]] = {}  # pid: (mutant's index, deadline)
    waiting = list(range(len(mutants)))
    while waiting or running:
        while waiting and len(running) < jobs:
            index = waiting.pop(0)
            running[_start(mutants[index], tests_for(mutants[index].module))] = (index, time.monotonic() + timeout)
        finished = False
        for pid, (index, deadline) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                outcomes[index] = _outcome(status)
            elif time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                outcomes[index] = Outcome.TIMEOUT
            else:
                continue
            del running[pid]
            finished = True
            progress(sum(outcome is not None for outcome in outcomes))
        if not finished:
            time.sleep(0.01)
    return [outcome or Outcome.ERROR for outcome in outcomes]


def baseline(tests: Sequence[str]) -> tuple[bool, float]:
    """Whether the unchanged code passes ``tests``, and in how many seconds."""
    started = time.monotonic()
    pid = _start(None, tests)
    _, status = os.waitpid(pid, 0)
    return _outcome(status) is Outcome.SURVIVED, time.monotonic() - started


def preload() -> None:
    """Import the libraries every child imports, once, before forking (not the project's modules,
    which each child imports afresh, nor py7zr, which liaison's import patches)."""
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    for library in ("pytest", "hypothesis", "flask", "sqlalchemy.orm", "marshmallow", "cryptography.x509"):
        importlib.import_module(library)
