"""``./scripts/mutation``: do the tests of the rule modules pin every rule?

Two passes change the code of the modules that ``pyproject.toml`` names (``[tool.mutmut]``,
``only_mutate``) one change at a time and run their database-free tests against each change:

1. mutmut 3, on the code inside functions;
2. :mod:`mutation.constants`, on what mutmut leaves alone: constants, regular expressions, closed lists.

A change the tests notice is *killed*. One they do not notice *survived*: a rule could be broken
and no test would fail, unless the change alters no behaviour at all; such a change is listed, with
the reason, in ``mutation/accepted-survivors.toml``. The report gives each module's score, killed
changes over all changes less the accepted ones, and every survivor not accepted; it exits 1 when a
module scores under 97 % or a survivor is not accepted.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from mutation import constants

ROOT = constants.ROOT
ACCEPTED = ROOT / "mutation" / "accepted-survivors.toml"
TARGET = 97.0
MUTMUT = str(Path(sys.executable).with_name("mutmut"))


@dataclass(frozen=True)
class Result:
    module: str
    tool: str  # "mutmut" or "constants"
    name: str  # mutmut's mutant name, or where and what for the constants pass
    status: str  # killed, timeout, survived, no tests, invalid, …
    change: str  # the changed line(s)

    @property
    def counted(self) -> bool:
        return self.status != "invalid"

    @property
    def survived(self) -> bool:
        """Not noticed: anything but a kill or a timeout (mutmut's "no tests", "not checked",
        "suspicious"…, the constants pass's "error" too: no test ran, none noticed the change)."""
        return self.counted and self.status not in ("killed", "timeout")


@dataclass(frozen=True)
class Accepted:
    module: str
    change: str
    reason: str
    mutant: str | None = None

    def covers(self, result: Result) -> bool:
        """Whether this entry accepts ``result``: the same change (and, for mutmut, the same name:
        an entry never covers the mutant that a renumbering gave its name)."""
        same_name = self.mutant is None or result.name == self.mutant
        return same_name and result.module == self.module and result.change == self.change


def settings() -> dict[str, list[str]]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]


def target_files(only: str | None) -> list[Path]:
    files = sorted(
        path
        for pattern in settings()["only_mutate"]
        for path in ROOT.glob(pattern)
        if path.suffix == ".py" and path.name != "__init__.py"
    )
    return [path for path in files if only is None or fnmatch.fnmatch(module_of(path), only)]


def module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def selection() -> list[str]:
    return settings()["pytest_add_cli_args_test_selection"]


def tests_for(module: str) -> list[str]:
    """The module's own tests: ``test_<module>.py`` among the selected tests, else its package's."""
    package, name = module.split(".")[0], module.split(".")[-1]
    files = [str(path.relative_to(ROOT)) for test in selection() for path in _files(ROOT / test)]
    own = [test for test in files if Path(test).name == f"test_{name}.py"]
    return own or [test for test in files if f"/{package}/" in test or f"test_{package}" in test] or selection()


def _files(path: Path) -> list[Path]:
    return sorted(path.rglob("test_*.py")) if path.is_dir() else [path]


# --- mutmut -------------------------------------------------------------------------------------


def module_of_mutant(name: str) -> str:
    """``schemas.patterns`` of ``schemas.patterns.x_clean_text__mutmut_3`` (or of ``…xǁClassǁmethod…``)."""
    parts = name.split(".")
    return ".".join(parts[: next((i for i, part in enumerate(parts) if part.startswith("x")), len(parts))])


def run_mutmut(only: str | None, incremental: bool, say: Callable[[str], None]) -> list[Result]:
    """mutmut's results. mutmut keeps them in ``mutants/`` and re-runs only the functions whose code
    changed (a mutant killed by a test since edited stays killed): unless ``incremental``, that
    directory is removed first, so that every figure comes from this run."""
    if not incremental:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    log = ROOT / "mutants" / "mutmut-run.log"
    log.parent.mkdir(exist_ok=True)
    arguments = [MUTMUT, "run", *([f"{only}.*"] if only else [])]
    say(f"mutmut: {' '.join(arguments[1:])} (its output: mutants/mutmut-run.log)…")
    started = time.monotonic()
    with log.open("w") as output:
        finished = subprocess.run(arguments, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, check=False)  # noqa: S603
    if finished.returncode != 0:
        raise SystemExit(f"mutmut stopped with exit code {finished.returncode}: see mutants/mutmut-run.log.")
    say(f"mutmut: done in {time.monotonic() - started:.0f} s")
    listing = subprocess.run(  # noqa: S603
        [MUTMUT, "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    results = []
    for line in listing.splitlines():
        match = re.fullmatch(r"\s+(\S+): (.+)", line)
        if not match:
            continue
        name, status = match.groups()
        module = module_of_mutant(name)
        if only and not fnmatch.fnmatch(module, only):
            continue
        change = ""
        if status not in ("killed", "timeout"):
            diff = subprocess.run([MUTMUT, "show", name], cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
            change = " ".join(
                line[1:].strip()
                for line in diff.stdout.splitlines()
                if line.startswith("+") and not line.startswith("+++")
            )
        results.append(Result(module, "mutmut", name, status, change))
    return results


# --- constants ----------------------------------------------------------------------------------


def run_constants(only: str | None, jobs: int, say: Callable[[str], None]) -> list[Result]:
    constants.preload()
    mutants = [mutant for path in target_files(only) for mutant in constants.mutants_of(path)]
    modules = sorted({mutant.module for mutant in mutants})
    slowest = 0.0
    for tests in [*(tests_for(module) for module in modules), selection()]:
        passed, seconds = constants.baseline(tests)
        if not passed:
            raise SystemExit(f"These tests fail on the unchanged code, without conftest: fix them first ({tests}).")
        slowest = max(slowest, seconds)
    say(f"constants: {len(mutants)} changes in {len(modules)} modules, {jobs} at a time…")
    started = time.monotonic()
    step = max(1, len(mutants) // 10)

    def progress(done: int) -> None:
        if done % step == 0 or done == len(mutants):
            say(f"constants: {done}/{len(mutants)} ({time.monotonic() - started:.0f} s)")

    outcomes = constants.run_all(mutants, tests_for, jobs, timeout=10 * slowest + 10, progress=progress)
    # What the module's own tests let through, the whole selection may still catch: run it there.
    second = [number for number, outcome in enumerate(outcomes) if outcome is constants.Outcome.SURVIVED]
    if second:
        say(f"constants: {len(second)} survivors of their module's own tests, run against every selected test…")
        for number, outcome in zip(
            second,
            constants.run_all(
                [mutants[n] for n in second], lambda module: selection(), jobs, timeout=10 * slowest + 60
            ),
            strict=True,
        ):
            outcomes[number] = outcome
    return [
        Result(
            mutant.module,
            "constants",
            f"{mutant.module}:{mutant.line} {mutant.description}",
            outcome.value,
            mutant.change,
        )
        for mutant, outcome in zip(mutants, outcomes, strict=True)
    ]


# --- the report ---------------------------------------------------------------------------------


def load_accepted() -> list[Accepted]:
    if not ACCEPTED.exists():
        return []
    entries = tomllib.loads(ACCEPTED.read_text())["accepted"]
    return [Accepted(**{"module": module_of_mutant(entry.get("mutant", "")), **entry}) for entry in entries]


@dataclass(frozen=True)
class Score:
    module: str
    changes: int
    killed: int
    accepted: int
    survived: int
    invalid: int

    @property
    def percent(self) -> float:
        judged = self.changes - self.accepted
        return 100.0 if judged == 0 else 100.0 * self.killed / judged


def scores(results: Sequence[Result], accepted: Sequence[Accepted]) -> list[Score]:
    found = []
    for module in sorted({result.module for result in results}):
        own = [result for result in results if result.module == module]
        counted = [result for result in own if result.counted]
        survivors = [result for result in counted if result.survived]
        taken = [result for result in survivors if any(entry.covers(result) for entry in accepted)]
        found.append(
            Score(
                module,
                changes=len(counted),
                killed=len(counted) - len(survivors),
                accepted=len(taken),
                survived=len(survivors) - len(taken),
                invalid=len(own) - len(counted),
            )
        )
    return found


def report(results: Sequence[Result], accepted: Sequence[Accepted]) -> tuple[str, bool]:
    table = scores(results, accepted)
    by_tool = Counter((result.module, result.tool) for result in results if result.counted)
    lines = [
        f"{'module':<24} {'changes':>8} {'mutmut':>7} {'constants':>9} {'killed':>7} {'accepted':>8} "
        f"{'survived':>8} {'score':>7}"
    ]
    for score in table:
        lines.append(
            f"{score.module:<24} {score.changes:>8} {by_tool[(score.module, 'mutmut')]:>7} "
            f"{by_tool[(score.module, 'constants')]:>9} {score.killed:>7} {score.accepted:>8} {score.survived:>8} "
            f"{score.percent:>6.1f}%"
        )
    invalid = sum(score.invalid for score in table)
    lines.append(
        f"score: killed / (changes − accepted); target {TARGET:.0f} % for each module. "
        f"{invalid} changes left the module unimportable (an invalid pattern…): not counted."
    )
    survivors = [r for r in results if r.counted and r.survived and not any(a.covers(r) for a in accepted)]
    if survivors:
        lines += ["", f"Survivors not accepted ({len(survivors)}): a test should fail on each of these changes."]
        for result in survivors:
            lines.append(f"- [{result.tool}] {result.name} ({result.status})\n    {result.change}")
    judged = {(r.module, r.tool) for r in results}
    stale = [
        entry
        for entry in accepted
        if (entry.module, "mutmut" if entry.mutant else "constants") in judged  # its pass ran on its module
        and not any(entry.covers(r) and r.survived for r in results)
    ]
    if stale:
        lines += ["", f"Accepted survivors that no longer survive, or no longer exist ({len(stale)}): remove them."]
        lines += [f"- {entry.mutant or entry.module}: {entry.change}" for entry in stale]
    met = not survivors and all(score.percent >= TARGET for score in table)
    lines += ["", "Target met." if met else "Target not met."]
    return "\n".join(lines), met


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="./scripts/mutation",
        description=(
            "Mutation testing of the rule modules (retention/, schemas/, liaison/authnz.py) with their "
            "database-free tests: mutmut on the code inside functions, then the constants pass on "
            "constants, regular expressions and closed lists. Prints each module's score and every "
            "survivor not listed in mutation/accepted-survivors.toml; exits 1 if a module scores under "
            "97 % or a survivor is not accepted. Takes a few minutes; not part of CI."
        ),
    )
    command.add_argument("--only", metavar="MODULE", help="one module, or a glob: schemas.patterns, 'retention.*'")
    command.add_argument("--skip-mutmut", action="store_true", help="the constants pass only")
    command.add_argument("--skip-constants", action="store_true", help="mutmut only")
    command.add_argument(
        "--incremental",
        action="store_true",
        help="mutmut: keep mutants/ and re-run only what changed (faster; a kill by a since-edited test stays)",
    )
    command.add_argument("--list", action="store_true", help="list the constants pass's changes, run nothing")
    command.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="constants pass: changes run at once")
    command.add_argument("--json", metavar="FILE", type=Path, help="also write every result to FILE")
    return command


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)
    os.chdir(ROOT)

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if options.list:
        for path in target_files(options.only):
            for mutant in constants.mutants_of(path):
                print(f"{mutant.module}:{mutant.line} [{mutant.operator}] {mutant.description}\n    {mutant.change}")
        return 0
    results: list[Result] = []
    if not options.skip_mutmut:
        results += run_mutmut(options.only, options.incremental, say)
    if not options.skip_constants:
        results += run_constants(options.only, options.jobs, say)
    text, met = report(results, load_accepted())
    print(text)
    if options.json:
        options.json.write_text(json.dumps([asdict(result) for result in results], ensure_ascii=False, indent=1))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
