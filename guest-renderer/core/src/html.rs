//! The `html` format: a page for people looking at the metrics in a
//! browser. Each family is a section (name, type, help, series count) with
//! its series as a table (labels, value; histograms: count, sum and a small
//! inline SVG bar chart of the classic buckets; summaries: the quantiles),
//! and a filter box narrows the families as you type (the page works
//! without JavaScript: everything is shown).
//!
//! Every piece of text from the snapshot (names, help, label names and
//! values) is HTML-escaped, in text and in attributes alike, so nothing in
//! the data can open a tag or run a script (the host also serves the page
//! with a Content-Security-Policy that allows only [`FILTER_SCRIPT`]).
//!
//! A 1M-series registry stays a page a browser can open: at most
//! [`ROWS_PER_FAMILY`] rows per family and [`MAX_ROWS`] in all are written
//! (the series after them are counted, not shown), and a family cut short
//! says so with links to it alone (`name[]`) in this view and as text.
use crate::batch_driver::Formatter;
use crate::number::push_prometheus_f64;
use crate::output::Out;
use crate::snapshot::{Batch, Family, MetricKind};
use crate::RenderError;
use alloc::vec::Vec;

/// Rows written per family at most.
pub const ROWS_PER_FAMILY: u32 = 1000;
/// Rows written per page at most.
pub const MAX_ROWS: u64 = 20_000;
/// Bars of a histogram's chart at most (the last one takes the rest).
const MAX_BARS: usize = 40;

/// The page's only script: hides the families whose name does not hold
/// the filter text. (The host allows exactly this script by its hash.)
pub const FILTER_SCRIPT: &str = "const f=document.getElementById('filter');f.hidden=false;f.addEventListener('input',()=>{const t=f.value.toLowerCase();for(const s of document.querySelectorAll('section.family')){s.hidden=t!==''&&!s.dataset.name.includes(t);}});";

const HEAD: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Metrics</title><style>\
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
code{font-family:ui-monospace,monospace}\
section.family{border-top:1px solid #ddd;padding:.4em 0}\
h2{font-size:1.05em;margin:.2em 0}\
.kind{color:#fff;background:#567;border-radius:3px;padding:0 .4em;font-size:.8em;margin-left:.5em}\
.help{color:#555;margin:.2em 0}\
.count{color:#777;font-weight:normal;font-size:.85em}\
table{border-collapse:collapse;font-size:.9em}\
td,th{border:1px solid #e3e3e3;padding:.15em .5em;text-align:left;vertical-align:middle}\
td.n{text-align:right;font-family:ui-monospace,monospace}\
svg rect{fill:#4a78a8}\
.note{color:#8a4b00}\
</style></head><body>\n<h1>Metrics</h1>\n<p><input id=\"filter\" type=\"search\" placeholder=\"Filter families by name\" hidden></p>\n";

/// Appends `text` with `&`, `<`, `>`, `"` and `'` escaped (for text and
/// quoted attribute values alike).
fn push_escaped(buf: &mut Vec<u8>, text: &[u8]) {
    let mut start = 0;
    for (i, &byte) in text.iter().enumerate() {
        let entity: &[u8] = match byte {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            b'\'' => b"&#39;",
            _ => continue,
        };
        buf.extend_from_slice(&text[start..i]);
        buf.extend_from_slice(entity);
        start = i + 1;
    }
    buf.extend_from_slice(&text[start..]);
}

/// Appends `text` percent-encoded for a query value.
fn push_query_value(buf: &mut Vec<u8>, text: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in text {
        if byte.is_ascii_alphanumeric() || b"-._~:".contains(&byte) {
            buf.push(byte);
        } else {
            buf.extend_from_slice(&[b'%', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 15)]]);
        }
    }
}

fn push_number(buf: &mut Vec<u8>, value: f64) {
    push_prometheus_f64(buf, value);
}

pub(crate) struct Html<'p> {
    prefix: &'p str,
    rows: u64,
    /// Rows of the open family written, and its series not shown.
    family_rows: u32,
    hidden: u64,
    series_total: u64,
}

impl<'p> Html<'p> {
    pub(crate) fn new(prefix: &'p str) -> Self {
        Html { prefix, rows: 0, family_rows: 0, hidden: 0, series_total: 0 }
    }

    /// Writes `name="value"` pairs of series `i`'s labels as cells.
    fn label_cells(family: &Family<'_>, batch: &Batch<'_>, i: usize, out: &mut Out<'_>) {
        for j in 0..family.label_names.len() {
            out.push(b"<td>");
            push_escaped(&mut out.buf, batch.label(i, j));
            out.push(b"</td>");
        }
    }

    /// The count and sum cells, and the opening of the last cell.
    fn count_and_sum(batch: &Batch<'_>, i: usize, out: &mut Out<'_>) {
        out.push(b"<td class=\"n\">");
        crate::number::push_u64(&mut out.buf, batch.count(i));
        out.push(b"</td><td class=\"n\">");
        push_number(&mut out.buf, batch.sum(i));
        out.push(b"</td><td>");
    }

    /// An inline SVG of the per-bucket (not cumulative) counts.
    fn chart(family: &Family<'_>, cumulative: &[u64], count: u64, out: &mut Out<'_>) {
        let mut counts: Vec<(f64, u64)> = Vec::with_capacity(family.bounds.len() + 1);
        let mut below = 0;
        for (k, &bound) in family.bounds.iter().enumerate() {
            let at = cumulative.get(k).copied().unwrap_or(below);
            counts.push((bound, at.saturating_sub(below)));
            below = at.max(below);
        }
        counts.push((f64::INFINITY, count.saturating_sub(below)));
        if counts.len() > MAX_BARS {
            let rest: u64 = counts[MAX_BARS - 1..].iter().map(|(_, n)| n).sum();
            counts.truncate(MAX_BARS - 1);
            counts.push((f64::INFINITY, rest));
        }
        let highest = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
        out.push(b"<svg width=\"");
        crate::number::push_u64(&mut out.buf, counts.len() as u64 * 8);
        out.push(b"\" height=\"24\" role=\"img\" aria-label=\"bucket counts\">");
        for (k, (bound, n)) in counts.iter().enumerate() {
            let height = (n * 24).div_ceil(highest);
            out.push(b"<rect x=\"");
            crate::number::push_u64(&mut out.buf, k as u64 * 8);
            out.push(b"\" y=\"");
            crate::number::push_u64(&mut out.buf, 24 - height);
            out.push(b"\" width=\"7\" height=\"");
            crate::number::push_u64(&mut out.buf, height);
            out.push(b"\"><title>le ");
            push_number(&mut out.buf, *bound);
            out.push(b": ");
            crate::number::push_u64(&mut out.buf, *n);
            out.push(b"</title></rect>");
        }
        out.push(b"</svg>");
    }
}

impl Formatter for Html<'_> {
    fn begin(&mut self, out: &mut Out<'_>) -> Result<(), RenderError> {
        out.push(HEAD.as_bytes());
        out.flush_if_full()
    }

    fn family_start(&mut self, _index: usize, family: &Family<'_>, out: &mut Out<'_>) -> Result<(), RenderError> {
        self.family_rows = 0;
        self.series_total += u64::from(family.series);
        out.push(b"<section class=\"family\" data-name=\"");
        let mut lower = Vec::with_capacity(self.prefix.len() + family.name.len());
        lower.extend(self.prefix.bytes().chain(family.name.bytes()).map(|b| b.to_ascii_lowercase()));
        push_escaped(&mut out.buf, &lower);
        out.push(b"\"><h2><code>");
        push_escaped(&mut out.buf, self.prefix.as_bytes());
        push_escaped(&mut out.buf, family.name.as_bytes());
        out.push(b"</code><span class=\"kind\">");
        out.push(family.kind.as_str().as_bytes());
        out.push(b"</span> <span class=\"count\">");
        crate::number::push_u64(&mut out.buf, u64::from(family.series));
        out.push(b" series</span></h2>");
        if let Some(help) = family.help.filter(|h| !h.is_empty()) {
            out.push(b"<p class=\"help\">");
            push_escaped(&mut out.buf, help.as_bytes());
            out.push(b"</p>");
        }
        if family.series > 0 {
            out.push(b"<table><thead><tr>");
            for name in &family.label_names {
                out.push(b"<th>");
                push_escaped(&mut out.buf, name.as_bytes());
                out.push(b"</th>");
            }
            out.push(match family.kind {
                MetricKind::Counter | MetricKind::Gauge => b"<th>value</th>".as_slice(),
                MetricKind::Histogram => b"<th>count</th><th>sum</th><th>buckets</th>",
                MetricKind::Summary => b"<th>count</th><th>sum</th><th>quantiles</th>",
            });
            out.push(b"</tr></thead><tbody>");
        }
        out.flush_if_full()
    }

    fn series(&mut self, family: &Family<'_>, batch: &Batch<'_>, _first: u32, out: &mut Out<'_>) -> Result<(), RenderError> {
        for i in 0..batch.len() {
            if self.family_rows >= ROWS_PER_FAMILY || self.rows >= MAX_ROWS {
                self.hidden += 1;
                continue;
            }
            self.family_rows += 1;
            self.rows += 1;
            out.push(b"<tr>");
            Self::label_cells(family, batch, i, out);
            match family.kind {
                MetricKind::Counter | MetricKind::Gauge => {
                    out.push(b"<td class=\"n\">");
                    push_number(&mut out.buf, batch.value(i));
                    out.push(b"</td>");
                }
                MetricKind::Histogram => {
                    Self::count_and_sum(batch, i, out);
                    if !family.bounds.is_empty() {
                        Self::chart(family, batch.buckets(i), batch.count(i), out);
                    }
                    if let Some(native) = batch.native(i) {
                        out.push(alloc::format!(" native, schema {}, zero count ", native.schema).as_bytes());
                        crate::number::push_u64(&mut out.buf, native.zero_count);
                    }
                    out.push(b"</td>");
                }
                MetricKind::Summary => {
                    Self::count_and_sum(batch, i, out);
                    for (k, (quantile, value)) in family.quantiles.iter().zip(batch.quantile_values(i)).enumerate() {
                        if k > 0 {
                            out.push(b", ");
                        }
                        push_number(&mut out.buf, *quantile);
                        out.push(b": ");
                        push_number(&mut out.buf, *value);
                    }
                    out.push(b"</td>");
                }
            }
            out.push(b"</tr>\n");
            out.flush_if_full()?;
        }
        Ok(())
    }

    fn family_end(&mut self, family: &Family<'_>, out: &mut Out<'_>) -> Result<(), RenderError> {
        if family.series > 0 {
            out.push(b"</tbody></table>");
        }
        let shown = self.family_rows;
        if shown < family.series {
            out.push(b"<p class=\"note\">");
            crate::number::push_u64(&mut out.buf, u64::from(family.series - shown));
            out.push(b" more series not shown (this view shows at most ");
            crate::number::push_u64(&mut out.buf, u64::from(ROWS_PER_FAMILY));
            out.push(b" rows per family and ");
            crate::number::push_u64(&mut out.buf, MAX_ROWS);
            out.push(b" in all): <a href=\"?format=html&amp;name[]=");
            push_query_value(&mut out.buf, family.name.as_bytes());
            out.push(b"\">this family alone</a>, <a href=\"?format=prometheus&amp;name[]=");
            push_query_value(&mut out.buf, family.name.as_bytes());
            out.push(b"\">as text</a></p>");
        }
        out.push(b"</section>\n");
        out.flush_if_full()
    }

    fn end(&mut self, out: &mut Out<'_>) -> Result<(), RenderError> {
        out.push(b"<p>");
        crate::number::push_u64(&mut out.buf, self.rows);
        out.push(b" of ");
        crate::number::push_u64(&mut out.buf, self.series_total);
        out.push(b" series shown.</p>\n<script>");
        out.push(FILTER_SCRIPT.as_bytes());
        out.push(b"</script>\n</body></html>\n");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_escaped_and_query_values_encoded() {
        let mut buf = Vec::new();
        push_escaped(&mut buf, b"<script>alert('x')</script> & \"q\"");
        assert_eq!(buf, b"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
        let mut query = Vec::new();
        push_query_value(&mut query, "a b&c=\u{e9}".as_bytes());
        assert_eq!(query, b"a%20b%26c%3D%C3%A9");
    }
}
