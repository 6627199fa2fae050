"""How long `hedgebot ctl` spends importing before it talks to the daemon, against the whole command line.

Each figure is the import time of a fresh interpreter (`python -X importtime`), summed over the top-level
modules it loads, for what `hedgebot ctl status` imports and, side by side in the same process (interleaved,
so a noisy machine slows both alike), for what `hedgebot run` imports: the reference. Prints medians, the
ratio and whether pandas, numpy or ccxt were loaded on the ctl path (they must not be).

    .venv/bin/python bench/ctl_import.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

CTL = "from bot.cli import _parser; _parser(ctl_only=True).parse_args(['ctl', 'status']); import bot.control.ctl"
RUN = "from bot.cli import _parser; _parser().parse_args(['run']); import bot.live.session"
HEAVY = ("pandas", "numpy", "ccxt", "apscheduler", "sqlite3")


def imported(code: str) -> tuple[float, set[str]]:
    """Seconds of import time (sum of top-level cumulative times) and the top-level packages loaded."""
    stderr = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    ).stderr
    total_us = 0
    packages: set[str] = set()
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _self, cumulative, raw_name = line.removeprefix("import time:").split("|")
        if not cumulative.strip().isdigit():
            continue  # the header line
        name = raw_name.removeprefix(" ")  # one space after the bar; more is nesting
        packages.add(name.strip().split(".")[0])
        if not name.startswith(" "):  # a top-level import: its cumulative time includes what it pulled in
            total_us += int(cumulative.strip())
    return total_us / 1e6, packages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    ctl_times, run_times = [], []
    ctl_packages: set[str] = set()
    for _ in range(runs):
        seconds, ctl_packages = imported(CTL)
        ctl_times.append(seconds)
        run_times.append(imported(RUN)[0])
    ctl, run = statistics.median(ctl_times), statistics.median(run_times)
    print(f"hedgebot ctl status imports  median {ctl * 1000:7.1f} ms  (min {min(ctl_times) * 1000:.1f}, {runs} runs)")
    print(f"hedgebot run imports (ref.)  median {run * 1000:7.1f} ms  (min {min(run_times) * 1000:.1f})")
    print(f"ratio ctl / run              {ctl / run:.2f}")
    heavy = sorted(ctl_packages & set(HEAVY))
    print(f"heavy packages on the ctl path: {', '.join(heavy) if heavy else 'none'}")


if __name__ == "__main__":
    main()
