"""The input checks every public function relies on."""

import math

import numpy as np
import pytest

from perfcost.validation import (
    ParameterError,
    at_least,
    finite,
    fraction,
    integer_in_range,
    non_negative,
    positive,
)


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf, -math.inf, "3", None, True])
def test_positive_rejects_and_names_the_parameter(bad):
    with pytest.raises(ParameterError, match=r"request_rate_rps must be a finite number > 0"):
        positive("request_rate_rps", bad)


def test_positive_accepts_numpy_and_returns_float():
    value = positive("x", np.int64(3))
    assert value == 3.0 and type(value) is float


def test_non_negative_and_finite():
    assert non_negative("x", 0) == 0.0
    with pytest.raises(ParameterError, match=">= 0"):
        non_negative("x", -1e-12)
    assert finite("x", -2) == -2.0
    with pytest.raises(ParameterError, match="finite"):
        finite("x", math.nan)


def test_fraction_bounds_open_and_closed():
    assert fraction("u", 0) == 0.0 and fraction("u", 1) == 1.0
    with pytest.raises(ParameterError, match=r"u must be a number in \(0, 1\]"):
        fraction("u", 0, low_open=True)
    with pytest.raises(ParameterError, match=r"q must be a number in \[0, 1\)"):
        fraction("q", 1, high_open=True)
    with pytest.raises(ParameterError, match=r"in \[0, 1\]; got 1.7"):
        fraction("eu_egress_fraction", 1.7)


def test_at_least_and_integer_in_range():
    assert at_least("peak", 1, 1.0) == 1.0
    with pytest.raises(ParameterError, match=">= 1"):
        at_least("peak", 0.99, 1.0)
    assert integer_in_range("servers", 3.0, 1) == 3
    for bad in (0, 2.5, math.nan, True, "2"):
        with pytest.raises(ParameterError, match="servers must be a whole number >= 1"):
            integer_in_range("servers", bad, 1)


def test_parameter_error_is_a_value_error_with_fields():
    with pytest.raises(ValueError) as caught:
        positive("latency_slo_ms", -5)
    assert caught.value.name == "latency_slo_ms" and caught.value.value == -5.0


def test_upper_limits_are_part_of_the_range_and_the_message():
    assert positive("rate", 1e6, maximum=1e6) == 1e6
    with pytest.raises(ParameterError, match=r"rate must be a number in \(0, 1e\+06\]; got 7e\+20"):
        positive("rate", 7e20, maximum=1e6)
    with pytest.raises(ParameterError, match=r"n must be a whole number in \[1, 64\]; got 65"):
        integer_in_range("n", 65, 1, 64)


@pytest.mark.parametrize("huge", [10**400, 1e308, -(10**400)])
def test_huge_numbers_are_refused_not_overflowed(huge):
    with pytest.raises(ParameterError, match="servers must be a whole number in"):
        integer_in_range("servers", huge, 1, 10**6)
    with pytest.raises(ParameterError, match="x must be a number in"):
        positive("x", huge, maximum=1e6)


def test_long_values_are_cut_in_the_message():
    with pytest.raises(ParameterError) as caught:
        positive("x", list(range(10_000)))
    assert len(str(caught.value)) < 140 and "\n" not in str(caught.value)


def test_zero_or_takes_any_real_zero_and_names_both_choices():
    from perfcost.validation import positive, zero_or

    def rate(name, value):
        return positive(name, value, maximum=10.0)

    for zero in (0, 0.0, np.int64(0), np.float32(0)):
        assert zero_or("rate", zero, rate, "the default") == 0.0
    assert zero_or("rate", np.int64(5), rate, "the default") == 5.0
    with pytest.raises(ParameterError, match=r"^rate must be 0 \(the default\) or a number in "
                                             r"\(0, 10\]; got 11"):
        zero_or("rate", 11, rate, "the default")
    with pytest.raises(ParameterError, match=r"^rate must be 0"):
        zero_or("rate", False, rate, "the default")
