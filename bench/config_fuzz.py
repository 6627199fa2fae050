"""Fuzz the config at the command line and print the counts: inputs tried, accepted, refused, tracebacks.

    .venv/bin/python bench/config_fuzz.py [--files 2000] [--values 2000] [--runs 150]

Three populations, drawn by hypothesis with the strategies of tests/test_config_fuzz.py:
- files: the shipped configs and the embedded default with one to three keys changed, removed or added
  (any TOML value: NaN, infinities, huge numbers, deep arrays, unicode, wrong types), through `check-config`;
- values: one to three keys of a blank config set to any value, through `check-config`;
- runs: a fast paper config with one or two of the settings a run reads changed; through `check-config`, and
  each accepted one through `hedgebot run --span 1d` (in this process, as the console script runs it).
"accepted" is exit 0, "refused" exit 2 with one line on stderr, "traceback" anything else (an exception
escaping, another exit status, several lines). Exit status 1 when any traceback was seen.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

REPO = Path(__file__).resolve().parents[1]


def _fuzz_module() -> Any:
    spec = importlib.util.spec_from_file_location("config_fuzz_strategies", REPO / "tests" / "test_config_fuzz.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--values", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=150)
    args = parser.parse_args()
    fuzz = _fuzz_module()
    counts: dict[str, Counter[str]] = {"check-config (files)": Counter(), "check-config (values)": Counter()}
    counts.update({"check-config (run configs)": Counter(), "run (accepted ones)": Counter()})
    examples: list[str] = []
    scratch = Path(tempfile.mkdtemp(prefix="hedgebot-config-fuzz-"))
    quiet = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]

    def note(label: str, outcome: Any, text: object) -> None:
        counts[label][outcome.kind] += 1
        if outcome.kind == "traceback" and len(examples) < 5:
            examples.append(f"{label}: {text!r} -> {outcome.code} {outcome.err!r} {outcome.escaped!r}")

    @settings(max_examples=args.files, deadline=None, database=None, suppress_health_check=quiet)
    @given(mutated=fuzz.mutated_files())
    def files(mutated: tuple[str, dict[str, Any], set[tuple[str, str]]]) -> None:
        text = fuzz.toml_text(mutated[1])
        note("check-config (files)", fuzz.check_config_outcome(scratch / "file.toml", text), mutated[1])

    @settings(max_examples=args.values, deadline=None, database=None, suppress_health_check=quiet)
    @given(document=fuzz.config_documents())
    def values(document: tuple[dict[str, Any], set[tuple[str, str]]]) -> None:
        text = fuzz.toml_text(document[0])
        note("check-config (values)", fuzz.check_config_outcome(scratch / "values.toml", text), document[0])

    runs_dir = scratch / "runs"
    runs_dir.mkdir()

    @settings(max_examples=args.runs, deadline=None, database=None, suppress_health_check=quiet)
    @given(data=fuzz.runnable_documents().filter(fuzz.fast_enough))
    def runs(data: dict[str, Any]) -> None:
        checked, ran = fuzz.run_outcome(Path(tempfile.mkdtemp(dir=runs_dir)), data)
        note("check-config (run configs)", checked, data)
        if ran is not None:
            note("run (accepted ones)", ran, data)

    files()
    values()
    runs()
    print(f"{'population':28} {'tried':>6} {'accepted':>9} {'refused':>8} {'tracebacks':>10}")
    for label, counter in counts.items():
        tried = sum(counter.values())
        print(f"{label:28} {tried:6} {counter['accepted']:9} {counter['refused']:8} {counter['traceback']:10}")
    total = sum(counts.values(), Counter())
    print(f"{'total':28} {sum(total.values()):6} {total['accepted']:9} {total['refused']:8} {total['traceback']:10}")
    for example in examples:
        print("traceback:", example[:600])
    return 1 if total["traceback"] else 0


if __name__ == "__main__":
    sys.exit(main())
