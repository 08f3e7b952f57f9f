"""Example plugin in Python (componentize-py): InfluxDB line protocol,
format `influx_py`, the same output as the Rust example
(`examples/plugins/influx`): the family name is the measurement, labels
are tags (empty ones left out), the value is the field `value`
(histograms: `count`, `sum` and a field per bucket bound; summaries:
`count`, `sum` and a field per quantile), the snapshot's time the
timestamp in the precision of `influx_py.toml` (`precision`: ns, us, ms,
s; default ns). NaN and infinite fields are left out.

Built with the template's helpers (`host/templates/python`), which cut
label values at UTF-8 byte offsets: see the Makefile's `examples`."""
from typing import List, Tuple

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import input, output, types

import metrics_renderer_helpers as helpers

FORMAT = "influx_py"
SCALE = {"ns": (1_000_000, 1), "us": (1_000, 1), "ms": (1, 1), "s": (1, 1000)}


def escape(text: str, specials: str) -> str:
    for char in specials:
        text = text.replace(char, "\\" + char)
    return text.replace("\n", "\\n")


def measurement(name: str) -> str:
    return escape(name, ", ")


def key(name: str) -> str:
    return escape(name, ",= ")


def number(value: float) -> str:
    return helpers.go_float(value)


def bound(value: float) -> str:
    return "+Inf" if value == float("inf") else helpers.go_float(value)


class Renderer(exports.Renderer):
    def formats(self) -> List[types.FormatInfo]:
        return [types.FormatInfo(name=FORMAT, content_type="text/plain; charset=utf-8", description="InfluxDB line protocol (Python)")]

    def configure(self, settings: List[Tuple[str, str]]) -> None:
        for name, value in settings:
            if name != "precision":
                raise Err(f"unknown setting {name!r} (known: precision)")
            if value not in SCALE:
                raise Err(f"precision {value!r}: use ns, us, ms or s")

    def render(self, snapshot: types.Snapshot, format: str, options: types.RenderOptions) -> None:
        if format != FORMAT:
            raise Err(types.RenderError_UnknownFormat(format))
        precision = dict(options.settings).get("precision", "ns")
        multiply, divide = SCALE[precision]
        timestamp = str(snapshot.timestamp_ms * multiply // divide)
        out = helpers.Output(output.write)
        try:
            for batch in helpers.batches(input.next_batch):
                family = snapshot.families[batch.family]
                kind = family.kind.name.lower()
                name = measurement(options.prefix + family.name)
                for series in helpers.series(batch, family):
                    if kind in ("counter", "gauge"):
                        fields = [("value", series.value)]
                    elif kind == "histogram":
                        fields = [("count", float(series.count)), ("sum", series.sum)]
                        fields += [(bound(b), float(c)) for b, c in series.buckets]
                    else:
                        fields = [("count", float(series.count)), ("sum", series.sum)]
                        fields += [(bound(q), v) for q, v in series.quantiles]
                    fields = [(k, v) for k, v in fields if v == v and v not in (float("inf"), float("-inf"))]
                    if not fields:
                        continue
                    tags = "".join(f",{key(k)}={key(v)}" for k, v in series.labels if v)
                    values = ",".join(f"{key(k)}={number(v)}" for k, v in fields)
                    out.write(f"{name}{tags} {values} {timestamp}\n")
            out.flush()
        except helpers.OutputClosed:
            raise Err(types.RenderError_OutputClosed())
        except helpers.BadBatch as bad:
            raise Err(types.RenderError_Failed(str(bad)))
