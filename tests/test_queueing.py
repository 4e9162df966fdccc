"""Queueing formulas: published worked examples, closed forms, and properties for all inputs."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize

from perfcost import queueing
from perfcost.queueing import MD1, MG1, GGc, MMc, UnstableQueueError, erlang_c
from perfcost.validation import ParameterError


def erlang_c_by_recursion(servers, offered_load):
    """Erlang C from the textbook Erlang B recursion: an independent implementation."""
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered_load * blocking / (k + offered_load * blocking)
    return servers * blocking / (servers - offered_load * (1 - blocking))


# --- Published worked examples -------------------------------------------------------------------

# Anderson, Sweeney, Williams et al., "An Introduction to Management Science", Waiting Line Models:
# the multiple-server queue spreadsheet (Cengage) for λ = 10, μ = 12, printed to 3 decimals.
CENGAGE_MMC = {  # servers: (Lq, L, Wq, W, Pw)
    2: (0.175, 1.008, 0.018, 0.101, 0.245),
    3: (0.022, 0.856, 0.002, 0.086, 0.058),
    4: (0.003, 0.836, 0.000, 0.084, 0.011),
    5: (0.000, 0.834, 0.000, 0.083, 0.002),
}


@pytest.mark.parametrize("servers", sorted(CENGAGE_MMC))
def test_cengage_multiple_server_spreadsheet(servers):
    queue = MMc(arrival_rate=10, service_rate=12, servers=servers)
    lq, system, wq, w, pw = CENGAGE_MMC[servers]
    half_unit = 0.0005
    assert queue.mean_queue_length == pytest.approx(lq, abs=half_unit)
    assert queue.mean_queue_length + queue.offered_load == pytest.approx(system, abs=half_unit)
    assert queue.mean_wait == pytest.approx(wq, abs=half_unit)
    assert queue.mean_response == pytest.approx(w, abs=half_unit)
    assert queue.p_wait == pytest.approx(pw, abs=half_unit)


def test_burger_dome_two_channel_example():
    # Anderson et al.: λ = 0.75/min, μ = 1/min; one channel Lq 2.25, Wq 3 min, Pw 0.75;
    # two channels Lq 0.1227, Wq 0.1636 min, Pw 0.2045.
    one, two = MMc(0.75, 1.0, 1), MMc(0.75, 1.0, 2)
    assert (one.mean_queue_length, one.mean_wait, one.p_wait) == pytest.approx((2.25, 3, 0.75))
    assert two.mean_queue_length == pytest.approx(0.1227, abs=5e-5)
    assert two.mean_wait == pytest.approx(0.1636, abs=5e-5)
    assert two.p_wait == pytest.approx(0.2045, abs=5e-5)


def test_bronson_schaum_problem_24_6():
    # Bronson (1982), Problem 24.6: s = 3, λ = 300/yr, 1/μ = 2 days (μ = 182.5/yr):
    # Lq = 0.352, L = 1.996, Wq = 0.001175 yr, W = 0.006654 yr.
    queue = MMc(300, 182.5, 3)
    assert queue.mean_queue_length == pytest.approx(0.352, abs=5e-4)
    assert queue.mean_queue_length + queue.offered_load == pytest.approx(1.996, abs=5e-4)
    assert queue.mean_wait == pytest.approx(0.001175, abs=5e-7)
    assert queue.mean_response == pytest.approx(0.006654, abs=5e-7)


def test_erlang_c_calculator_example_20_erlangs():
    # 600 calls/h of 120 s (20 Erlangs): 26 circuits keep the delay probability under 15%,
    # 30 circuits bring it to 2.5%, and 30 circuits at 15% carry 23.6 Erlangs; 3 s wait per call.
    assert min(c for c in range(21, 60) if erlang_c(c, 20) < 0.15) == 26
    assert round(erlang_c(30, 20), 3) == 0.025
    load = optimize.brentq(lambda a: erlang_c(30, a) - 0.15, 20, 29.9)
    assert round(load, 1) == 23.6
    assert round(MMc(600 / 3600, 1 / 120, 26).mean_wait) == 3


def test_wikipedia_md1_example():
    # Wikipedia "M/D/1 queue", Example: λ = 20/h, μ = 30/h: LQ = 0.6667, L = 1.333,
    # ωQ = 0.033 h, ω = 0.067 h.
    queue = MD1(20, 30)
    assert queue.mean_queue_length == pytest.approx(0.6667, abs=5e-5)
    assert queue.mean_queue_length + queue.utilization == pytest.approx(1.333, abs=5e-4)
    assert queue.mean_wait == pytest.approx(0.033, abs=5e-4)
    assert queue.mean_response == pytest.approx(0.067, abs=5e-4)


# --- Closed forms --------------------------------------------------------------------------------

def test_mm1_is_the_textbook_closed_form():
    lam, mu = 7.0, 10.0
    queue = MMc(lam, mu, 1)
    assert queue.p_wait == pytest.approx(lam / mu, rel=1e-12)
    assert queue.mean_wait == pytest.approx(lam / (mu * (mu - lam)), rel=1e-12)
    for q in (0.5, 0.9, 0.95, 0.999):
        # M/M/1 response time is exponential with rate μ - λ.
        assert queue.response_quantile(q) == pytest.approx(-math.log(1 - q) / (mu - lam), rel=1e-9)


@pytest.mark.parametrize("servers", [1, 2, 5, 10, 50, 200, 1000])
@pytest.mark.parametrize("utilization", [0.01, 0.5, 0.9, 0.999])
def test_erlang_c_matches_the_recursion(servers, utilization):
    load = utilization * servers
    assert erlang_c(servers, load) == pytest.approx(erlang_c_by_recursion(servers, load), rel=1e-9)


def test_erlang_c_at_100000_servers_is_finite_and_right():
    for load in (90_000.0, 99_000.0, 99_990.0):
        value = erlang_c(100_000, load)
        assert 0 <= value <= 1
        assert value == pytest.approx(erlang_c_by_recursion(100_000, load), rel=1e-8)


def test_erlang_c_near_saturation_tends_to_one():
    assert erlang_c(10, 10 - 1e-9) == pytest.approx(1.0, abs=1e-6)
    assert erlang_c(1, 1e-12) == pytest.approx(1e-12, rel=1e-6)
    assert erlang_c(5000, 1.0) == 0.0  # underflows honestly to zero, not NaN


def numerical_response_survival(queue, t):
    """P(W + S > t) by integrating the wait's density against the service survival."""
    mu, theta, c = queue.service_rate, queue.drain_rate, queue.p_wait
    inside, _ = integrate.quad(lambda w: theta * math.exp(-theta * w) * math.exp(-mu * (t - w)),
                               0, t)
    waited_longer = math.exp(-theta * t)
    return (1 - c) * math.exp(-mu * t) + c * (waited_longer + inside)


@pytest.mark.parametrize(
    ("arrival_rate", "service_rate", "servers"),
    [
        (1.0, 1.0, 2),  # cμ - λ = μ exactly: the Erlang-2 special case
        (1.0 - 1e-10, 1.0, 2),  # within float error of it
        (3.0, 2.0, 2),  # θ = 1 < μ = 2
        (5.0, 1.0, 8),  # θ = 3 > μ = 1
    ],
)
def test_response_survival_matches_numerical_convolution(arrival_rate, service_rate, servers):
    queue = MMc(arrival_rate, service_rate, servers)
    for t in (0.0, 0.1, 1.0, 3.0, 10.0):
        assert queue.response_survival(t) == pytest.approx(
            numerical_response_survival(queue, t), rel=1e-7, abs=1e-12)


def test_response_quantile_in_the_equal_rate_case():
    queue = MMc(1.0, 1.0, 2)  # C = 1/3, θ = μ = 1: P(T > t) = (1 + t/3) e^{-t}
    t = queue.response_quantile(0.95)
    assert (1 + t / 3) * math.exp(-t) == pytest.approx(0.05, rel=1e-9)


def test_wait_quantile_is_zero_below_the_probability_of_waiting():
    queue = MMc(1.0, 1.0, 4)
    assert queue.p_wait < 0.05
    assert queue.wait_quantile(0.95) == 0.0
    busy = MMc(3.6, 1.0, 4)
    t = busy.wait_quantile(0.95)
    assert busy.wait_survival(t) == pytest.approx(0.05, rel=1e-12)


def test_mg1_and_ggc_reduce_to_the_exact_cases():
    assert MG1(5, 10, 1.0).mean_wait == pytest.approx(MMc(5, 10, 1).mean_wait, rel=1e-12)
    assert MD1(5, 10).mean_wait == pytest.approx(MG1(5, 10, 1).mean_wait / 2, rel=1e-12)
    assert GGc(30, 10, 4, 1, 1).mean_wait == pytest.approx(MMc(30, 10, 4).mean_wait, rel=1e-12)
    assert GGc(5, 10, 1, 1, 0.5).mean_wait == pytest.approx(MG1(5, 10, 0.5).mean_wait, rel=1e-12)
    # Kingman: Wq ≈ ρ/(1-ρ) (ca² + cs²)/2 / μ for one server.
    assert GGc(8, 10, 1, 2, 0).mean_wait == pytest.approx(0.8 / 0.2 * 2 / 10, rel=1e-12)


# --- Bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"arrival_rate": 0, "service_rate": 1, "servers": 1}, "arrival_rate must be"),
        ({"arrival_rate": -1, "service_rate": 1, "servers": 1}, "arrival_rate must be"),
        ({"arrival_rate": math.nan, "service_rate": 1, "servers": 1}, "arrival_rate must be"),
        ({"arrival_rate": 1, "service_rate": math.inf, "servers": 1}, "service_rate must be"),
        ({"arrival_rate": 1, "service_rate": 1, "servers": 0}, "servers must be a whole number"),
        ({"arrival_rate": 1, "service_rate": 1, "servers": 1.5}, "servers must be a whole number"),
    ],
)
def test_bad_parameters_name_themselves(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        MMc(**kwargs)


@pytest.mark.parametrize("arrival_rate", [20.0, 25.0])
def test_unstable_queue_has_its_own_error(arrival_rate):
    with pytest.raises(UnstableQueueError, match=r"arrival_rate must be < servers × service_rate"):
        MMc(arrival_rate, 10.0, 2)
    with pytest.raises(ValueError):
        MG1(arrival_rate, 10.0, 1.0)
    with pytest.raises(UnstableQueueError, match="offered_load"):
        erlang_c(2, arrival_rate / 10)


def test_quantile_levels_outside_the_unit_interval_are_refused():
    queue = MMc(1, 2, 1)
    for q in (-0.1, 1.0, 1.5, math.nan):
        with pytest.raises(ParameterError, match=r"q must be a number in \[0, 1\)"):
            queue.response_quantile(q)
    with pytest.raises(ParameterError, match="t must be"):
        queue.response_survival(-1)


# --- Properties ----------------------------------------------------------------------------------

servers_st = st.integers(min_value=1, max_value=2000)
utilization_st = st.floats(min_value=1e-6, max_value=0.9999)


@settings(max_examples=200, deadline=None)
@given(servers=servers_st, utilization=utilization_st)
def test_erlang_c_is_a_probability_and_agrees_with_the_recursion(servers, utilization):
    value = erlang_c(servers, utilization * servers)
    assert 0.0 <= value <= 1.0
    assert value == pytest.approx(erlang_c_by_recursion(servers, utilization * servers),
                                  rel=1e-7, abs=1e-300)


@settings(max_examples=200, deadline=None)
@given(servers=servers_st, utilization=utilization_st)
def test_adding_a_server_never_raises_the_wait(servers, utilization):
    load = utilization * servers
    assert erlang_c(servers + 1, load) <= erlang_c(servers, load) * (1 + 1e-9)
    rate = load * 1.0
    assert (MMc(rate, 1.0, servers + 1).response_quantile(0.95)
            <= MMc(rate, 1.0, servers).response_quantile(0.95) * (1 + 1e-9))


@settings(max_examples=200, deadline=None)
@given(servers=servers_st, low=utilization_st, high=utilization_st)
def test_more_traffic_never_lowers_the_wait(servers, low, high):
    low, high = sorted((low, high))
    slow, fast = MMc(low * servers, 1.0, servers), MMc(high * servers, 1.0, servers)
    assert slow.p_wait <= fast.p_wait * (1 + 1e-9) + 1e-300
    assert slow.mean_wait <= fast.mean_wait * (1 + 1e-9) + 1e-300
    assert slow.response_quantile(0.95) <= fast.response_quantile(0.95) * (1 + 1e-9)


@settings(max_examples=200, deadline=None)
@given(servers=servers_st, utilization=utilization_st,
       q=st.floats(min_value=0.01, max_value=0.9999))
def test_quantiles_invert_the_survival_and_stay_finite(servers, utilization, q):
    queue = MMc(utilization * servers * 3.0, 3.0, servers)
    t = queue.response_quantile(q)
    assert math.isfinite(t) and t > 0
    assert queue.response_survival(t) == pytest.approx(1 - q, rel=1e-6)
    assert 0 <= queue.wait_quantile(q) <= t
    for value in (queue.p_wait, queue.mean_wait, queue.mean_response, queue.mean_queue_length):
        assert math.isfinite(value) and value >= 0


# --- The valid ranges' ends ----------------------------------------------------------------------

@pytest.mark.parametrize("servers", [10**6, 10**8, queueing.MAX_SERVERS])
@pytest.mark.parametrize("utilization", [0.9999, 0.99999])
def test_erlang_c_up_to_the_largest_fleet_agrees_with_50_digit_arithmetic(servers, utilization):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    c, a = mpmath.mpf(servers), mpmath.mpf(utilization * servers)
    blocking = mpmath.exp(c * mpmath.log(a) - a - mpmath.loggamma(c + 1)) / mpmath.gammainc(
        c + 1, a, mpmath.inf, regularized=True)
    exact = float(blocking / ((c - a) / c + a / c * blocking))
    assert erlang_c(servers, utilization * servers) == pytest.approx(exact, rel=1e-5)


@pytest.mark.parametrize("servers", [1, 7, queueing.MAX_SERVERS])
@pytest.mark.parametrize("service_rate", [queueing.MIN_SERVICE_RATE, 1.0,
                                          queueing.MAX_SERVICE_RATE])
@pytest.mark.parametrize("utilization", [5e-324, 1e-12, 0.5, 1 - 1e-16])
def test_every_result_is_finite_and_non_negative_at_the_range_ends(servers, service_rate,
                                                                   utilization):
    arrival_rate = max(utilization * servers * service_rate, 5e-324)  # the smallest float > 0
    queue = MMc(arrival_rate, service_rate, servers)
    general = GGc(arrival_rate, service_rate, servers, queueing.MAX_CV, queueing.MAX_CV)
    values = [queue.p_wait, queue.mean_wait, queue.mean_response, queue.mean_queue_length,
              general.mean_wait, general.mean_queue_length]
    for q in (0.0, 0.5, 1 - 1e-16):
        values += [queue.response_quantile(q), queue.wait_quantile(q)]
    for t in (0.0, 1.0, queueing.MAX_TIME_S):
        values += [queue.response_survival(t), queue.wait_survival(t)]
    if servers == 1:
        values += [MG1(arrival_rate, service_rate, queueing.MAX_CV).mean_response]
    assert all(math.isfinite(v) and v >= 0 for v in values), values
    assert 0 <= queue.p_wait <= 1


def test_the_range_ends_are_in_the_messages():
    with pytest.raises(ParameterError, match=r"^servers must be a whole number in \[1, 10+\]"):
        MMc(1.0, 1.0, 10**9 + 1)
    with pytest.raises(ParameterError, match=r"^service_rate must be a number in \[1e-06, 1e\+09"):
        MMc(1e-9, 1e-7, 1)
    with pytest.raises(ParameterError, match=r"^t must be a number in \[0, 1e\+30\]; got 1e\+31"):
        MMc(1.0, 2.0, 1).wait_survival(1e31)
