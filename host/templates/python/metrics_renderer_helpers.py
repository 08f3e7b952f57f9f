"""Helpers for metrics-host renderer plugins written in Python.

A batch's label values are one text blob, `label_text`, and `label_ends`,
the end of each value as a UTF-8 *byte* offset. componentize-py hands
`label_text` over as a Python `str` (code points), so slicing the string
with those offsets silently corrupts every label after a non-ASCII
character. `series()` slices the encoded bytes instead, and checks the
lengths the way the Rust SDK does.

`Output` buffers what a render writes and hands it to the host's
`output.write` in chunks of about 64 KiB; when the host refuses output it
raises `OutputClosed`, and the render should return
`render-error::output-closed`.

Nothing here imports the generated bindings, so it runs (and is tested)
with plain Python too.
"""
from typing import Callable, Iterator, List, Optional, Tuple

CHUNK_BYTES = 64 * 1024


class OutputClosed(Exception):
    """The host stopped accepting output: stop and return output-closed."""


class BadBatch(Exception):
    """A batch whose columns do not match its family."""


class Output:
    """Buffered output to `write(bytes) -> bool` (the host's output.write)."""

    def __init__(self, write: Callable[[bytes], bool]):
        self._write = write
        self._parts: List[bytes] = []
        self._size = 0

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        self._parts.append(data)
        self._size += len(data)
        if self._size >= CHUNK_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self._parts:
            return
        chunk = b"".join(self._parts)
        self._parts, self._size = [], 0
        if not self._write(chunk):
            raise OutputClosed()


class Series:
    """One series: labels as (name, value) pairs, and its values."""

    __slots__ = ("labels", "value", "buckets", "count", "sum", "quantiles", "created_ms")

    def __init__(self):
        self.labels: List[Tuple[str, str]] = []
        self.value: float = 0.0
        self.buckets: List[Tuple[float, int]] = []
        self.count: int = 0
        self.sum: float = 0.0
        self.quantiles: List[Tuple[float, float]] = []
        self.created_ms: Optional[int] = None


def batches(next_batch: Callable[[], object]) -> Iterator[object]:
    """Every batch the host hands out (pass `input.next_batch`)."""
    while True:
        batch = next_batch()
        if batch is None:
            return
        yield batch


def series(batch, family) -> Iterator[Series]:
    """The series of `batch`, whose family is `family`, label values cut
    at UTF-8 byte offsets."""
    names = list(family.label_names)
    width = len(names)
    kind = getattr(family.kind, "name", str(family.kind)).lower()
    distribution = kind in ("histogram", "summary")
    n = len(batch.counts) if distribution else len(batch.values)
    if len(batch.label_ends) != n * width:
        raise BadBatch(f"family {family.name}: {len(batch.label_ends)} label values for {n} series of {width} labels")
    text = batch.label_text.encode("utf-8")
    bounds = list(family.bounds)
    quantiles = list(family.quantiles)
    start = 0
    for i in range(n):
        s = Series()
        for j in range(width):
            end = batch.label_ends[i * width + j]
            if end < start or end > len(text):
                raise BadBatch(f"family {family.name}: label value end {end} is out of order")
            s.labels.append((names[j], text[start:end].decode("utf-8")))
            start = end
        if distribution:
            s.count = batch.counts[i]
            s.sum = batch.sums[i]
            s.value = float(s.count)
        else:
            s.value = batch.values[i]
        if kind == "histogram":
            b = len(bounds)
            s.buckets = list(zip(bounds, batch.bucket_counts[i * b:(i + 1) * b])) + [(float("inf"), s.count)]
        if kind == "summary":
            q = len(quantiles)
            s.quantiles = list(zip(quantiles, batch.quantile_values[i * q:(i + 1) * q]))
        if batch.created_ms:
            s.created_ms = batch.created_ms[i]
        yield s


def go_float(value: float) -> str:
    """A number as Prometheus text writes it: NaN, +Inf, -Inf, integers
    without a fraction, else the shortest round-trip form."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
