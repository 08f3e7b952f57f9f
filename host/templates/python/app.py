"""The FORMAT_NAME renderer: one line per series,
`family label=value,label=value value`. Change `render` to write your
format; `metrics_renderer_helpers` walks the batches correctly."""
from typing import List, Tuple

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import input, output, types

import metrics_renderer_helpers as helpers

FORMAT = "FORMAT_NAME"


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace(",", "\\,").replace(" ", "\\ ").replace("=", "\\=")


class Renderer(exports.Renderer):
    def formats(self) -> List[types.FormatInfo]:
        return [types.FormatInfo(name=FORMAT, content_type="text/plain; charset=utf-8", description="one line per series")]

    def configure(self, settings: List[Tuple[str, str]]) -> None:
        for key, _ in settings:
            raise Err(f"unknown setting {key!r}: this plugin takes no settings")

    def render(self, snapshot: types.Snapshot, format: str, options: types.RenderOptions) -> None:
        if format != FORMAT:
            raise Err(types.RenderError_UnknownFormat(format))
        out = helpers.Output(output.write)
        try:
            for batch in helpers.batches(input.next_batch):
                family = snapshot.families[batch.family]
                name = family.name  # final: the host already put any ?prefix= in front
                for series in helpers.series(batch, family):
                    labels = ",".join(f"{k}={escape(v)}" for k, v in series.labels)
                    out.write(f"{name} {labels} {helpers.go_float(series.value)}\n" if labels else f"{name} {helpers.go_float(series.value)}\n")
            out.flush()
        except helpers.OutputClosed:
            raise Err(types.RenderError_OutputClosed())
        except helpers.BadBatch as bad:
            raise Err(types.RenderError_Failed(str(bad)))
