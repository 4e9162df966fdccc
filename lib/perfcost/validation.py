"""Checks that reject bad input before any work starts.

Every public function in perfcost validates its arguments through these helpers, so a bad value
fails with one kind of message everywhere: the parameter's name, the valid range and the value
received. Each helper returns the value converted (``float`` or ``int``) so callers can write
``rate = positive("request_rate_rps", rate)``.
"""

from __future__ import annotations

import math
import numbers

__all__ = [
    "ParameterError",
    "at_least",
    "finite",
    "fraction",
    "integer_at_least",
    "non_negative",
    "positive",
]


class ParameterError(ValueError):
    """A parameter outside its valid range; the message names the parameter and the range."""

    def __init__(self, name: str, valid: str, value: object):
        self.name, self.valid, self.value = name, valid, value
        super().__init__(f"{name} must be {valid}; got {value!r}")


def _real(name: str, value: object, valid: str) -> float:
    """Return ``value`` as a finite float, or raise ParameterError naming ``valid``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(name, valid, value)
    value = float(value)
    if not math.isfinite(value):
        raise ParameterError(name, valid, value)
    return value


def finite(name: str, value: object) -> float:
    """Return ``value`` as a float; it must be a finite real number."""
    return _real(name, value, "a finite number")


def positive(name: str, value: object) -> float:
    """Return ``value`` as a float; it must be finite and > 0."""
    value = _real(name, value, "a finite number > 0")
    if value <= 0:
        raise ParameterError(name, "a finite number > 0", value)
    return value


def non_negative(name: str, value: object) -> float:
    """Return ``value`` as a float; it must be finite and >= 0."""
    value = _real(name, value, "a finite number >= 0")
    if value < 0:
        raise ParameterError(name, "a finite number >= 0", value)
    return value


def at_least(name: str, value: object, minimum: float) -> float:
    """Return ``value`` as a float; it must be finite and >= ``minimum``."""
    valid = f"a finite number >= {minimum:g}"
    value = _real(name, value, valid)
    if value < minimum:
        raise ParameterError(name, valid, value)
    return value


def fraction(
    name: str, value: object, *, low_open: bool = False, high_open: bool = False
) -> float:
    """Return ``value`` as a float in [0, 1]; ``low_open``/``high_open`` exclude 0 or 1."""
    valid = f"in {'(' if low_open else '['}0, 1{')' if high_open else ']'}"
    value = _real(name, value, valid)
    too_low = value <= 0 if low_open else value < 0
    too_high = value >= 1 if high_open else value > 1
    if too_low or too_high:
        raise ParameterError(name, valid, value)
    return value


def integer_at_least(name: str, value: object, minimum: int) -> int:
    """Return ``value`` as an int; it must be a whole number >= ``minimum``."""
    valid = f"a whole number >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(name, valid, value)
    if not math.isfinite(value) or value != int(value) or value < minimum:
        raise ParameterError(name, valid, value)
    return int(value)
