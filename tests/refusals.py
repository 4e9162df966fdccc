"""One check for every table of bad calls: the call is refused in one line naming the argument."""

from __future__ import annotations

import pytest

from perfcost.validation import ParameterError


def assert_refused_by_name(name: str, call) -> None:
    """``call()`` raises ParameterError whose one-line message starts "<name> must be "."""
    with pytest.raises(ParameterError) as caught:
        call()
    message = str(caught.value)
    assert message.startswith(f"{name} must be ") and "\n" not in message
