"""The cascade mechanisms of DOMAIN.md §3, one small pure function each.

Plain float functions: the traffic model calls them for every edge on every step, and the unit
tests check each against its source's figure on its own.
"""

from __future__ import annotations

import math


# Retry timing [assumption]: a caller gives up on a call after DEADLINE_TIMEOUTS × its timeout;
# backoff waits min(cap, base·2^k) with full jitter (mean half of that), base = the timeout.
DEADLINE_TIMEOUTS = 4.0
BACKOFF_CAP_TIMEOUTS = 8.0
RETRY_BUDGET_RATIO = 0.1        # a success earns 0.1 token, a retry costs 1 [AWS Builders' Library]


def expected_attempts(f: float, retries: float) -> float:
    """Expected attempts for one call with up to `retries` retries and per-attempt failure f.

    (1 − f^(R+1)) / (1 − f) [AWS Builders' Library]; "R retries" = R + 1 attempts.
    """
    if f >= 1.0 - 1e-12:
        return retries + 1.0
    return (1.0 - f ** (retries + 1.0)) / (1.0 - f)


def layered_amplification(attempts_per_layer: float, layers: int) -> float:
    """Load the bottom layer sees when every one of `layers` layers makes up to A attempts: A^D."""
    return float(attempts_per_layer) ** layers


def attempts_allowed(policy: str, max_retries: int) -> int:
    """How many attempts of one call fit before the caller's deadline, by retry policy.

    immediate: attempt k starts at k·timeout, so min(R+1, DEADLINE_TIMEOUTS) fit.
    backoff: attempt k also waits the jittered backoff (mean base·2^k / 2), so fewer fit.
    """
    if policy == "none" or max_retries <= 0:
        return 1
    if policy in ("immediate", "budget"):
        return int(min(max_retries + 1, DEADLINE_TIMEOUTS))
    start, k, fit = 0.0, 0, 1
    while k < max_retries:
        k += 1
        wait = min(BACKOFF_CAP_TIMEOUTS, 2.0 ** k) / 2.0    # in timeouts
        start += 1.0 + wait
        if start >= DEADLINE_TIMEOUTS:
            break
        fit += 1
    return fit


def policy_attempts(f: float, policy: str, allowed: int) -> float:
    """Expected attempts per call for a retry policy, given per-attempt failure probability f
    and the attempts that fit (`attempts_allowed`).

    budget: retries are capped at RETRY_BUDGET_RATIO of successes (token bucket), so under heavy
    failure almost nothing is retried.
    """
    a = expected_attempts(f, allowed - 1)
    if policy == "budget":
        return min(a, 1.0 + RETRY_BUDGET_RATIO * (1.0 - f))
    return a


def call_success(p_attempt: float, attempts: int) -> float:
    """Share of calls that succeed when each of `attempts` independent attempts succeeds with p."""
    return 1.0 - (1.0 - p_attempt) ** attempts


def budget_call_success(p_attempt: float) -> float:
    """With a retry budget only about RETRY_BUDGET_RATIO·p of failed calls get one retry."""
    p = p_attempt
    retried = min(1.0, RETRY_BUDGET_RATIO * p / max(1.0 - p, 1e-9))
    return p + (1.0 - p) * retried * p


def cache_backend_load(load: float, hit_ratio: float) -> float:
    """Backend load behind a cache: (1 − hit ratio) × load [SRE book ch. 22]."""
    return (1.0 - hit_ratio) * load


def late_share(latency_s: float, timeout_s: float) -> float:
    """Share of responses that arrive after the caller's timeout.

    [assumption] latencies spread as a Rayleigh tail with scale σ = the mean W: exp(−½ (T/W)²).
    """
    if latency_s <= 1e-9:
        return 0.0
    r = timeout_s / latency_s
    return math.exp(-0.5 * r * r) if r < 40.0 else 0.0


def queue_step(queue: float, arrivals: float, capacity: float, dt: float, shedding: bool,
               max_wait_s: float = 30.0, shed_wait_s: float = 0.2) -> tuple[float, float, float, float]:
    """One step of a server's queue. Returns (admitted, served, new_queue, wait_s).

    Without shedding every request waits in a queue of up to max_wait_s of work, so under
    overload responses come after callers have given up and goodput collapses [SRE ch. 22].
    With shedding the queue is kept short and the excess is rejected at once, so what is
    admitted is served in time.
    """
    cap = capacity if capacity > 0.0 else 0.0
    limit = cap * (shed_wait_s if shedding else max_wait_s)
    room = max(limit - queue, 0.0) / dt + cap
    admitted = arrivals if arrivals < room else room
    new_q = min(max(queue + (admitted - cap) * dt, 0.0), limit)
    served = min(cap, admitted + queue / dt)
    wait = new_q / cap if cap > 0.0 else 0.0
    return admitted, served, new_q, wait


def service_latency(base_s: float, utilization: float) -> float:
    """Mean time in service at a utilization (M/M/1-like growth, capped near saturation)."""
    return base_s / (1.0 - min(utilization, 0.95))


def goodput(arrivals: float, capacity: float, timeout_s: float, shedding: bool, seconds: float = 300.0,
            dt: float = 1.0) -> float:
    """Requests/s answered within the timeout after `seconds` at a steady arrival rate.

    The overload cascade of SRE ch. 22 in one number: without shedding, goodput falls far
    below capacity once the queue's wait passes the timeout; with shedding it stays near capacity.
    """
    q = 0.0
    good = 0.0
    for _ in range(int(seconds / dt)):
        _, served, q, wait = queue_step(q, arrivals, capacity, dt, shedding)
        good = served * (1.0 - late_share(wait + 0.03, timeout_s))
    return good


def drain_time_s(backlog: float, service_rate: float, arrival_rate: float) -> float:
    """Time to drain a backlog: backlog / (service − arrival); never, without spare capacity.

    [AWS Builders' Library, "Avoiding insurmountable queue backlogs"]
    """
    spare = service_rate - arrival_rate
    if backlog <= 0:
        return 0.0
    return math.inf if spare <= 0 else backlog / spare


def pool_repeat_rate(pool_size: float, session_videos: float) -> float:
    """Share of repeats when a viewer scrolls n videos drawn at random from a pool of P with no
    "already seen" filter: 1 − P·(1 − (1 − 1/P)^n) / n.
    """
    p, n = float(pool_size), float(session_videos)
    if n <= 1:
        return 0.0
    distinct = p * (1.0 - (1.0 - 1.0 / p) ** n)
    return max(0.0, 1.0 - distinct / n)


def warm_cache(fraction: float, fills: float, dt: float, items: float) -> float:
    """Share of a cache's working set held after dt seconds of `fills` successful fills per second."""
    return min(1.0, fraction + (1.0 - fraction) * min(1.0, fills * dt / max(items, 1e-9)))


def stable_capacity(normal_capacity: float, max_amplification: float, max_degradation: float) -> float:
    """OSDI'22 metastability model: capacity left once amplification and degradation stack."""
    return normal_capacity / (max_amplification * max_degradation)
