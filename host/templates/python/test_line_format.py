"""The format with plain Python: label values holding the delimiters of
common formats (the ones `metrics-host plugin check` tries) read back.
`read_line` is the format's reader: change it with `line_format.py`."""
import unittest

import line_format

DELIMITERS = [",", '"', "\\", "\n", "=", "{", "}", " ", ".", "/", ";", "\t"]


def split_unescaped(text: str, at: str):
    parts, current, chars = [], "", iter(text)
    for c in chars:
        if c == "\\":
            current += c + next(chars, "")
        elif c == at:
            parts.append(current)
            current = ""
        else:
            current += c
    return parts + [current]


def unescape(text: str) -> str:
    out, chars = "", iter(text)
    for c in chars:
        if c == "\\":
            nxt = next(chars)
            out += "\n" if nxt == "n" else nxt
        else:
            out += c
    return out


def read_line(text: str, separator: str = ","):
    assert text.endswith("\n") and text.count("\n") == 1, repr(text)
    name, labels, value = split_unescaped(text[:-1], " ")
    pairs = []
    for pair in split_unescaped(labels, separator):
        key, escaped = split_unescaped(pair, "=")
        pairs.append((key, unescape(escaped)))
    return name, pairs, value


class LineFormatTest(unittest.TestCase):
    def test_delimiters_in_label_values_read_back(self):
        for separator in [",", ";"]:
            for d in DELIMITERS:
                labels = [("queue", f"zz{d}zz"), ("tenant", d)]
                written = line_format.line("queued", labels, 1.5, separator)
                self.assertEqual(read_line(written, separator), ("queued", labels, "1.5"), repr((separator, d)))

    def test_only_punctuation_separators_are_valid(self):
        self.assertEqual([s for s in [",", ";", "|", "=", "\\", "a", " ", ";;", "é"] if line_format.valid_separator(s)], [",", ";", "|"])

    def test_a_series_without_labels(self):
        self.assertEqual(line_format.line("up", [], 1.0), "up 1\n")


if __name__ == "__main__":
    unittest.main()
