"""Fault injection for the lab servers: latency, throttling, 5xx, truncated bodies, resets, drip.

Every decision comes from one seeded `random.Random` drawn in a fixed order per request, so a
sequential client sees the same faults on every run. "First N" knobs count matching requests
globally, or per request path with `per_path=True` (which stays deterministic even when a client
fetches concurrently: every URL gets its first N faults, whatever the interleaving).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass

from forensics.errors import UsageError


@dataclass(frozen=True)
class FaultPlan:
    """Which faults a lab server injects. The default injects none."""

    seed: int = 0
    path_prefix: str = ""
    """Only requests whose path starts with this prefix are faulted ("" = all)."""
    per_path: bool = False
    """Count the `*_first` knobs per request path instead of across all matching requests."""
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    throttle_rate: float = 0.0
    """Fraction of matching requests answered `429 Too Many Requests`."""
    throttle_first: int = 0
    retry_after: str | None = "1"
    """`Retry-After` value sent with a 429 (delta-seconds or an HTTP-date); None omits it."""
    error_rate: float = 0.0
    error_first: int = 0
    error_status: int = 503
    truncate_rate: float = 0.0
    """Fraction of responses that stop half-way through the announced Content-Length."""
    truncate_first: int = 0
    reset_rate: float = 0.0
    """Fraction of requests answered by a TCP reset (SO_LINGER 0) instead of a response."""
    reset_first: int = 0
    drip_bytes: int = 0
    """When > 0, bodies are sent `drip_bytes` at a time with `drip_delay_ms` between chunks."""
    drip_delay_ms: float = 0.0

    def __post_init__(self) -> None:
        """Reject knobs that cannot mean anything."""
        for name in ("throttle_rate", "error_rate", "truncate_rate", "reset_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise UsageError(f"fault {name} must be between 0 and 1, got {value}")
        for name in (
            "latency_ms",
            "jitter_ms",
            "throttle_first",
            "error_first",
            "truncate_first",
            "reset_first",
            "drip_bytes",
            "drip_delay_ms",
        ):
            if getattr(self, name) < 0:
                raise UsageError(f"fault {name} must not be negative, got {getattr(self, name)}")
        if not 500 <= self.error_status <= 599:
            raise UsageError(f"fault error_status must be a 5xx status, got {self.error_status}")


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request."""

    delay_s: float = 0.0
    reset: bool = False
    throttle: bool = False
    error: bool = False
    truncate: bool = False
    drip: bool = False


class FaultInjector:
    """Turns a `FaultPlan` into per-request decisions (thread-safe)."""

    def __init__(self, plan: FaultPlan) -> None:
        """Seed the generator from the plan."""
        self.plan = plan
        self._rng = random.Random(plan.seed)  # noqa: S311 - reproducible faults, not secrets
        self._lock = threading.Lock()
        self._seen: Counter[str] = Counter()

    def decide(self, path: str) -> FaultDecision:
        """Decide the faults for a request to `path`."""
        plan = self.plan
        if not path.startswith(plan.path_prefix):
            return FaultDecision()
        with self._lock:
            key = path if plan.per_path else ""
            self._seen[key] += 1
            n = self._seen[key]
            # Draw every random number in a fixed order, whether or not it is used, so that
            # enabling one knob does not shift the faults another knob produces.
            jitter = self._rng.random()
            draws = {kind: self._rng.random() for kind in ("reset", "throttle", "error", "trunc")}

        def hit(first: int, rate: float, draw: float) -> bool:
            return n <= first or draw < rate

        return FaultDecision(
            delay_s=(plan.latency_ms + plan.jitter_ms * jitter) / 1000.0,
            reset=hit(plan.reset_first, plan.reset_rate, draws["reset"]),
            throttle=hit(plan.throttle_first, plan.throttle_rate, draws["throttle"]),
            error=hit(plan.error_first, plan.error_rate, draws["error"]),
            truncate=hit(plan.truncate_first, plan.truncate_rate, draws["trunc"]),
            drip=plan.drip_bytes > 0,
        )
