"""The FORMAT_NAME line: `family label=value,label=value value` (the
separator between labels is the `label_separator` setting). Label values
are escaped so that every value reads back (`test_line_format.py` holds
the reader: change both together). Kept apart from `app.py`, which needs
the component's bindings, so it is tested with plain Python."""
import string
from typing import List, Tuple

import metrics_renderer_helpers as helpers

# What the line uses as delimiters, and how a label value writes each.
ESCAPES = {"\\": "\\\\", "\n": "\\n", ",": "\\,", " ": "\\ ", "=": "\\="}


def valid_separator(separator: str) -> bool:
    """One ASCII punctuation character that is not an escape or `=`."""
    return len(separator) == 1 and separator in string.punctuation and separator not in "\\="


def escape(value: str, separator: str = ",") -> str:
    if not any(c in value for c in ESCAPES) and separator not in value:
        return value  # most values need nothing
    return "".join(ESCAPES.get(c, "\\" + c if c == separator else c) for c in value)


def line(name: str, labels: List[Tuple[str, str]], value: float, separator: str = ",") -> str:
    """One series; `name` is final (the host already put any ?prefix= in front)."""
    if not labels:
        return f"{name} {helpers.go_float(value)}\n"
    text = separator.join(f"{k}={escape(v, separator)}" for k, v in labels)
    return f"{name} {text} {helpers.go_float(value)}\n"
