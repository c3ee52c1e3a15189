"""The cascade mechanisms of DOMAIN.md §3, one small pure function each.

Plain float functions: the traffic model calls them for every edge on every step, and the unit
tests check each against its source's figure on its own.
"""

from __future__ import annotations

import math


# Retry timing [assumption]: a caller gives up on a call after DEADLINE_TIMEOUTS × its timeout
# and starts no attempt after that. Backoff before retry k (k = 1, 2, …) is full jitter over a
# capped exponential [AWS Builders' Library]: U(0, min(cap, base·2^k)), base and cap in timeouts.
DEADLINE_TIMEOUTS = 4.0
BACKOFF_BASE_TIMEOUTS = 2.0
BACKOFF_CAP_TIMEOUTS = 8.0
# A failed attempt takes, on average, this share of its timeout [assumption]: some come back at
# once (refused, rejected by a full queue), others only when the timeout fires.
FAIL_TIMEOUTS = 0.5
RETRY_BUDGET_RATIO = 0.1        # a success earns 0.1 token, a retry costs 1 [AWS Builders' Library]
_GRID = 200                     # points per timeout in the backoff convolution


def expected_attempts(f: float, retries: float) -> float:
    """Expected attempts for one call with up to `retries` retries and per-attempt failure f.

    (1 − f^(R+1)) / (1 − f) [AWS Builders' Library]; "R retries" = R + 1 attempts. R may be
    fractional (`attempts_allowed` for backoff): exact at f = 0 and f = 1, smooth between.
    """
    if f >= 1.0 - 1e-12:
        return retries + 1.0
    return (1.0 - f ** (retries + 1.0)) / (1.0 - f)


def layered_amplification(attempts_per_layer: float, layers: int) -> float:
    """Load the bottom layer sees when every one of `layers` layers makes up to A attempts: A^D."""
    return float(attempts_per_layer) ** layers


def backoff_wait_max(k: int) -> float:
    """The longest backoff before retry k, in timeouts: min(cap, base·2^k)."""
    return min(BACKOFF_CAP_TIMEOUTS, BACKOFF_BASE_TIMEOUTS * 2.0 ** k)


def backoff_reach(max_retries: int, fail_timeouts: float = FAIL_TIMEOUTS) -> tuple[float, ...]:
    """P(attempt j is started | attempts 1..j−1 all failed), j = 1..R+1, under backoff.

    Attempt j starts at (j−1)·fail_timeouts + U_1 + … + U_{j−1} timeouts, U_k ~ U(0, wait_max(k));
    it is made if that is before the deadline. The distribution of the jitter's sum is an exact
    convolution of uniform densities on a grid of 1/_GRID timeout (deterministic, cached).
    """
    return _reach(int(max_retries), round(float(fail_timeouts), 6), BACKOFF_BASE_TIMEOUTS,
                  BACKOFF_CAP_TIMEOUTS, DEADLINE_TIMEOUTS)


_REACH_CACHE: dict[tuple[int, float, float, float, float], tuple[float, ...]] = {}


def _reach(r: int, phi: float, base: float, cap: float, deadline: float) -> tuple[float, ...]:
    key = (r, phi, base, cap, deadline)
    if key in _REACH_CACHE:
        return _REACH_CACHE[key]
    size = int(deadline * _GRID) + 1
    density = [0.0] * size          # mass of U_1 + … + U_k per grid cell, truncated at the deadline
    density[0] = 1.0
    reach = [1.0]
    for k in range(1, r + 1):
        width = max(1, int(round(backoff_wait_max(k) * _GRID)))
        w = 1.0 / width
        # convolve with U(0, width): a running sum over a window of `width` cells
        new = [0.0] * size
        acc = 0.0
        for x in range(size):
            acc += density[x]
            if x >= width:
                acc -= density[x - width]
            new[x] = acc * w
        density = new
        limit = (deadline - k * phi) * _GRID       # the k-th retry starts before the deadline
        if limit <= 0:
            reach.append(0.0)
            continue
        whole = int(limit)
        mass = sum(density[:min(whole, size)])
        if whole < size:
            mass += density[whole] * (limit - whole)
        reach.append(min(1.0, mass))
    out = tuple(reach)
    _REACH_CACHE[key] = out
    return out


def attempts_allowed(policy: str, max_retries: int, fail_timeouts: float = FAIL_TIMEOUTS) -> float:
    """Attempts one call makes when every attempt fails, before the caller's deadline, by policy.

    immediate (and budget): attempt k starts when attempt k−1 fails, at most one timeout later,
    so at least min(R+1, DEADLINE_TIMEOUTS) fit — more when failures come back fast, which the
    traffic model follows step by step (`attempts_in_deadline`). backoff: the jittered waits push
    later attempts past the
    deadline; the expected count Σ_j reach_j (`backoff_reach`) is fractional — used for load
    (`policy_attempts`) and for success (`call_success`) alike.
    """
    if policy == "none" or max_retries <= 0:
        return 1.0
    if policy in ("immediate", "budget"):
        return float(int(min(max_retries + 1, DEADLINE_TIMEOUTS)))
    return sum(backoff_reach(max_retries, fail_timeouts))


def backoff_mean_wait(attempts: float) -> float:
    """Mean total backoff wait, in timeouts, of a call making `attempts` attempts (fractional):
    the mean of U(0, wait_max(k)) is half of it, summed over the retries made."""
    total, k, left = 0.0, 1, attempts - 1.0
    while left > 0.0:
        total += min(1.0, left) * backoff_wait_max(k) / 2.0
        left -= 1.0
        k += 1
    return total


def policy_attempts(f: float, policy: str, allowed: float) -> float:
    """Expected attempts per call for a retry policy, given per-attempt failure probability f
    and the attempts that fit (`attempts_allowed`).

    budget: retries are capped at RETRY_BUDGET_RATIO of successes (token bucket), so under heavy
    failure almost nothing is retried.
    """
    a = expected_attempts(f, allowed - 1)
    if policy == "budget":
        return min(a, 1.0 + RETRY_BUDGET_RATIO * (1.0 - f))
    return a


def call_success(p_attempt: float, attempts: float) -> float:
    """Share of calls that succeed when each of `attempts` independent attempts succeeds with p
    (1 − (1 − p)^A = (1 − f)·expected_attempts: consistent for a fractional A too)."""
    return 1.0 - (1.0 - p_attempt) ** attempts


def failures_before_success(f: float, attempts: float) -> float:
    """Mean failed attempts before the successful one, among calls that succeed within
    `attempts` attempts of per-attempt failure f: Σ (j−1)·f^(j−1)(1−f) / (1 − f^A)."""
    if f <= 1e-12:
        return 0.0
    a = attempts
    if f >= 1.0 - 1e-9:
        return (a - 1.0) / 2.0
    fa = f ** a
    return f * (1.0 - a * f ** (a - 1.0) + (a - 1.0) * fa) / ((1.0 - f) * (1.0 - fa))


def answered_latency(ok_latency_s: float, fail_s: float, timeout_s: float, success: float, rescued: float,
                     retries_s: float) -> float:
    """Mean time a call adds to the requests that *succeed* (what a caller's own timeout sees).

    A successful call answers within its timeout, after `retries_s` spent on failed attempts
    (and backoff); a failed call that its request survives (a fallback, or an optional call)
    costs `fail_s`. Failed requests do not count: a look-aside cache's hits are answered fast,
    and a mean over its timed-out misses would make them look late [assumption: replaces the
    all-requests mean as the Rayleigh tail's scale in `late_share`].
    """
    total = success + rescued
    if total <= 1e-12:
        return fail_s
    ok = (ok_latency_s if ok_latency_s < timeout_s else timeout_s) + retries_s
    return (success * ok + rescued * fail_s) / total


def budget_call_success(p_attempt: float, retriable: float | None = None) -> float:
    """With a retry budget only about RETRY_BUDGET_RATIO·p of failed calls get one retry.
    `retriable`: per-attempt probability of a failure the client may retry (default 1 − p; less
    when shed requests come back "overloaded, do not retry")."""
    p = p_attempt
    x = 1.0 - p if retriable is None else retriable
    retried = min(1.0, RETRY_BUDGET_RATIO * p / max(x, 1e-9))
    return p + x * retried * p


def retried_call_success(p_attempt: float, retriable: float, attempts: float) -> float:
    """Share of calls that succeed within `attempts` attempts when each succeeds with p, fails in a
    way the client retries with `retriable`, and otherwise fails for good (a shed request: "do not
    retry"): p·(1 − x^A)/(1 − x). With retriable = 1 − p this is call_success."""
    return p_attempt * expected_attempts(retriable, attempts - 1.0)


def attempts_in_deadline(max_retries: int, fail_timeouts: float) -> float:
    """Attempts an immediately retrying caller makes before its deadline when every attempt fails
    and a failed attempt takes `fail_timeouts` timeouts on average: R + 1, unless the deadline
    (DEADLINE_TIMEOUTS) stops it first. A rejection comes back at once, a callee's own failure after
    its latency, a late answer after the whole timeout: 4 fit when every failure times out, up to
    R + 1 when failures come back fast."""
    if fail_timeouts <= 1e-9:
        return float(max_retries + 1)
    return max(1.0, min(float(max_retries + 1), DEADLINE_TIMEOUTS / fail_timeouts))


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
    """One step of a server's queue. Returns (admitted, served, new_queue, wait_s), wait_s the
    mean wait of the step's requests.

    Without shedding every request waits in a queue of up to max_wait_s of work, so under
    overload responses come after callers have given up and goodput collapses [SRE ch. 22].
    With shedding the queue is kept short and the excess is rejected at once, so what is
    admitted is served in time.
    """
    # (min and max written out as conditionals, which pick the same operand: this runs for every
    # busy node on every step)
    cap = capacity if capacity > 0.0 else 0.0
    limit = cap * (shed_wait_s if shedding else max_wait_s)
    room = limit - queue
    room = (0.0 if 0.0 > room else room) / dt + cap                   # max(limit − queue, 0) / dt + cap
    admitted = arrivals if arrivals < room else room
    new_q = queue + (admitted - cap) * dt
    new_q = 0.0 if 0.0 > new_q else new_q
    new_q = limit if limit < new_q else new_q                           # min(max(…, 0), limit)
    served = admitted + queue / dt
    served = served if served < cap else cap                            # min(cap, …)
    # The step's requests arrive throughout it: they wait, on average, for the mean of the
    # queue at its start and at its end (not the end-of-step queue, which would make a queue
    # that builds up in this step delay every one of its requests in full).
    wait = 0.5 * ((limit if limit < queue else queue) + new_q) / cap if cap > 0.0 else 0.0
    return admitted, served, new_q, wait


def service_latency(base_s: float, utilization: float) -> float:
    """Mean time in service at a utilization (M/M/1-like growth, capped near saturation)."""
    return base_s / (1.0 - (0.95 if 0.95 < utilization else utilization))     # min(utilization, 0.95)


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
