"""The helpers with plain Python: `python3 -m unittest test_helpers`."""
import unittest
from types import SimpleNamespace

import metrics_renderer_helpers as helpers


def gauge_family(labels):
    return SimpleNamespace(name="queued", kind=SimpleNamespace(name="GAUGE"), label_names=labels, bounds=[], quantiles=[])


class HelpersTest(unittest.TestCase):
    def test_label_values_are_cut_at_utf8_byte_offsets(self):
        # "ü" is two bytes: a code-point slice would cut "ümlaut" wrongly.
        batch = SimpleNamespace(label_text="ümlautx", label_ends=[7, 8], values=[1.0, 2.5], counts=[], sums=[],
                                bucket_counts=[], quantile_values=[], created_ms=[])
        got = [(s.labels, s.value) for s in helpers.series(batch, gauge_family(["queue"]))]
        self.assertEqual(got, [([("queue", "ümlaut")], 1.0), ([("queue", "x")], 2.5)])

    def test_output_is_chunked_and_a_refusal_raises(self):
        chunks = []
        out = helpers.Output(lambda chunk: chunks.append(chunk) or len(chunks) < 2)
        out.write("a" * helpers.CHUNK_BYTES)
        with self.assertRaises(helpers.OutputClosed):
            out.write("b" * helpers.CHUNK_BYTES)
        self.assertEqual([len(c) for c in chunks], [helpers.CHUNK_BYTES, helpers.CHUNK_BYTES])

    def test_numbers_are_written_as_prometheus_does(self):
        self.assertEqual([helpers.go_float(v) for v in [1.0, 1.5, float("nan"), float("-inf")]], ["1", "1.5", "NaN", "-Inf"])


if __name__ == "__main__":
    unittest.main()
