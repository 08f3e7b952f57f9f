"""Test fixture: a Python renderer of format `pyjson` (application/json, so
the host's strict JSON reader checks its output), built by the tests over a
`plugin new --lang python` project. `BUG` picks one bug a plugin author
makes (the host's preflight and `plugin check` must catch each):

- `unescaped-label`: label values written between quotes as they are;
- `nondeterministic`: the time of the render in the output;
- `spin-on-empty-family`: loops forever on a family without series;
- `writes-after-refusal`: ignores `output.write` returning false.

`VERSION` is written at the top, so a scrape shows which version served."""
import json
import time
from typing import List, Tuple

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import input, output, types

import metrics_renderer_helpers as helpers

BUG = ""
VERSION = "v1"
FORMAT = "pyjson"


def number(value: float) -> str:
    """JSON has no NaN or infinities: those are written as strings."""
    if value != value or value in (float("inf"), float("-inf")):
        return json.dumps(helpers.go_float(value))
    return json.dumps(value)


def text(value: str) -> str:
    if BUG == "unescaped-label":
        return '"' + value + '"'
    return json.dumps(value)


def series_json(series: helpers.Series) -> str:
    labels = ",".join(f"{json.dumps(k)}:{text(v)}" for k, v in series.labels)
    parts = [f'"labels":{{{labels}}}', f'"value":{number(series.value)}']
    if series.buckets:
        parts.append('"buckets":[' + ",".join(f"[{json.dumps(helpers.go_float(le))},{n}]" for le, n in series.buckets) + "]")
        parts.append(f'"sum":{number(series.sum)}')
    if series.quantiles:
        parts.append('"quantiles":[' + ",".join(f"[{number(q)},{number(v)}]" for q, v in series.quantiles) + "]")
    return "{" + ",".join(parts) + "}"


class Renderer(exports.Renderer):
    def formats(self) -> List[types.FormatInfo]:
        return [types.FormatInfo(name=FORMAT, content_type="application/json", description=f"test fixture {VERSION}")]

    def configure(self, settings: List[Tuple[str, str]]) -> None:
        for key, _ in settings:
            raise Err(f"unknown setting {key!r}")

    def render(self, snapshot: types.Snapshot, format: str, options: types.RenderOptions) -> None:
        if format != FORMAT:
            raise Err(types.RenderError_UnknownFormat(format))
        if BUG == "spin-on-empty-family" and any(f.series == 0 for f in snapshot.families):
            spins = 0
            while True:
                spins += 1
        write = output.write
        if BUG == "writes-after-refusal":
            def write(chunk: bytes) -> bool:
                output.write(chunk)
                return True
        out = helpers.Output(write)
        try:
            head = f'{{"version":{json.dumps(VERSION)}'
            if BUG == "nondeterministic":
                head += f',"rendered_at_ns":{time.time_ns()}'
            out.write(head + ',"families":[')
            current, first_series = None, True
            for batch in helpers.batches(input.next_batch):
                family = snapshot.families[batch.family]
                if batch.family != current:
                    if current is not None:
                        out.write("]}")
                    out.write(("," if current is not None else "") + f'{{"name":{json.dumps(family.name)},"series":[')
                    current, first_series = batch.family, True
                for series in helpers.series(batch, family):
                    out.write(("" if first_series else ",") + series_json(series))
                    first_series = False
            if current is not None:
                out.write("]}")
            out.write("]}\n")
            out.flush()
        except helpers.OutputClosed:
            raise Err(types.RenderError_OutputClosed())
        except helpers.BadBatch as bad:
            raise Err(types.RenderError_Failed(str(bad)))
