"""Encrypted archives: exports per second against the real 7-Zip as a process, and import latency.

**Exports.** For each format of ``liaison.archives.WRITERS``, the service's writer makes an archive
of the same two files as an export does, the example FDL2's JSON and its PDF as the service
renders it, with a fresh passphrase, in memory. The baseline, measured in the
same run, is what a service without its own writer would do: write the two files to a temporary
folder and run ``7zz a`` on them (``-t7z -mhe=on -p…`` for 7z, ``-tzip -mem=AES256 -p…`` for zip),
one process per archive. The two take turns, round after round (who starts alternates), so that a
change of load on the machine falls on both alike; the figures are medians over the rounds.
The 7z writer is measured twice: with the passphrase (the key derived once per archive) and with a
key prepared once for a partnership (:func:`liaison.archives.sevenzip_kdf.prepare_7z_key`).

Targets: zip at least 5 times the exports per second of 7-Zip's process; 7z with a passphrase at
least half of it (within 2×); 7z with a prepared key at least 5 times. AxCrypt (``axx``) has no
program to compare with: its row is reported apart, without a target.

**Imports.** The median time of ``liaison.archives.read_archive`` (the dispatcher the import
service calls) on archives of one JSON sheet: accepted ones made by 7-Zip (7z with encrypted
headers, AES-256 zip; AxCrypt by the service's writer), refused ones with a wrong passphrase, and
decompression bombs (about 1 GB of zeros). Target: a median below 50 ms for 7z and zip.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.arguments import positive, progress
from liaison import archives, crypto
from liaison.archives import ArchiveRefused, ReadLimits, axcrypt, read_archive
from liaison.archives.sevenzip import export_7z_archive
from liaison.archives.sevenzip_kdf import prepare_7z_key
from liaison.pdf import render_sheet_pdf
from liaison.services.sheets import canonical_json_of
from schemas import codes
from tests.archives.test_sevenzip import build_7z, lzma2_zeros
from tests.archives.test_winzip import Member, build_zip, deflate_zeros, winzip_aes
from tests.examples import fdl2

EXPORT_TARGETS = {"zip": 5.0, "7z": 0.5, "7z prepared key": 5.0}  # ours / 7-Zip's process, at least
IMPORT_TARGET_MS = 50.0
SEVENZIP_ARGUMENTS = {"7z": ("-t7z", "-mhe=on"), "zip": ("-tzip", "-mem=AES256")}
PROCESS_TIMEOUT_SECONDS = 60


class BenchFailure(RuntimeError):
    """The benchmark cannot give a figure (7-Zip missing or failing)."""


# --- inputs ------------------------------------------------------------------------------------


def sample_files() -> dict[str, bytes]:
    """What an export holds: the example FDL2 as canonical JSON, and its PDF as the service renders it."""
    sheet = canonical_json_of(fdl2())
    pdf = render_sheet_pdf("FDL2", fdl2(), "PLIE du Pays d'Aix", "France Travail Aix Galice", fonctions=codes.FONCTIONS)
    return {"fiche-FDL2-0123abcd.json": sheet, "fiche-FDL2-0123abcd.pdf": pdf}


def find_sevenzip(explicit: str | None) -> str:
    for name in (explicit,) if explicit else ("7zz", "7z"):
        found = shutil.which(name)
        if found:
            return found
    raise BenchFailure("7-Zip (7zz) introuvable : installez le paquet Debian 7zip, ou donnez --sevenzip")


def run_sevenzip(program: str, folder: Path, archive: str, kind: str, passphrase: str, names: Sequence[str]) -> None:
    result = subprocess.run(  # noqa: S603 - the 7-Zip program and arguments built here
        [program, "a", *SEVENZIP_ARGUMENTS[kind], f"-p{passphrase}", "-bd", "-bso0", "-bsp0", archive, *names],
        cwd=folder,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=PROCESS_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise BenchFailure(f"7-Zip failed ({result.returncode}): {result.stderr.decode(errors='replace')[:300]}")


# --- exports -------------------------------------------------------------------------------------


@dataclass
class ExportResult:
    row: str
    exports: int
    seconds: list[float]  # per round
    baseline_seconds: list[float] | None  # 7-Zip's process, per round (None: no baseline)
    target: float | None

    @property
    def per_second(self) -> float:
        return self.exports / statistics.median(self.seconds)

    @property
    def baseline_per_second(self) -> float | None:
        return None if self.baseline_seconds is None else self.exports / statistics.median(self.baseline_seconds)

    @property
    def ratio(self) -> float | None:
        if self.baseline_seconds is None:
            return None
        return statistics.median(b / o for o, b in zip(self.seconds, self.baseline_seconds, strict=True))

    @property
    def target_met(self) -> bool | None:
        return None if self.target is None or self.ratio is None else self.ratio >= self.target


def untargeted(count: int) -> int:
    """Rows without a target (AxCrypt, whose key derivation is meant to take a good part of a
    second) are measured ten times less, to keep the run short."""
    return max(1, count // 10)


def time_ours(write: Callable[[], bytes], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        write()
    return time.perf_counter() - started


def time_sevenzip(program: str, folder: Path, kind: str, names: Sequence[str], count: int) -> float:
    total = 0.0
    for index in range(count):
        archive = f"out-{index}.{kind}"
        passphrase = crypto.new_passphrase()
        started = time.perf_counter()
        run_sevenzip(program, folder, archive, kind, passphrase, names)
        total += time.perf_counter() - started
        (folder / archive).unlink()
    return total


def measure_exports(options: argparse.Namespace, program: str, say: Callable[[str], None]) -> list[ExportResult]:
    files = sample_files()
    passphrase = crypto.new_passphrase()
    prepared = prepare_7z_key(passphrase)

    def with_fresh_passphrase(write: Callable[[archives.Files, str], bytes]) -> Callable[[], bytes]:
        return lambda: write(files, crypto.new_passphrase())

    writers = {kind: with_fresh_passphrase(write) for kind, write in archives.WRITERS.items()}
    writers["7z prepared key"] = lambda: export_7z_archive(files, prepared)
    results = {
        row: ExportResult(row, options.exports, [], [], EXPORT_TARGETS[row])
        if row.split()[0] in SEVENZIP_ARGUMENTS
        else ExportResult(row, untargeted(options.exports), [], None, None)  # axx: no baseline, no target
        for row in writers
    }
    with tempfile.TemporaryDirectory(prefix="bench-archives-") as directory:
        folder = Path(directory)
        for name, content in files.items():
            (folder / name).write_bytes(content)
        for write in writers.values():  # warm-up, untimed
            write()
        for kind in SEVENZIP_ARGUMENTS:
            time_sevenzip(program, folder, kind, list(files), 1)
        for round_index in range(options.repeat):
            say(f"exports: round {round_index + 1}/{options.repeat}")
            for row, write in writers.items():
                result = results[row]
                kind = row.split()[0]
                ours_first = round_index % 2 == 0
                if result.baseline_seconds is not None and not ours_first:
                    result.baseline_seconds.append(time_sevenzip(program, folder, kind, list(files), result.exports))
                result.seconds.append(time_ours(write, result.exports))
                if result.baseline_seconds is not None and ours_first:
                    result.baseline_seconds.append(time_sevenzip(program, folder, kind, list(files), result.exports))
    return list(results.values())


# --- imports -------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    row: str
    outcome: str  # "accepted" or the refusal's code
    reads: int
    milliseconds: list[float]  # every read
    target_ms: float | None

    @property
    def median_ms(self) -> float:
        return statistics.median(self.milliseconds)

    @property
    def target_met(self) -> bool | None:
        return None if self.target_ms is None else self.median_ms < self.target_ms


def import_cases(program: str, sheet: bytes, passphrase: str) -> list[tuple[str, bytes, str, float | None]]:
    """(row, archive, passphrase to read it with, target) for every import measured."""
    with tempfile.TemporaryDirectory(prefix="bench-archives-") as directory:
        folder = Path(directory)
        (folder / "fiche.json").write_bytes(sheet)
        made = {}
        for kind in SEVENZIP_ARGUMENTS:
            run_sevenzip(program, folder, f"sheet.{kind}", kind, passphrase, ["fiche.json"])
            made[kind] = (folder / f"sheet.{kind}").read_bytes()
    wrong = crypto.new_passphrase()
    zeros_7z, size_7z = lzma2_zeros(512)
    zip_mebibytes = ReadLimits().max_archive_bytes // 1100
    cases: list[tuple[str, bytes, str, float | None]] = [
        ("7z by 7-Zip, accepted", made["7z"], passphrase, IMPORT_TARGET_MS),
        ("7z by 7-Zip, wrong passphrase", made["7z"], wrong, IMPORT_TARGET_MS),
        (
            f"7z bomb, {size_7z / 1e9:.1f} GB of zeros",
            build_7z(zeros_7z, size_7z, passphrase=passphrase),
            passphrase,
            IMPORT_TARGET_MS,
        ),
        ("zip by 7-Zip, accepted", made["zip"], passphrase, IMPORT_TARGET_MS),
        ("zip by 7-Zip, wrong passphrase", made["zip"], wrong, IMPORT_TARGET_MS),
        (
            f"zip bomb, {(zip_mebibytes << 20) / 1e9:.1f} GB of zeros",
            build_zip(
                [Member("fiche.json", winzip_aes(deflate_zeros(zip_mebibytes), passphrase), zip_mebibytes << 20)]
            ),
            passphrase,
            IMPORT_TARGET_MS,
        ),
    ]
    if "axx" in archives.WRITERS:
        axx = axcrypt.write_axcrypt("fiche.json", sheet, passphrase)
        cases += [("axx by the service, accepted", axx, passphrase, None), ("axx, wrong passphrase", axx, wrong, None)]
    return cases


def measure_imports(options: argparse.Namespace, program: str, say: Callable[[str], None]) -> list[ImportResult]:
    sheet = sample_files()["fiche-FDL2-0123abcd.json"]
    passphrase = crypto.new_passphrase()
    results = []
    for row, data, key, target in import_cases(program, sheet, passphrase):
        say(f"imports: {row}")
        outcome = read_outcome(data, key)  # warm-up, untimed
        timings = []
        for _ in range(options.reads if target is not None else untargeted(options.reads)):
            started = time.perf_counter()
            if read_outcome(data, key) != outcome:
                raise BenchFailure(f"{row}: the outcome changed between reads")
            timings.append((time.perf_counter() - started) * 1000)
        results.append(ImportResult(row, outcome, len(timings), timings, target))
    return results


def read_outcome(data: bytes, passphrase: str) -> str:
    try:
        read_archive(data, passphrase)
    except ArchiveRefused as refused:
        return refused.code
    return "accepted"


# --- report --------------------------------------------------------------------------------------


def verdict(met: bool | None) -> str:
    return "-" if met is None else ("met" if met else "NOT MET")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header))]
    lines = []
    for index, row in enumerate((header, *rows)):
        cells = (
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def report(exports: list[ExportResult], imports: list[ImportResult], options: argparse.Namespace, program: str) -> str:
    files = sample_files()
    sizes = " + ".join(f"{len(content) / 1024:.1f} KiB" for content in files.values())
    lines = [
        "Exports (archives per second; 7-Zip = one process per archive on the same files)",
        f"files: JSON + PDF = {sizes}; {options.exports} exports per round (axx fewer), {options.repeat} rounds, "
        "medians; "
        f"7-Zip: {program}",
        "",
    ]
    rows = []
    for result in exports:
        baseline = result.baseline_per_second
        rows.append(
            (
                result.row,
                f"{result.per_second:.1f}",
                "-" if baseline is None else f"{baseline:.1f}",
                "-" if result.ratio is None else f"{result.ratio:.2f}",
                "-" if result.target is None else f">= {result.target:g}",
                verdict(result.target_met) if result.baseline_seconds is not None else "no target",
            )
        )
    lines += table(("format", "ours/s", "7-Zip/s", "ours/7-Zip", "target", "verdict"), rows)
    lines += ["", f"Imports (read_archive of one JSON sheet, {options.reads} reads each, axx fewer; medians)", ""]
    rows = [
        (
            result.row,
            result.outcome,
            f"{result.median_ms:.2f}",
            f"{min(result.milliseconds):.2f}-{max(result.milliseconds):.2f}",
            "-" if result.target_ms is None else f"< {result.target_ms:g} ms",
            verdict(result.target_met) if result.target_ms is not None else "no target",
        )
        for result in imports
    ]
    lines += table(("archive", "outcome", "median ms", "min-max ms", "target", "verdict"), rows)
    return "\n".join(lines)


def rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def as_json(exports: list[ExportResult], imports: list[ImportResult], options: argparse.Namespace) -> dict[str, Any]:
    return {
        "exports_per_round": options.exports,
        "rounds": options.repeat,
        "reads": options.reads,
        "exports": [
            {
                **asdict(result),
                "per_second": round(result.per_second, 2),
                "baseline_per_second": rounded(result.baseline_per_second, 2),
                "ratio": rounded(result.ratio, 3),
                "target_met": result.target_met,
            }
            for result in exports
        ],
        "imports": [
            {**asdict(result), "median_ms": round(result.median_ms, 3), "target_met": result.target_met}
            for result in imports
        ],
    }


# --- command line --------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="./scripts/bench-archives",
        description=(
            "Exports per second of each archive writer (7z, zip, and axx) against the real 7-Zip run as a "
            "process on the same files, measured in the same run, and the median time of an import "
            "(read_archive) on accepted and refused archives. Prints the ratios and whether each target "
            "is met: zip >= 5x 7-Zip, 7z >= 0.5x (within 2x), 7z with a prepared key >= 5x, imports < 50 ms."
        ),
        epilog="Needs 7-Zip (Debian package 7zip). Example: ./scripts/bench-archives --repeat 7 --json out.json",
    )
    command.add_argument(
        "--exports",
        type=positive,
        default=20,
        help="archives written per format and round, by us and by 7-Zip (default: 20)",
    )
    command.add_argument("--repeat", type=positive, default=5, help="rounds; medians over them (default: 5)")
    command.add_argument("--reads", type=positive, default=25, help="reads of each import case (default: 25)")
    command.add_argument("--sevenzip", metavar="PROGRAM", help="the 7-Zip program (default: 7zz, else 7z, on PATH)")
    command.add_argument("--json", type=Path, metavar="FILE", help="also write the results to FILE as JSON")
    command.add_argument("--check", action="store_true", help="exit with status 1 when a target is missed")
    command.add_argument("--quiet", action="store_true", help="print only the results, not the progress")
    return command


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)

    say = progress(options.quiet)

    try:
        program = find_sevenzip(options.sevenzip)
        exports = measure_exports(options, program, say)
        imports = measure_imports(options, program, say)
    except (BenchFailure, subprocess.TimeoutExpired) as failure:
        print(f"bench-archives: {failure}", file=sys.stderr)
        return 2
    print(report(exports, imports, options, program))
    if options.json:
        options.json.write_text(json.dumps(as_json(exports, imports, options), indent=2) + "\n", encoding="utf-8")
        say(f"results written to {options.json}")
    verdicts = [result.target_met for result in exports] + [result.target_met for result in imports]
    if options.check and any(met is False for met in verdicts):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
