"""Checks that reject bad input before any work starts.

Every public function in perfcost validates its arguments through these helpers, so a bad value
fails with one kind of message everywhere: the parameter's name, the valid range and the value
received. Each helper returns the value converted (``float`` or ``int``) so callers can write
``rate = positive("request_rate_rps", rate)``.

The range helpers take an upper limit (``maximum``, or ``high`` where both ends are named): the
limit that keeps the work a value causes bounded (a fleet of 10^8 instances, a trace of 10^12
requests). Whole numbers have one check, :func:`integer_in_range`. Ranges are written the way
mathematicians write intervals, ``(0, 1e+06]``, so the message is the documentation.
"""

from __future__ import annotations

import math
import numbers

__all__ = [
    "MAX_SEED",
    "ParameterError",
    "at_least",
    "describe_range",
    "finite",
    "fraction",
    "in_range",
    "instance_of",
    "integer_in_range",
    "non_negative",
    "positive",
    "seed_value",
    "zero_or",
]

MAX_SEED = 2**32 - 1  # numpy and torch both take seeds in [0, 2**32)


class ParameterError(ValueError):
    """A parameter outside its valid range; the message names the parameter and the range."""

    def __init__(self, name: str, valid: str, value: object):
        self.name, self.valid, self.value = name, valid, value
        super().__init__(f"{name} must be {valid}; got {_shown(value)}")


def _shown(value: object) -> str:
    """``repr`` of the value, cut to one short line (a 10^6-element list is not echoed)."""
    text = repr(value).replace("\n", " ")
    return text if len(text) <= 80 else text[:77] + "..."


def describe_range(low: float, high: float, *, low_open: bool = False,
                   high_open: bool = False, integer: bool = False) -> str:
    """Words for an interval: ``a number in (0, 1e+06]``, ``a whole number in [1, 64]``.

    An infinite end is written as ``> low`` or ``>= low`` alone.
    """
    def shown(end: float) -> str:
        return f"{int(end)}" if integer else f"{end:g}"

    if math.isinf(high):
        noun = "a whole number" if integer else "a finite number"
        return f"{noun} {'>' if low_open else '>='} {shown(low)}"
    noun = "a whole number" if integer else "a number"
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    return f"{noun} in {left}{shown(low)}, {shown(high)}{right}"


def _real(name: str, value: object, valid: str) -> float:
    """Return ``value`` as a finite float, or raise ParameterError naming ``valid``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(name, valid, value)
    try:
        value = float(value)
    except OverflowError:  # an int beyond the float range
        raise ParameterError(name, valid, value) from None
    if not math.isfinite(value):
        raise ParameterError(name, valid, value)
    return value


def in_range(name: str, value: object, low: float, high: float = math.inf, *,
             low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a float; it must be finite and in the interval from low to high."""
    valid = describe_range(low, high, low_open=low_open, high_open=high_open)
    value = _real(name, value, valid)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        raise ParameterError(name, valid, value)
    return value


def finite(name: str, value: object) -> float:
    """Return ``value`` as a float; it must be a finite real number."""
    return _real(name, value, "a finite number")


def positive(name: str, value: object, *, maximum: float = math.inf) -> float:
    """Return ``value`` as a float; it must be finite, > 0 and <= ``maximum``."""
    return in_range(name, value, 0.0, maximum, low_open=True)


def non_negative(name: str, value: object, *, maximum: float = math.inf) -> float:
    """Return ``value`` as a float; it must be finite, >= 0 and <= ``maximum``."""
    return in_range(name, value, 0.0, maximum)


def at_least(name: str, value: object, minimum: float, *, maximum: float = math.inf) -> float:
    """Return ``value`` as a float; it must be finite, >= ``minimum`` and <= ``maximum``."""
    return in_range(name, value, minimum, maximum)


def fraction(
    name: str, value: object, *, low_open: bool = False, high_open: bool = False
) -> float:
    """Return ``value`` as a float in [0, 1]; ``low_open``/``high_open`` exclude 0 or 1."""
    return in_range(name, value, 0.0, 1.0, low_open=low_open, high_open=high_open)


def integer_in_range(name: str, value: object, low: int, high: float = math.inf) -> int:
    """Return ``value`` as an int; it must be a whole number in [low, high] (with ``high``
    infinite, the default: any whole number >= low)."""
    valid = describe_range(low, high, integer=True)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(name, valid, value)
    if not isinstance(value, numbers.Integral):
        value = _real(name, value, valid)
        if value != math.floor(value):
            raise ParameterError(name, valid, value)
    if not low <= value <= high:  # exact for ints of any size, no float overflow
        raise ParameterError(name, valid, value)
    return int(value)


def seed_value(value: object, name: str = "seed") -> int:
    """Return ``value`` as an int; a random seed must be a whole number in [0, 2**32 - 1]."""
    return integer_in_range(name, value, 0, MAX_SEED)


def instance_of(name: str, value: object, kind: type, described: str) -> object:
    """Return ``value`` when it is a ``kind``; else raise ParameterError naming ``name`` with
    ``described`` (e.g. ``"an InferenceService"``) as what it must be: the one type check of an
    argument that must be one of the library's own objects."""
    if not isinstance(value, kind):
        raise ParameterError(name, described, value)
    return value


def zero_or(name: str, value: object, check, zero_means: str) -> float:
    """Return 0.0 for a numeric 0 (a parameter's "use the default from elsewhere", described by
    ``zero_means``), else ``check(name, value)``; a refusal names both choices:
    ``"0 (zero_means) or <check's range>"``."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and value == 0:
        return 0.0
    try:
        return check(name, value)
    except ParameterError as error:
        raise ParameterError(name, f"0 ({zero_means}) or {error.valid}", value) from None
