"""Secrets never leave: a whole live session, run with credentials only this test knows, leaves none of them in
a log line, an error message, an output, a journal row or an alert.

`hedgebot run` (live, log level debug) trades the loopback exchange with a random API key and secret, control
token, alert webhook URL and Telegram bot token in its environment. The exchange fails on purpose (a 503 on a
signed query, a create taken and never answered, a rejected order, an expired listen key), alerts go to a webhook
and to a Telegram API that fails once, and an operator runs `ctl status` (text and JSON), `ctl pause` with a
wrong token, `check-config` and `report`, and changes a holding and kills through the API; SIGTERM stops it. A
second daemon starts with a wrong secret and is refused by the exchange (-1022). Then every place text ended up
is searched for every secret by the random hex digits it carries, in any letter case, which finds the raw value,
the token after "Bearer ", a URL-encoded or JSON-escaped copy: every file the processes wrote (log lines,
configs, the journal and its WAL), every row of every journal table, every process's stdout and stderr, the alert
payloads and the simulator's log. Signatures made with the secret may appear; the secret may not.

A failure names the place (file and line, table and row) with every secret masked: the test never prints one,
and the test kit's own messages are redacted (the secrets are registered in this process too).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from bot import secrets as bot_secrets
from bot.control.client import ControlClient
from bot.control.listen import parse_listen
from bot.exchange_sim import ExchangeSim, SimSettings
from bot.testing.loopback import running_sim
from bot.testing.processes import (
    GUARD_S,
    AlertSinks,
    Finished,
    alert_sinks,
    eventually,
    exchange_in_real_time,
    hedgebot,
    hedgebot_run,
    hedged_status,
    status_when,
    stopped,
    write_config,
)

pytestmark = pytest.mark.asyncio

CHAT = "-100200300"
ACCOUNT_PATH = "/fapi/v3/account"  # fetch_balance: a signed query, whose signature ccxt's error shows in the URL


def _hex(size: int) -> str:
    return secrets.token_hex(size)


@dataclass(frozen=True)
class Credentials:
    """The secrets of one run, each carrying random hex digits that nothing else can contain by accident."""

    api_key: str = field(default_factory=lambda: _hex(32))
    api_secret: str = field(default_factory=lambda: _hex(32))
    control_token: str = field(default_factory=lambda: _hex(24))
    webhook_key: str = field(default_factory=lambda: _hex(16))  # the secret part of the webhook URL (Slack's)
    telegram_key: str = field(default_factory=lambda: _hex(17))  # the secret part of the bot token
    wrong_token: str = field(default_factory=lambda: _hex(24))  # an operator's mistyped (or old) token
    wrong_secret: str = field(default_factory=lambda: _hex(32))  # the refused start's secret

    def digits(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def telegram_token(self) -> str:
        return f"123456789:{self.telegram_key}"

    @property
    def webhook_path(self) -> str:
        return f"/services/T0001/B0001/{self.webhook_key}"

    def env(self, sinks: AlertSinks, *, secret: str | None = None) -> dict[str, str]:
        return {
            "HEDGEBOT_API_KEY": self.api_key,
            "HEDGEBOT_API_SECRET": secret or self.api_secret,
            "HEDGEBOT_TOKEN": self.control_token,
            "HEDGEBOT_ALERT_WEBHOOK_URL": sinks.base + self.webhook_path,
            "HEDGEBOT_TELEGRAM_TOKEN": self.telegram_token,
        }

    def mask(self, text: str) -> str:
        for name, digits in self.digits().items():
            text = re.sub(re.escape(digits), f"<{name}>", text, flags=re.IGNORECASE)
        return text

    def leaks(self, where: str, text: str) -> Iterator[str]:
        """'<where>, line <n>: the <secret's name> in <the line, masked>' for every secret on every line."""
        for number, line in enumerate(text.splitlines(), 1):
            lowered = line.lower()
            for name, digits in self.digits().items():
                if digits in lowered:
                    yield f"{where}, line {number}: the {name} in {self.mask(line)[:300]!r}"


@dataclass
class Seen:
    """Every text that left a process of the run, by where it was seen."""

    texts: dict[str, str] = field(default_factory=dict)

    def output(self, name: str, finished: Finished) -> Finished:
        self.texts[f"`{name}` stdout"] = finished.out
        self.texts[f"`{name}` stderr"] = finished.err
        return finished

    def files(self, root: Path) -> None:
        """Every regular file below `root` (configs, logs, the journal and its WAL), as text."""
        for path in sorted(root.rglob("*")):
            if path.is_file():
                self.texts[f"file {path.relative_to(root)}"] = path.read_bytes().decode("utf-8", "replace")

    def journal(self, path: Path) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table of the journal, which it returns by table."""
        tables: dict[str, list[tuple[Any, ...]]] = {}
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                rows = tables[table] = db.execute(f'SELECT * FROM "{table}"').fetchall()  # noqa: S608 -- a known name
                for number, row in enumerate(rows, 1):
                    self.texts[f"journal {path.parent.name} table {table}, row {number}"] = " | ".join(map(str, row))
        return tables


def secret_config(path: Path, sim: ExchangeSim, state_dir: Path, sinks: AlertSinks) -> Path:
    """Live, log level debug, alerts to the webhook and the Telegram chat; every secret from the environment.
    ccxt's client-side throttle is off (loopback): it would pace the start-up queries by their weight."""
    alerts = {"enabled": True, "telegram_chat_id": CHAT, "telegram_api_base": sinks.base, "min_interval": "0s"}
    debug, unthrottled = {"log_level": "debug"}, {"rate_limit": False}
    return write_config(path, sim, "live", state_dir, bot=debug, venue=unthrottled, alerts=alerts)


def alerted(sinks: AlertSinks, word: str) -> bool:
    """Whether an alert saying `word` reached both the webhook and Telegram."""
    return all(any(word in body for body in sinks.bodies(telegram)) for telegram in (False, True))


def events(log: str) -> list[str]:
    return [str(json.loads(line)["event"]) for line in log.splitlines() if line.strip()]


def logged(log: Path, event: str) -> bool:
    """Whether the daemon has logged `event` yet (its last line may be half written: no parsing)."""
    return log.exists() and f'"event": "{event}"' in log.read_text()


async def refused_start(creds: Credentials, sinks: AlertSinks, root: Path, seen: Seen) -> int:
    """A live start with the right key and a wrong secret: the exchange refuses its first signed request."""
    async with running_sim(SimSettings(api_key=creds.api_key, api_secret=creds.api_secret)) as sim:
        config = secret_config(root / "refused.toml", sim, root / "refused", sinks)
        async with hedgebot_run(config, creds.env(sinks, secret=creds.wrong_secret)) as process:
            out, err = await asyncio.wait_for(process.communicate(), GUARD_S)
    assert process.returncode is not None
    return seen.output("hedgebot run (wrong secret)", Finished(process.returncode, out.decode(), err.decode())).code


async def operator_commands(
    names: list[str], config: Path, env: dict[str, str], wrong_token: str, seen: Seen
) -> dict[str, int]:
    """What an operator runs against the daemon and its files, all at once; the exit code of each."""
    commands = {
        "ctl status": ("ctl", "--config", str(config), "status"),
        "ctl status --json": ("ctl", "--config", str(config), "status", "--json"),
        "ctl pause (wrong token)": ("ctl", "--config", str(config), "pause"),
        "check-config": ("check-config", str(config)),
        "report": ("report", "--config", str(config)),  # once a valuation is journaled (after the first decision)
    }
    wrong = {**env, "HEDGEBOT_TOKEN": wrong_token}
    finished = await asyncio.gather(
        *(hedgebot(*commands[name], env=wrong if "wrong" in name else env, cwd=config.parent) for name in names)
    )
    return {name: seen.output(name, done).code for name, done in zip(names, finished, strict=True)}


async def test_no_secret_appears_in_any_log_line_output_journal_row_or_alert_of_a_live_session(
    tmp_path: Path,
) -> None:
    creds, seen = Credentials(), Seen()
    for digits in creds.digits().values():
        bot_secrets.register(digits)  # whatever the test kit shows on a failure is redacted too
    config, state = tmp_path / "live.toml", tmp_path / "live"
    log = state / "hedgebot.log"
    keys = SimSettings(api_key=creds.api_key, api_secret=creds.api_secret)
    with capture_logs() as sim_log:
        async with alert_sinks(telegram_failures=1) as sinks, exchange_in_real_time(keys) as sim:
            env = creds.env(sinks)
            secret_config(config, sim, state, sinks)
            sim.faults.unavailable(method="GET", path=ACCOUNT_PATH)  # retried; the error shows the signed URL
            sim.faults.timeout_after_accept()  # the first create is taken and never answered: outcome unknown
            refused = asyncio.create_task(refused_start(creds, sinks, tmp_path, seen))

            async with (
                hedgebot_run(config, env) as process,
                ControlClient(parse_listen(f"unix:{state / 'control.sock'}"), creds.control_token) as control,
            ):
                await eventually(lambda: sim.faults.holding, "the first create, held unanswered", process)
                during_the_hold = ["ctl status", "ctl status --json", "ctl pause (wrong token)", "check-config"]
                codes = await operator_commands(during_the_hold, config, env, creds.wrong_token, seen)
                await hedged_status(control, sim, process)  # the create's outcome, learnt by asking for the order
                report = asyncio.create_task(operator_commands(["report"], config, env, creds.wrong_token, seen))
                sim.faults.reject_orders()
                await control.command("set-holding", {"asset": "ETH", "qty": 12.0})  # its clip is rejected
                await eventually(lambda: alerted(sinks, "rejected"), "the rejection alert", process)
                assert await sim.faults.expire_listen_key() >= 1
                await eventually(lambda: logged(log, "user_stream_reconnecting"), "a new listen key", process)
                fills = (await control.status())["counts"]["fills"]
                await control.command("set-holding", {"asset": "ETH", "qty": 11.0})  # fills on the new user stream
                await status_when(control, process, lambda s: s["counts"]["fills"] > fills, "a fill after that")
                await control.command("kill")
                await eventually(lambda: alerted(sinks, "halted"), "the kill's alert", process)
                codes |= await report
                daemon = seen.output("hedgebot run", await stopped(process))
            refused_code = await refused
    seen.texts["webhook alerts"] = "\n".join(sinks.bodies(telegram=False))
    seen.texts["telegram alerts"] = "\n".join(sinks.bodies(telegram=True))
    seen.texts["exchange simulator log"] = "\n".join(json.dumps(entry, default=str) for entry in sim_log)
    journal = seen.journal(state / "journal.sqlite")
    seen.journal(tmp_path / "refused" / "journal.sqlite")
    seen.files(tmp_path)

    leaks = [leak for where, text in seen.texts.items() for leak in creds.leaks(where, text)]
    assert not leaks, "secrets left the session:\n" + "\n".join(leaks)

    # ... and not because nothing was said: every error path ran, and was heard where it is checked above
    shown = {where: creds.mask(text) for where, text in seen.texts.items()}
    heard = set(events(shown["file live/hedgebot.log"]))
    expected = {"query_retrying", "order_outcome_unknown", "order_rejected", "user_stream_reconnecting"}
    assert expected | {"trading_state_changed", "operator_command"} <= heard
    assert "alert_send_failed" in heard | set(events(shown["file refused/hedgebot.log"]))  # Telegram's 500
    assert '"status": 401' in shown["file live/hedgebot.log"]  # the wrong token was refused, and logged
    assert [row[1] for row in journal["commands"]] == ["set-holding", "set-holding", "kill"]  # no pause: refused
    assert "signature=" in shown["file live/hedgebot.log"]  # a signed URL was logged: the secret was not
    assert "-1022" in shown["`hedgebot run (wrong secret)` stderr"]
    assert "run_stopped" in events(shown["file refused/hedgebot.log"])
    assert (daemon.code, refused_code) == (0, 1), shown["`hedgebot run` stderr"]
    assert codes == {
        "ctl status": 0,
        "ctl status --json": 0,
        "ctl pause (wrong token)": 1,
        "check-config": 0,
        "report": 0,
    }, {name: shown[f"`{name}` stderr"] for name in codes}
    paths = {creds.webhook_path, f"/bot{creds.telegram_token}/sendMessage"}
    assert all(path in paths for path, _ in sinks.posts)  # the webhook URL and the token: in the paths only
    assert all(journal[table] for table in ("orders", "fills", "state_changes", "valuations"))
    assert "exchange_sim_listening" in shown["exchange simulator log"]
