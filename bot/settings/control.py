"""`[control]`: where the control API listens and where its token comes from.

Its own module so that `hedgebot ctl` reads this section alone (`load_control_section`) without building the
whole config: an operator's command starts in a fraction of the daemon's start-up time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import model_validator

from bot.settings.toml import parse_toml
from bot.settings.validate import validated
from bot.settings.values import ConfigError, Duration, Flag, Section


class ControlSection(Section):
    listen: str = "127.0.0.1:8686"  # host:port, or unix:/path/to/socket
    token_env: str = "HEDGEBOT_TOKEN"  # noqa: S105 -- the name of a variable, not a secret
    token_file: Path | None = None  # 0600 file, used when the environment variable is unset
    tls_cert: Path | None = None  # PEM certificate (with tls_key): HTTPS, needed to listen beyond loopback
    tls_key: Path | None = None
    allow_remote: Flag = False  # explicit override: plain HTTP beyond loopback (behind a TLS proxy, in a pod)
    # Named operators, one `name:role:token` each (role: viewer, trader or admin), from this variable (entries
    # separated by commas or newlines) and/or a 0600 file (one a line); re-read when the file changes. The token
    # above, when set, is one more operator: an admin named `operator`.
    operators_env: str = "HEDGEBOT_OPERATORS"
    operators_file: Path | None = None
    session_ttl: Duration = "12h"  # a dashboard login lasts this long (wall time)

    @model_validator(mode="after")
    def _tls_pair(self) -> ControlSection:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both or neither")
        return self


def read_config_text(path: Path) -> str:
    """The text of a config file; ConfigError naming the file when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None


def load_control_section(path: Path | None) -> ControlSection:
    """The `[control]` section of the config in `path` (the embedded default's when None), validated as the
    daemon validates it; the other sections are the daemon's business and are not read."""
    if path is None:
        return ControlSection()
    data: dict[str, Any] = parse_toml(read_config_text(path), str(path))
    section = data.get("control", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: control: got {type(section).__name__}, expected a table")
    return validated(ControlSection, section, str(path), "control")
