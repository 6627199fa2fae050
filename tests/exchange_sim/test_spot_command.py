"""`hedgebot exchange-sim --spot-only`: more coins listed on the spot market only."""

from __future__ import annotations

import pytest

from bot.cli import _parser


def test_the_command_line_lists_spot_only_coins_and_refuses_a_malformed_list() -> None:
    parser = _parser()
    assert parser.parse_args(["exchange-sim", "--spot-only", "xyz, ABC"]).spot_only == ("XYZ", "ABC")
    with pytest.raises(SystemExit) as refused:
        parser.parse_args(["exchange-sim", "--spot-only", "X/Y"])
    assert refused.value.code == 2
