//! A strict reader of Prometheus text 0.0.4 and OpenMetrics 1.0, for the
//! sidecar: what an upstream exporter serves becomes [`ParsedFamily`]s.
//!
//! Strict means a malformed line is an error naming the line, never a
//! guess: names must be legacy (`[a-zA-Z_:][a-zA-Z0-9_:]*`), label values
//! may only escape `\\`, `\"` and `\n`, a family's samples must be
//! contiguous and its series unique, histogram buckets ascending and
//! cumulative up to `+Inf` (equal to `_count` when given), counts whole.
//! Timestamps and OpenMetrics exemplars are read and dropped.
//!
//! Kinds: `counter`, `gauge`, `histogram` and `summary` as they are;
//! `untyped`/`unknown`, OpenMetrics `info` (samples `NAME_info`) and
//! `stateset` become gauges; `gaugehistogram` a histogram (from `_gsum`
//! and `_gcount`). OpenMetrics counters are named with their `_total`
//! sample name (what Prometheus stores), and OpenMetrics `_created`
//! samples become creation times; in text 0.0.4 a `_created` family (as
//! Python's client writes them) is an ordinary gauge family. Series of one
//! family that lack a label the others have get it empty, which
//! Prometheus treats the same as absent.
use crate::registry::MetricKind;
use std::collections::HashMap;

/// Which exposition format the text is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// Prometheus text 0.0.4.
    Text,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

/// One family as read.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFamily {
    /// The family name.
    pub name: String,
    /// Its `# HELP`, unescaped.
    pub help: Option<String>,
    /// From `# TYPE` (`untyped` and `unknown` read as gauges).
    pub kind: MetricKind,
    /// Label names in first-seen order (`le`, `quantile` left out).
    pub label_names: Vec<String>,
    /// Histograms: finite bucket bounds shared by every series.
    pub bounds: Vec<f64>,
    /// Summaries: quantiles shared by every series.
    pub quantiles: Vec<f64>,
    /// The series, in first-seen order.
    pub series: Vec<ParsedSeries>,
}

/// One series: label values in the family's `label_names` order.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSeries {
    /// Label values, unescaped.
    pub label_values: Vec<String>,
    /// Its value or distribution.
    pub value: ParsedValue,
    /// OpenMetrics `_created`, in ms since the epoch.
    pub created_ms: Option<i64>,
}

/// A series' value, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum ParsedValue {
    /// A counter's or gauge's value.
    Number(f64),
    /// A histogram.
    Histogram {
        /// Cumulative bucket counts, one per finite bound.
        cumulative: Vec<u64>,
        /// Observations (the `+Inf` bucket).
        count: u64,
        /// Their sum.
        sum: f64,
    },
    /// A summary.
    Summary {
        /// One per quantile of the family.
        values: Vec<f64>,
        /// Observations.
        count: u64,
        /// Their sum.
        sum: f64,
    },
}

/// Where and why the exposition is malformed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {why}")]
pub struct ParseError {
    /// The line, from 1.
    pub line: usize,
    /// What is wrong on it.
    pub why: String,
}

fn is_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_' | b':'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_')) && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A float as Go's `ParseFloat` reads exposition values (`NaN`, `+Inf`, `-Inf`).
fn parse_float(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ if text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')) && !text.is_empty() => {
            text.parse().ok()
        }
        _ => None,
    }
}

fn whole_count(value: f64) -> Option<u64> {
    (value >= 0.0 && value.fract() == 0.0 && value < u64::MAX as f64).then_some(value as u64)
}

/// One sample line, split.
struct Sample<'a> {
    name: &'a str,
    labels: Labels<'a>,
    value: f64,
}

/// Label names and their unescaped values, in order.
type Labels<'a> = Vec<(&'a str, String)>;

/// Reads `{a="x",b="y"}` at the start of `text`; the labels and the rest.
fn parse_labels(text: &str, syntax: Syntax) -> Result<(Labels<'_>, &str), String> {
    let mut labels = Vec::new();
    let mut rest = &text[1..];
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = rest.find('=').ok_or("a label without '='")?;
        let name = &rest[..eq];
        if !is_label_name(name) {
            return Err(format!("invalid label name {name:?}"));
        }
        if labels.iter().any(|(n, _)| *n == name) {
            return Err(format!("label {name} is given twice"));
        }
        rest = rest[eq + 1..].strip_prefix('"').ok_or_else(|| format!("label {name}: the value must be quoted"))?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err(format!("label {name}: unterminated value")),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("label {name}: invalid escape \\{}", other.map(|(_, c)| c).unwrap_or(' '))),
                },
                Some((_, c)) => value.push(c),
            }
        };
        labels.push((name, value));
        rest = &rest[end + 1..];
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
            // Text 0.0.4 allows a trailing comma; OpenMetrics does not.
            if syntax == Syntax::OpenMetrics && rest.starts_with('}') {
                return Err("a trailing comma in the labels".into());
            }
        } else if !rest.starts_with('}') {
            return Err("labels must be separated by ','".into());
        }
    }
}

fn parse_sample(line: &str, syntax: Syntax) -> Result<Sample<'_>, String> {
    let name_end = line.find(['{', ' ']).ok_or("a sample needs a value")?;
    let name = &line[..name_end];
    if !is_metric_name(name) {
        return Err(format!("invalid metric name {name:?}"));
    }
    let (labels, rest) =
        if line[name_end..].starts_with('{') { parse_labels(&line[name_end..], syntax)? } else { (Vec::new(), &line[name_end..]) };
    let rest = rest.strip_prefix(' ').ok_or("a space must separate the labels and the value")?;
    // OpenMetrics: value [timestamp] [# exemplar].
    let (fields, exemplar) = match (syntax, rest.find(" # ")) {
        (Syntax::OpenMetrics, Some(at)) => (&rest[..at], Some(&rest[at + 3..])),
        _ => (rest, None),
    };
    let mut parts = fields.split(' ');
    let value_text = parts.next().unwrap_or("");
    let value = parse_float(value_text).ok_or_else(|| format!("invalid value {value_text:?}"))?;
    if let Some(timestamp) = parts.next() {
        if parse_float(timestamp).is_none_or(|t| !t.is_finite()) {
            return Err(format!("invalid timestamp {timestamp:?}"));
        }
    }
    if let Some(extra) = parts.next() {
        return Err(format!("unexpected {extra:?} after the value and timestamp"));
    }
    if let Some(exemplar) = exemplar {
        if !exemplar.starts_with('{') {
            return Err("an exemplar must start with labels".into());
        }
        let (_, after) = parse_labels(exemplar, syntax).map_err(|why| format!("exemplar: {why}"))?;
        let mut parts = after.trim_start_matches(' ').split(' ');
        if parts.next().and_then(parse_float).is_none() {
            return Err("exemplar: invalid value".into());
        }
    }
    Ok(Sample { name, labels, value })
}

/// What a family has gathered so far.
struct Building {
    family: ParsedFamily,
    /// The name as declared (`# TYPE`), which samples extend with suffixes.
    declared: String,
    /// Series by label values without `le`/`quantile`.
    index: HashMap<Vec<(String, String)>, usize>,
    /// Per series: labels as read, buckets `(bound, cumulative)`,
    /// quantiles `(q, value)`, value, sum, count, created.
    parts: Vec<SeriesParts>,
}

#[derive(Default)]
struct SeriesParts {
    labels: Vec<(String, String)>,
    buckets: Vec<(f64, f64)>,
    quantiles: Vec<(f64, f64)>,
    value: Option<f64>,
    sum: Option<f64>,
    count: Option<f64>,
    created: Option<f64>,
}

/// What part of a series a sample is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Value,
    Bucket,
    Sum,
    Count,
    Created,
}

impl Building {
    fn new(declared: &str, kind: MetricKind) -> Self {
        Building {
            family: ParsedFamily {
                name: declared.to_string(),
                help: None,
                kind,
                label_names: Vec::new(),
                bounds: Vec::new(),
                quantiles: Vec::new(),
                series: Vec::new(),
            },
            declared: declared.to_string(),
            index: HashMap::new(),
            parts: Vec::new(),
        }
    }

    /// Which part `name` is for this family, if it belongs to it.
    fn part_of(&self, name: &str, syntax: Syntax, type_name: &str) -> Option<Part> {
        let suffix = name.strip_prefix(self.declared.as_str())?;
        let om = syntax == Syntax::OpenMetrics;
        match (type_name, suffix) {
            ("counter", "") if !om => Some(Part::Value),
            ("counter", "_total") if om => Some(Part::Value),
            ("histogram", "_bucket") | ("gaugehistogram", "_bucket") => Some(Part::Bucket),
            ("histogram" | "summary", "_sum") | ("gaugehistogram", "_gsum") => Some(Part::Sum),
            ("histogram" | "summary", "_count") | ("gaugehistogram", "_gcount") => Some(Part::Count),
            ("counter" | "histogram" | "summary", "_created") if om => Some(Part::Created),
            ("summary", "") => Some(Part::Value),
            ("info", "_info") if om => Some(Part::Value),
            ("gauge" | "untyped" | "unknown" | "stateset", "") => Some(Part::Value),
            _ => None,
        }
    }

    fn add(&mut self, sample: Sample<'_>, part: Part) -> Result<(), String> {
        let mut key: Vec<(String, String)> = Vec::with_capacity(sample.labels.len());
        let mut special = None;
        for (name, value) in sample.labels {
            let reserved = match self.family.kind {
                MetricKind::Histogram => name == "le",
                MetricKind::Summary => name == "quantile",
                _ => false,
            };
            if reserved && matches!(part, Part::Bucket | Part::Value) {
                special = Some(value);
            } else if reserved {
                return Err(format!("label {name} on a {} sample", sample.name));
            } else {
                key.push((name.to_string(), value));
            }
        }
        key.sort();
        let position = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                self.parts.push(SeriesParts { labels: key.clone(), ..SeriesParts::default() });
                self.index.insert(key, self.parts.len() - 1);
                self.parts.len() - 1
            }
        };
        let series = &mut self.parts[position];
        let twice = || format!("{} with these labels appears twice", sample.name);
        let bound = |text: Option<String>, label: &str| -> Result<f64, String> {
            let text = text.ok_or_else(|| format!("{} needs a {label} label", sample.name))?;
            parse_float(&text).filter(|b| !b.is_nan()).ok_or_else(|| format!("{label}={text:?} is not a number"))
        };
        match (self.family.kind, part) {
            (MetricKind::Histogram, Part::Bucket) => {
                let le = bound(special, "le")?;
                if series.buckets.last().is_some_and(|&(previous, _)| previous >= le) {
                    return Err(format!("bucket le={le} is not above the one before"));
                }
                series.buckets.push((le, sample.value));
            }
            (MetricKind::Summary, Part::Value) => {
                let q = bound(special, "quantile")?;
                if series.quantiles.iter().any(|&(previous, _)| previous >= q) {
                    return Err(format!("quantile {q} is not above the one before"));
                }
                series.quantiles.push((q, sample.value));
            }
            (_, Part::Value) => {
                if series.value.replace(sample.value).is_some() {
                    return Err(twice());
                }
            }
            (_, Part::Sum) => {
                if series.sum.replace(sample.value).is_some() {
                    return Err(twice());
                }
            }
            (_, Part::Count) => {
                if series.count.replace(sample.value).is_some() {
                    return Err(twice());
                }
            }
            (_, Part::Created) => {
                if series.created.replace(sample.value).is_some() {
                    return Err(twice());
                }
            }
            (_, Part::Bucket) => return Err(format!("{}: buckets on a {}", sample.name, self.family.kind_name())),
        }
        Ok(())
    }

    /// Checks the series against each other and builds the family.
    fn finish(mut self) -> Result<ParsedFamily, String> {
        let name = self.family.name.clone();
        let mut label_names: Vec<String> = Vec::new();
        for series in &self.parts {
            for (label, _) in &series.labels {
                if !label_names.contains(label) {
                    label_names.push(label.clone());
                }
            }
        }
        let kind = self.family.kind;
        let first = self.parts.first();
        if kind == MetricKind::Histogram {
            self.family.bounds = first.map(|s| s.buckets.iter().map(|b| b.0).filter(|b| b.is_finite()).collect()).unwrap_or_default();
        }
        if kind == MetricKind::Summary {
            self.family.quantiles = first.map(|s| s.quantiles.iter().map(|q| q.0).collect()).unwrap_or_default();
        }
        for series in std::mem::take(&mut self.parts) {
            let label_values = label_names
                .iter()
                .map(|n| series.labels.iter().find(|(l, _)| l == n).map(|(_, v)| v.clone()).unwrap_or_default())
                .collect();
            let created_ms = series.created.map(|s| (s * 1000.0).round() as i64);
            let value = match kind {
                MetricKind::Counter | MetricKind::Gauge => {
                    ParsedValue::Number(series.value.ok_or_else(|| format!("family {name}: a series without a value"))?)
                }
                MetricKind::Histogram => self.histogram_value(&series)?,
                MetricKind::Summary => {
                    let quantiles: Vec<f64> = series.quantiles.iter().map(|q| q.0).collect();
                    if quantiles != self.family.quantiles {
                        return Err(format!(
                            "family {name}: quantiles {quantiles:?} differ from the first series' {:?}",
                            self.family.quantiles
                        ));
                    }
                    let count = series.count.map(|c| whole_count(c).ok_or_else(|| format!("family {name}: count {c} is not whole")));
                    ParsedValue::Summary {
                        values: series.quantiles.iter().map(|q| q.1).collect(),
                        count: count.transpose()?.unwrap_or(0),
                        sum: series.sum.unwrap_or(0.0),
                    }
                }
            };
            self.family.series.push(ParsedSeries { label_values, value, created_ms });
        }
        self.family.label_names = label_names;
        Ok(self.family)
    }

    fn histogram_value(&self, series: &SeriesParts) -> Result<ParsedValue, String> {
        let name = &self.family.name;
        let bounds: Vec<f64> = series.buckets.iter().map(|b| b.0).filter(|b| b.is_finite()).collect();
        if bounds != self.family.bounds {
            return Err(format!("family {name}: buckets {bounds:?} differ from the first series' {:?}", self.family.bounds));
        }
        let Some(&(f64::INFINITY, total)) = series.buckets.last() else {
            return Err(format!("family {name}: a series without a +Inf bucket"));
        };
        let mut cumulative = Vec::with_capacity(bounds.len());
        for &(le, c) in &series.buckets {
            let c = whole_count(c).ok_or_else(|| format!("family {name}: bucket le={le} count {c} is not whole"))?;
            if cumulative.last().is_some_and(|&previous| c < previous) {
                return Err(format!("family {name}: bucket le={le} is below the one before (buckets are cumulative)"));
            }
            if le.is_finite() {
                cumulative.push(c);
            }
        }
        let count = whole_count(total).ok_or_else(|| format!("family {name}: +Inf count {total} is not whole"))?;
        if series.count.is_some_and(|c| c != total) {
            return Err(format!("family {name}: _count {} differs from the +Inf bucket {total}", series.count.unwrap_or_default()));
        }
        if cumulative.last().is_some_and(|&last| last > count) {
            return Err(format!("family {name}: a bucket is above the +Inf bucket"));
        }
        Ok(ParsedValue::Histogram { cumulative, count, sum: series.sum.unwrap_or(0.0) })
    }
}

impl ParsedFamily {
    fn kind_name(&self) -> &'static str {
        match self.kind {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
            MetricKind::Summary => "summary",
        }
    }
}

/// The registry kind and registered name of a declared type.
fn kind_of(type_name: &str, syntax: Syntax) -> Option<MetricKind> {
    Some(match type_name {
        "counter" => MetricKind::Counter,
        "gauge" | "untyped" | "stateset" => MetricKind::Gauge,
        "unknown" | "info" if syntax == Syntax::OpenMetrics => MetricKind::Gauge,
        "gaugehistogram" if syntax == Syntax::OpenMetrics => MetricKind::Histogram,
        "histogram" => MetricKind::Histogram,
        "summary" => MetricKind::Summary,
        _ => return None,
    })
}

/// Unescapes HELP text: `\\` and `\n` (and `\"` in OpenMetrics).
fn unescape_help(text: &str, syntax: Syntax) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if syntax == Syntax::OpenMetrics => out.push('"'),
            // Text 0.0.4 readers keep an unknown escape as it is.
            Some(other) if syntax == Syntax::Text => {
                out.push('\\');
                out.push(other);
            }
            Some(other) => return Err(format!("invalid escape \\{other} in HELP")),
            None if syntax == Syntax::Text => out.push('\\'),
            None => return Err("HELP ends with a backslash".into()),
        }
    }
    Ok(out)
}

/// Reads an exposition a line at a time, so output can be checked as a
/// stream (`plugin check`) without holding it whole; [`parse`] is this
/// over a whole text. Lines are the pieces between `\n`s, the last piece
/// (empty when the text ends with `\n`) marked `last`.
pub struct LineReader {
    syntax: Syntax,
    /// Family names seen, with the line that opened them.
    seen: HashMap<String, usize>,
    /// The open family and its declared type name.
    open: Option<(Building, String)>,
    /// `# EOF` was read (OpenMetrics).
    ended: bool,
    /// Lines read so far.
    number: usize,
}

impl LineReader {
    /// A reader of `syntax`, before its first line.
    pub fn new(syntax: Syntax) -> Self {
        LineReader { syntax, seen: HashMap::new(), open: None, ended: false, number: 0 }
    }

    /// Lines read so far.
    pub fn lines(&self) -> usize {
        self.number
    }

    fn close(&mut self, line: usize) -> Result<Option<ParsedFamily>, ParseError> {
        match self.open.take() {
            Some((building, _)) => building.finish().map(Some).map_err(|why| ParseError { line, why }),
            None => Ok(None),
        }
    }

    /// Reads one line (without its `\n`); the family it closed, if any.
    pub fn line(&mut self, line: &str, last: bool) -> Result<Option<ParsedFamily>, ParseError> {
        self.number += 1;
        let number = self.number;
        let syntax = self.syntax;
        let fail = |why: String| ParseError { line: number, why };
        if self.ended {
            if line.is_empty() && last {
                return Ok(None);
            }
            return Err(fail("content after # EOF".into()));
        }
        if line.is_empty() {
            return Ok(None);
        }
        if let Some(comment) = line.strip_prefix('#') {
            if syntax == Syntax::OpenMetrics && comment == " EOF" {
                self.ended = true;
                return self.close(number);
            }
            let mut words = comment.trim_start_matches(' ').splitn(3, ' ');
            let keyword = words.next().unwrap_or("");
            if !matches!(keyword, "HELP" | "TYPE" | "UNIT") || !comment.starts_with(' ') {
                if syntax == Syntax::OpenMetrics {
                    return Err(fail(format!("unknown comment {line:?}")));
                }
                return Ok(None);
            }
            let name = words.next().unwrap_or("");
            let rest = words.next().unwrap_or("");
            if !is_metric_name(name) {
                return Err(fail(format!("invalid metric name {name:?} in {keyword}")));
            }
            let same = self.open.as_ref().is_some_and(|(b, _)| b.declared == name);
            let mut closed = None;
            if !same {
                closed = self.close(number)?;
                if self.seen.insert(name.to_string(), number).is_some() {
                    return Err(fail(format!("family {name} appears twice (its lines must be together)")));
                }
                self.open =
                    Some((Building::new(name, MetricKind::Gauge), if syntax == Syntax::Text { "untyped" } else { "unknown" }.into()));
            }
            let (building, type_name) = self.open.as_mut().expect("opened above");
            if !building.parts.is_empty() {
                return Err(fail(format!("{keyword} for {name} after its samples")));
            }
            match keyword {
                "HELP" => {
                    if building.family.help.is_some() {
                        return Err(fail(format!("a second HELP for {name}")));
                    }
                    building.family.help = Some(unescape_help(rest, syntax).map_err(fail)?);
                }
                "TYPE" => {
                    let kind = kind_of(rest, syntax).ok_or_else(|| fail(format!("unknown type {rest:?} for {name}")))?;
                    building.family.kind = kind;
                    *type_name = rest.to_string();
                    // OpenMetrics names counters and info by their sample name.
                    match (syntax, rest) {
                        (Syntax::OpenMetrics, "counter") => building.family.name = format!("{name}_total"),
                        (Syntax::OpenMetrics, "info") => building.family.name = format!("{name}_info"),
                        _ => {}
                    }
                }
                _ => {}
            }
            return Ok(closed);
        }
        let sample = parse_sample(line, syntax).map_err(fail)?;
        let part = self.open.as_ref().and_then(|(b, type_name)| b.part_of(sample.name, syntax, type_name));
        let mut closed = None;
        let part = match part {
            Some(part) => part,
            None => {
                // A sample of a family without metadata: its own untyped family.
                closed = self.close(number)?;
                let name = sample.name;
                if self.seen.insert(name.to_string(), number).is_some() {
                    return Err(fail(format!("family {name} appears twice (its lines must be together)")));
                }
                self.open = Some((Building::new(name, MetricKind::Gauge), "untyped".into()));
                Part::Value
            }
        };
        let (building, _) = self.open.as_mut().expect("a family is open");
        building.add(sample, part).map_err(fail)?;
        Ok(closed)
    }

    /// Ends the exposition: the last family, if one is open.
    pub fn finish(mut self) -> Result<Option<ParsedFamily>, ParseError> {
        if self.syntax == Syntax::OpenMetrics && !self.ended {
            return Err(ParseError { line: self.number, why: "OpenMetrics must end with # EOF".into() });
        }
        let number = self.number;
        self.close(number)
    }
}

/// Reads a whole exposition.
pub fn parse(text: &str, syntax: Syntax) -> Result<Vec<ParsedFamily>, ParseError> {
    let mut reader = LineReader::new(syntax);
    let mut families = Vec::new();
    let mut pieces = text.split('\n').peekable();
    while let Some(line) = pieces.next() {
        families.extend(reader.line(line, pieces.peek().is_none())?);
    }
    families.extend(reader.finish()?);
    Ok(families)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str, syntax: Syntax) -> ParsedFamily {
        let mut families = parse(text, syntax).unwrap();
        assert_eq!(families.len(), 1, "{families:?}");
        families.remove(0)
    }

    #[test]
    fn escapes_in_label_values_and_help_are_read_exactly() {
        let family =
            one("# HELP a say \\\"hi\\\" C:\\\\x\\nnext\n# TYPE a gauge\na{v=\"q\\\"uote\\\\back\\nslash ü\"} 1.5\n", Syntax::Text);
        assert_eq!(family.help.as_deref(), Some("say \\\"hi\\\" C:\\x\nnext"), "text keeps unknown escapes");
        assert_eq!(family.series[0].label_values, vec!["q\"uote\\back\nslash ü"]);
        assert_eq!(family.series[0].value, ParsedValue::Number(1.5));
        let om = one("# TYPE a gauge\n# HELP a say \\\"hi\\\"\na{v=\"x\"} 1\n# EOF\n", Syntax::OpenMetrics);
        assert_eq!(om.help.as_deref(), Some("say \"hi\""));
    }

    #[test]
    fn histograms_summaries_and_created_times_are_grouped_by_series() {
        let text = "# TYPE h histogram\n\
                    h_bucket{s=\"a\",le=\"0.5\"} 1\nh_bucket{s=\"a\",le=\"+Inf\"} 3\nh_sum{s=\"a\"} 4.5\nh_count{s=\"a\"} 3\nh_created{s=\"a\"} 1700000000.25\n\
                    # TYPE c counter\nc_total 7\nc_created 1700000001\n\
                    # TYPE s summary\ns{quantile=\"0.5\"} 0.1\ns{quantile=\"0.9\"} 0.3\ns_sum 2\ns_count 9\n# EOF\n";
        let families = parse(text, Syntax::OpenMetrics).unwrap();
        assert_eq!(families[0].bounds, vec![0.5]);
        assert_eq!(families[0].series[0].value, ParsedValue::Histogram { cumulative: vec![1], count: 3, sum: 4.5 });
        assert_eq!(families[0].series[0].created_ms, Some(1_700_000_000_250));
        assert_eq!((families[1].name.as_str(), &families[1].series[0].value), ("c_total", &ParsedValue::Number(7.0)));
        assert_eq!(families[1].series[0].created_ms, Some(1_700_000_001_000));
        assert_eq!(families[2].quantiles, vec![0.5, 0.9]);
        assert_eq!(families[2].series[0].value, ParsedValue::Summary { values: vec![0.1, 0.3], count: 9, sum: 2.0 });
    }

    #[test]
    fn malformed_expositions_name_the_line() {
        let cases: [(&str, Syntax, &str); 12] = [
            ("a{v=\"x\\t\"} 1\n", Syntax::Text, "invalid escape"),
            ("a{v=\"x\"} one\n", Syntax::Text, "invalid value"),
            ("a 1\nb 2\na 3\n", Syntax::Text, "appears twice"),
            ("a{v=\"x\"} 1\na{v=\"x\"} 2\n", Syntax::Text, "appears twice"),
            ("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n", Syntax::Text, "cumulative"),
            ("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_count 2\n", Syntax::Text, "+Inf"),
            ("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\n", Syntax::Text, "differs"),
            ("# TYPE a gauge\na 1\n", Syntax::OpenMetrics, "# EOF"),
            ("# TYPE a gauge\na 1\n# EOF\na 2\n", Syntax::OpenMetrics, "after # EOF"),
            ("# TYPE a nonsense\n", Syntax::Text, "unknown type"),
            ("a.b 1\n", Syntax::Text, "invalid metric name"),
            ("a{1x=\"v\"} 1\n", Syntax::Text, "invalid label name"),
        ];
        for (text, syntax, why) in cases {
            let err = parse(text, syntax).expect_err(text);
            assert!(err.to_string().contains(why), "{text:?}: {err}");
            assert!(err.to_string().starts_with("line "), "{err}");
        }
    }

    #[test]
    fn series_missing_a_label_get_it_empty_and_untyped_becomes_gauge() {
        let family = one("x{a=\"1\"} 1\nx{b=\"2\"} 2\n", Syntax::Text);
        assert_eq!(family.kind, MetricKind::Gauge);
        assert_eq!(family.label_names, vec!["a", "b"]);
        assert_eq!(family.series[1].label_values, vec!["", "2"]);
    }
}
