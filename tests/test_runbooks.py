"""The runbooks: every page reachable from the index, every link alive, every alert the daemon sends explained,
and every `hedgebot` command they show one the command line accepts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from bot.cli import _parser

REPO = Path(__file__).resolve().parents[1]
RUNBOOKS = REPO / "runbooks"
PAGES = sorted(RUNBOOKS.glob("*.md"))
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def links(page: Path) -> list[str]:
    return [target for target in LINK.findall(page.read_text()) if "://" not in target]


def alert_kinds_in_the_source() -> set[str]:
    """Every kind the daemon can alert: observer.alert("kind", ...), RiskNotice(ts, "kind", ...), state changes."""
    kinds: set[str] = set()
    for source in (REPO / "bot").rglob("*.py"):
        text = source.read_text()
        kinds.update(re.findall(r"\.alert\(\s*\"([a-z_]+)\"", text))
        kinds.update(re.findall(r"RiskNotice\(\s*[\w.]+,\s*\"([a-z_]+)\"", text))
    return kinds


def test_every_runbook_is_linked_from_the_index() -> None:
    linked = {RUNBOOKS / target for target in links(RUNBOOKS / "index.md")}
    assert {page for page in PAGES if page.name != "index.md"} <= linked


@pytest.mark.parametrize("page", [*PAGES, REPO / "README.md"], ids=lambda page: page.name)
def test_every_relative_link_leads_to_a_file(page: Path) -> None:
    inside = [target for target in links(page) if (page.parent / target).resolve().is_relative_to(REPO)]
    missing = [target for target in inside if not (page.parent / target).exists()]  # ../shared is not ours
    assert not missing


def test_the_readme_links_the_operators_pages_from_operating_hedgebot() -> None:
    readme = readme_section("## Operating hedgebot")
    for name in ("index", "alerts", "margin-call", "key-rotation", "roll"):
        assert f"(runbooks/{name}.md)" in readme


def readme_section(heading: str) -> str:
    text = (REPO / "README.md").read_text()
    start = text.index(heading + "\n")
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end >= 0 else None]


def test_every_alert_the_daemon_sends_has_its_section_in_the_alerts_page() -> None:
    kinds = alert_kinds_in_the_source()
    assert {"trading_state", "collateral", "stale_feed", "order_rejected", "reconciliation_failed"} <= kinds
    sections = set(re.findall(r"^## `([a-z_]+)`", (RUNBOOKS / "alerts.md").read_text(), re.MULTILINE))
    assert sections == kinds


COMMAND = re.compile(
    r"(?:^|[\s/])hedgebot\s+((?:run|backtest|check-config|ctl|report|stress|exchange-sim|data)\b[^|&;]*)"
)


def commands(page: Path) -> list[str]:
    """The `hedgebot <command> ...` lines of the page's sh blocks (continuations joined), placeholders left out."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", page.read_text(), re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            match = COMMAND.search(line)
            if match and not any(placeholder in line for placeholder in ("...", "<", "$(")):
                found.append(shlex.join(shlex.split(match.group(1), comments=True)))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_hedgebot_command_in_the_runbooks_parses(page: Path) -> None:
    parser = _parser()
    for command in commands(page):
        try:
            parser.parse_args(shlex.split(command))
        except SystemExit:
            pytest.fail(f"{page.name}: `hedgebot {command}` is not a valid command line")
