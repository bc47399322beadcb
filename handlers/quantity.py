"""Kubernetes resource quantities: `500m`, `1Gi`, `1e3`, `2G`, `0.5` -> numbers, and back.

Follows `k8s.io/apimachinery/pkg/api/resource` (Quantity): binary suffixes Ki..Ei are powers of 1024,
decimal suffixes n, u, m, k, M, G, T, P, E are powers of 1000, and a decimal exponent (`1e3`, `5E-3`)
is allowed. Values are Decimal so that `100m` of CPU adds up exactly.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")


def parse(text: str) -> Decimal | None:
    """The quantity's value in base units (cores, bytes, count), or None if it is not a quantity."""
    m = _QUANTITY.match(text.strip())
    if not m:
        return None
    try:
        number = Decimal(m.group(1))
    except InvalidOperation:
        return None
    suffix = m.group(2) or ""
    if suffix in _BINARY:
        return number * (Decimal(1024) ** _BINARY[suffix])
    if suffix in _DECIMAL:
        return number * (Decimal(10) ** _DECIMAL[suffix])
    return number * (Decimal(10) ** int(suffix[1:]))  # exponent form, `1e3`


def cpu(value: Decimal) -> str:
    """CPU the way people write it: `250m`, `2`, `1.5`."""
    if value == value.to_integral_value():
        return str(int(value))
    millis = value * 1000
    if millis == millis.to_integral_value():
        return f"{int(millis)}m"
    return f"{value.normalize()}"


def memory(value: Decimal) -> str:
    """Bytes in the largest binary unit that keeps one decimal at most: `512Mi`, `1.5Gi`, `300`."""
    n = int(value)
    for unit, power in (("Ei", 6), ("Pi", 5), ("Ti", 4), ("Gi", 3), ("Mi", 2), ("Ki", 1)):
        size = 1024**power
        if n >= size:
            scaled = Decimal(n) / size
            if scaled == scaled.to_integral_value():
                return f"{int(scaled)}{unit}"
            return f"{scaled.quantize(Decimal('0.1')).normalize()}{unit}"
    return str(n)


def show(resource: str, value: Decimal) -> str:
    """A value of `resource` in its usual spelling (cpu in cores/millicores, memory in Mi/Gi)."""
    if resource == "cpu":
        return cpu(value)
    if resource in ("memory", "ephemeral-storage") or resource.startswith("hugepages-"):
        return memory(value)
    return str(int(value)) if value == value.to_integral_value() else str(value.normalize())
