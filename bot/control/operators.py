"""Named operators: several tokens, each with a name and a role, re-read when their file changes.

An operator is `name:role:token`. They come from `[control] operators_env` (entries separated by commas or
newlines) and `operators_file` (0600, one a line, `#` comments), and the single `token_env`/`token_file` token
of earlier configs is one more: an admin named `operator`. What a role may do:

    viewer   read: status, the audit trail, the dashboard
    trader   also pause, resume, flatten, set-ratio
    admin    also kill, reload, set-holding

A presented token is compared with every operator's in constant time (SHA-256 digests, `hmac.compare_digest`,
no early exit), and every token is registered for redaction. Files are watched by (mtime, size, inode): a
rotated token works on the next request, without a restart; a file that no longer parses keeps the operators
it had (logged, never with a token), so a typo during a rotation does not lock everyone out.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.control.auth import MIN_TOKEN_LENGTH, ControlSetupError, load_token
from bot.logs import get_logger
from bot.secrets import SecretError, read_secret, register
from bot.settings.control import ControlSection

LEGACY_NAME = "operator"  # the single token's operator, as the audit trail names it
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_TOKEN = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no blanks: what a header and a form carry intact


class Role(enum.IntEnum):
    """Ordered: each role may do what the ones below it may."""

    VIEWER = 1
    TRADER = 2
    ADMIN = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"role {text!r} is not one of viewer, trader, admin") from None


# What each command needs; a name missing here (a new command) needs admin until someone decides otherwise.
COMMAND_ROLES: dict[str, Role] = {
    "status": Role.VIEWER,
    "audit": Role.VIEWER,
    "pause": Role.TRADER,
    "resume": Role.TRADER,
    "flatten": Role.TRADER,
    "set-ratio": Role.TRADER,
    "set-holding": Role.ADMIN,
    "kill": Role.ADMIN,
    "reload": Role.ADMIN,
}


def required_role(command: str) -> Role:
    return COMMAND_ROLES.get(command, Role.ADMIN)


def may(role: Role, command: str) -> bool:
    return role >= required_role(command)


class RoleRefused(Exception):
    """The operator's role does not allow the command (HTTP 403)."""

    def __init__(self, operator: Operator, command: str) -> None:
        need = required_role(command)
        super().__init__(f"{operator.name} is a {operator.role}; {command} needs the {need} role or above")


@dataclass(frozen=True, slots=True)
class Operator:
    """A named operator. The token is kept only as its digest, and never in a repr."""

    name: str
    role: Role
    digest: bytes

    def __repr__(self) -> str:
        return f"Operator({self.name!r}, {self.role})"


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def parse_operators(text: str, where: str) -> list[Operator]:
    """`name:role:token` entries (commas or newlines between them, `#` starts a comment). Errors name the
    entry's number and what is wrong, never the token."""
    found: list[Operator] = []
    entries = [entry.split("#", 1)[0].strip() for line in text.splitlines() for entry in line.split(",")]
    for number, entry in enumerate((entry for entry in entries if entry), 1):
        name, _, rest = entry.partition(":")
        role_text, _, token = rest.partition(":")
        token = token.strip()
        if token:
            register(token)  # before any check: a bad entry's message must not carry it either
        place = f"{where}: operator entry {number}"
        if not _NAME.match(name.strip()):
            raise ControlSetupError(f"{place}: name must be 1-32 of A-Z a-z 0-9 _ . - (format name:role:token)")
        try:
            role = Role.parse(role_text)
        except ValueError as exc:
            raise ControlSetupError(f"{place} ({name.strip()}): {exc}") from None
        if len(token) < MIN_TOKEN_LENGTH or not _TOKEN.match(token):
            raise ControlSetupError(
                f"{place} ({name.strip()}): the token must be at least {MIN_TOKEN_LENGTH} printable characters"
                " without blanks (for example: openssl rand -hex 32)"
            )
        found.append(Operator(name.strip(), role, digest(token)))
    return found


def check_unique(operators: Sequence[Operator]) -> None:
    names = [operator.name for operator in operators]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ControlSetupError(f"operators: the name(s) {', '.join(twice)} are given more than once")
    digests = [operator.digest for operator in operators]
    if len(set(digests)) != len(digests):
        raise ControlSetupError("operators: two operators share one token; give each their own")


class _Watched:
    """A 0600 file read again when its (mtime, size, inode) changes."""

    __slots__ = ("_parse", "_seen", "operators", "path")

    def __init__(self, path: Path, parse: Callable[[str, str], list[Operator]]) -> None:
        self.path = path
        self._parse = parse
        self._seen: tuple[int, int, int] | None = None
        self.operators: list[Operator] = []

    def changed(self) -> bool:
        try:
            info = self.path.stat()
        except OSError:
            return self._seen is not None
        return (info.st_mtime_ns, info.st_size, info.st_ino) != self._seen

    def load(self) -> None:
        """Raises ControlSetupError when the file is missing, unsafe or malformed; nothing is changed then."""
        try:
            info = self.path.stat()
            text = read_secret("", self.path)  # the 0600 check, and every line registered for redaction
        except (OSError, SecretError) as exc:
            raise ControlSetupError(f"operators: {exc}") from None
        self.operators = self._parse(text or "", str(self.path))
        self._seen = (info.st_mtime_ns, info.st_size, info.st_ino)


def _legacy_token(text: str, where: str) -> list[Operator]:
    """The single token's file: its one token, the admin `operator`."""
    if len(text) < MIN_TOKEN_LENGTH:
        raise ControlSetupError(f"control token from {where} is {len(text)} characters; use {MIN_TOKEN_LENGTH}+")
    return [Operator(LEGACY_NAME, Role.ADMIN, digest(text))]


class OperatorRegistry:
    """Who may use the control API, as which name and role; `identify(token)` in constant time."""

    def __init__(self, fixed: Iterable[Operator] = (), files: Iterable[_Watched] = ()) -> None:
        self._fixed = list(fixed)
        self._files = list(files)
        self._log = get_logger(component="control")
        for watched in self._files:
            watched.load()
        self._operators = self._combine()

    @classmethod
    def single(cls, token: str) -> OperatorRegistry:
        """One admin named `operator`: the single-token setup (and tests that pass a token)."""
        register(token)
        return cls([Operator(LEGACY_NAME, Role.ADMIN, digest(token))])

    @classmethod
    def for_control(cls, control: ControlSection, token: str | None = None) -> OperatorRegistry:
        """Every operator `[control]` configures. `token`: the single token when the caller has it already
        ('' or None: read it from the config as the daemon does)."""
        fixed: list[Operator] = []
        files: list[_Watched] = []
        env_text = os.environ.get(control.operators_env, "")
        if env_text.strip():
            fixed.extend(parse_operators(env_text, f"${control.operators_env}"))
        if control.operators_file is not None:
            files.append(_Watched(control.operators_file, parse_operators))
        if control.token_file is not None and not os.environ.get(control.token_env):
            files.append(_Watched(control.token_file, _legacy_token))  # rotated by rewriting the file
        elif token:
            register(token)
            fixed.append(Operator(LEGACY_NAME, Role.ADMIN, digest(token)))
        else:
            legacy = load_token(control)
            if legacy is not None:
                fixed.append(Operator(LEGACY_NAME, Role.ADMIN, digest(legacy)))
        return cls(fixed, files)

    def _combine(self) -> list[Operator]:
        operators = [*self._fixed, *(operator for watched in self._files for operator in watched.operators)]
        check_unique(operators)
        return operators

    @property
    def operators(self) -> list[Operator]:
        self.refresh()
        return list(self._operators)

    def refresh(self) -> None:
        """Re-read every file that changed; a file that no longer parses keeps what it gave before."""
        if not any(watched.changed() for watched in self._files):
            return
        for watched in self._files:
            if not watched.changed():
                continue
            before = watched.operators
            try:
                watched.load()
                self._operators = self._combine()
            except ControlSetupError as exc:
                watched.operators = before
                self._log.error("operators_reload_refused", path=str(watched.path), error=str(exc))
                continue
            self._log.warning("operators_reloaded", path=str(watched.path), operators=[o.name for o in self._operators])

    def identify(self, token: str) -> Operator | None:
        """The operator holding `token`, comparing against every operator so the time says nothing."""
        self.refresh()
        presented = digest(token)
        found: Operator | None = None
        for operator in self._operators:
            if hmac.compare_digest(presented, operator.digest):
                found = operator
        return found

    def named(self, name: str) -> Operator | None:
        self.refresh()
        return next((operator for operator in self._operators if operator.name == name), None)

    def __bool__(self) -> bool:
        return bool(self._operators) or bool(self._files)


def bearer_token(authorization: str | None) -> str | None:
    """The credentials of exactly `Bearer <token>` (scheme case-insensitive, RFC 7235), else None."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()
