"""The FORMAT_NAME renderer: one line per series,
`family label=value,label=value value` (written by `line_format.py`).
Change `line_format.py` (and `render`) to write your format;
`metrics_renderer_helpers` walks the batches correctly."""
from typing import List, Tuple

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import input, output, types

import line_format
import metrics_renderer_helpers as helpers

FORMAT = "FORMAT_NAME"


class Renderer(exports.Renderer):
    def formats(self) -> List[types.FormatInfo]:
        return [types.FormatInfo(name=FORMAT, content_type="text/plain; charset=utf-8", description="one line per series")]

    def configure(self, settings: List[Tuple[str, str]]) -> None:
        """Checks the settings (`FORMAT_NAME.toml` beside the component) once
        at load. Anything set here is gone in `render` (each render is a
        fresh instance): `render` reads `options.settings` again."""
        for key, value in settings:
            if key != "label_separator":
                raise Err(f"unknown setting {key!r} (known: label_separator)")
            if not line_format.valid_separator(value):
                raise Err(f"label_separator must be one ASCII punctuation character other than \\ and =, got {value!r}")

    def render(self, snapshot: types.Snapshot, format: str, options: types.RenderOptions) -> None:
        if format != FORMAT:
            raise Err(types.RenderError_UnknownFormat(format))
        separator = dict(options.settings).get("label_separator", ",")
        out = helpers.Output(output.write)
        try:
            for batch in helpers.batches(input.next_batch):
                family = snapshot.families[batch.family]
                for series in helpers.series(batch, family):
                    out.write(line_format.line(family.name, series.labels, series.value, separator))
            out.flush()
        except helpers.OutputClosed:
            raise Err(types.RenderError_OutputClosed())
        except helpers.BadBatch as bad:
            raise Err(types.RenderError_Failed(str(bad)))
