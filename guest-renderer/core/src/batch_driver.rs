//! Walks a snapshot's families and pulls their series batch by batch from a
//! [`BatchSource`], checking that batches arrive in family order and add up
//! to each family's declared series count, and calls a [`Formatter`] for
//! every family opened, batch read and family closed. Families without
//! series are opened and closed like any other.
use crate::output::Out;
use crate::snapshot::{inconsistent, Batch, BatchSource, Family};
use crate::RenderError;
use alloc::format;

/// One output format, fed in order.
pub(crate) trait Formatter {
    /// Before the first family.
    fn begin(&mut self, _out: &mut Out<'_>) -> Result<(), RenderError> {
        Ok(())
    }
    /// Headers of `family`; `index` is its position in the snapshot.
    fn family_start(&mut self, index: usize, family: &Family<'_>, out: &mut Out<'_>) -> Result<(), RenderError>;
    /// Series of the open family; `first` is the index within the family
    /// of the batch's first series.
    fn series(&mut self, family: &Family<'_>, batch: &Batch<'_>, first: u32, out: &mut Out<'_>) -> Result<(), RenderError>;
    /// After the open family's last series.
    fn family_end(&mut self, _family: &Family<'_>, _out: &mut Out<'_>) -> Result<(), RenderError> {
        Ok(())
    }
    /// After the last family.
    fn end(&mut self, _out: &mut Out<'_>) -> Result<(), RenderError> {
        Ok(())
    }
}

/// The family being written and how many of its series were seen.
struct Progress {
    /// Families opened so far; the open one is `opened - 1`.
    opened: usize,
    seen: u32,
}

impl Progress {
    fn close(&mut self, families: &[Family<'_>], formatter: &mut dyn Formatter, out: &mut Out<'_>) -> Result<(), RenderError> {
        if let Some(family) = self.opened.checked_sub(1).map(|i| &families[i]) {
            if self.seen != family.series {
                return Err(inconsistent(format!("family {}: {} series delivered, {} declared", family.name, self.seen, family.series)));
            }
            formatter.family_end(family, out)?;
        }
        Ok(())
    }

    /// Closes the open family and opens every family up to `target`.
    fn advance_to(
        &mut self,
        target: usize,
        families: &[Family<'_>],
        formatter: &mut dyn Formatter,
        out: &mut Out<'_>,
    ) -> Result<(), RenderError> {
        while self.opened <= target {
            self.close(families, formatter, out)?;
            formatter.family_start(self.opened, &families[self.opened], out)?;
            self.opened += 1;
            self.seen = 0;
        }
        Ok(())
    }
}

pub(crate) fn drive(
    families: &[Family<'_>],
    source: &mut dyn BatchSource,
    formatter: &mut dyn Formatter,
    out: &mut Out<'_>,
) -> Result<(), RenderError> {
    formatter.begin(out)?;
    let mut progress = Progress { opened: 0, seen: 0 };
    while source.next_batch(&mut |raw| {
        let index = raw.family as usize;
        if index >= families.len() {
            return Err(inconsistent(format!("batch of family {index}, but there are {} families", families.len())));
        }
        if index + 1 < progress.opened {
            return Err(inconsistent(format!(
                "batch of family {} after family {}",
                families[index].name,
                families[progress.opened - 1].name
            )));
        }
        progress.advance_to(index, families, formatter, out)?;
        let family = &families[index];
        let batch = Batch::check(raw, family)?;
        let first = progress.seen;
        if batch.len() as u64 + first as u64 > family.series as u64 {
            return Err(inconsistent(format!("family {}: more series delivered than the {} declared", family.name, family.series)));
        }
        progress.seen += batch.len() as u32;
        formatter.series(family, &batch, first, out)
    })? {}
    if !families.is_empty() {
        progress.advance_to(families.len() - 1, families, formatter, out)?;
    }
    progress.close(families, formatter, out)?;
    formatter.end(out)
}

#[cfg(test)]
mod tests {
    use crate::snapshot::{BatchSource, Family, MetricKind, SeriesBatch};
    use crate::{render, RenderError, RenderOptions};
    use alloc::string::String;
    use alloc::vec;
    use alloc::vec::Vec;

    /// Owned batches handed out in order.
    struct Batches(Vec<(u32, String, Vec<u32>, Vec<f64>)>);

    impl BatchSource for Batches {
        fn next_batch(&mut self, f: &mut dyn FnMut(&SeriesBatch<'_>) -> Result<(), RenderError>) -> Result<bool, RenderError> {
            if self.0.is_empty() {
                return Ok(false);
            }
            let (family, text, ends, values) = self.0.remove(0);
            f(&SeriesBatch::of_values(family, &text, &ends, &values))?;
            Ok(true)
        }
    }

    fn gauge<'a>(name: &'a str, labels: Vec<&'a str>, series: u32) -> Family<'a> {
        Family { name, help: None, kind: MetricKind::Gauge, label_names: labels, series, bounds: &[], native: false, quantiles: &[] }
    }

    fn run(families: &[Family<'_>], batches: Vec<(u32, &str, Vec<u32>, Vec<f64>)>, format: &str) -> Result<String, RenderError> {
        let mut source = Batches(batches.into_iter().map(|(f, t, e, v)| (f, t.into(), e, v)).collect());
        let mut out = Vec::new();
        render(families, &mut source, format, RenderOptions::default(), &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn series_split_over_batches_and_empty_families_render_in_order() {
        let families = [gauge("a", vec!["q"], 3), gauge("empty", vec![], 0), gauge("c", vec![], 1)];
        let batches = vec![(0, "xy", vec![1, 2], vec![1.0, 2.0]), (0, "z", vec![1], vec![3.0]), (2, "", vec![], vec![4.5])];
        let text = run(&families, batches.clone(), "prometheus").unwrap();
        assert_eq!(text, "# TYPE a gauge\na{q=\"x\"} 1\na{q=\"y\"} 2\na{q=\"z\"} 3\n# TYPE empty gauge\n# TYPE c gauge\nc 4.5\n");
        let json = run(&families, batches, "json").unwrap();
        assert_eq!(
            json,
            "{\n\"a\":{\"type\":\"gauge\",\"value\":{\"q\":{\"x\":1.0,\"y\":2.0,\"z\":3.0}}},\n\"empty\":{\"type\":\"gauge\",\"value\":null},\n\"c\":{\"type\":\"gauge\",\"value\":4.5}\n}\n"
        );
    }

    fn failure(result: Result<String, RenderError>) -> String {
        match result {
            Err(RenderError::Failed(why)) => why,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn a_host_that_miscounts_or_reorders_series_is_refused() {
        let families = [gauge("a", vec!["q"], 2), gauge("b", vec![], 1)];
        let too_few = vec![(0, "x", vec![1], vec![1.0]), (1, "", vec![], vec![1.0])];
        assert!(failure(run(&families, too_few, "prometheus")).contains("1 series delivered, 2 declared"));
        let too_many = vec![(0, "xyz", vec![1, 2, 3], vec![1.0, 2.0, 3.0])];
        assert!(failure(run(&families, too_many, "prometheus")).contains("more series delivered"));
        let one_each = [gauge("a", vec!["q"], 1), gauge("b", vec![], 1)];
        let backwards = vec![(0, "x", vec![1], vec![1.0]), (1, "", vec![], vec![1.0]), (0, "y", vec![1], vec![2.0])];
        assert!(failure(run(&one_each, backwards, "json")).contains("batch of family a after family b"));
        let skipped = vec![(1, "", vec![], vec![1.0])];
        assert!(failure(run(&families, skipped, "json")).contains("family a: 0 series delivered, 2 declared"));
        let unknown = vec![(7, "", vec![], vec![1.0])];
        assert!(failure(run(&families, unknown, "json")).contains("batch of family 7"));
        let split_char = vec![(0, "é", vec![1, 2], vec![1.0, 2.0]), (1, "", vec![], vec![1.0])];
        assert!(failure(run(&families, split_char, "prometheus")).contains("splits a character"));
        let short_labels = vec![(0, "x", vec![1], vec![1.0, 2.0]), (1, "", vec![], vec![1.0])];
        assert!(failure(run(&families, short_labels, "prometheus")).contains("1 label values for 2 series"));
    }

    #[test]
    fn utf8_names_are_quoted_inside_the_braces() {
        let families = [gauge("my.metric", vec!["label.x", "b"], 1), gauge("plain", vec![], 1), gauge("ü", vec![], 1)];
        let batches = vec![(0, "vw", vec![1, 2], vec![1.0]), (1, "", vec![], vec![2.0]), (2, "", vec![], vec![3.0])];
        let text = run(&families, batches.clone(), "prometheus").unwrap();
        assert_eq!(
            text,
            "# TYPE \"my.metric\" gauge\n{\"my.metric\",\"label.x\"=\"v\",b=\"w\"} 1\n# TYPE plain gauge\nplain 2\n# TYPE \"ü\" gauge\n{\"ü\"} 3\n"
        );
        let om = run(&families, batches.clone(), "openmetrics").unwrap();
        assert!(om.starts_with("# TYPE \"my.metric\" gauge\n{\"my.metric\",\"label.x\"=\"v\",b=\"w\"} 1\n"), "{om}");
        let json = run(&families, batches, "json").unwrap();
        assert!(json.starts_with("{\n\"my.metric\":{\"type\":\"gauge\",\"value\":[{\"label.x\":\"v\",\"b\":\"w\",\"@\":1.0}]}"), "{json}");
    }

    #[test]
    fn bad_names_in_the_families_are_refused_before_any_output() {
        let mut out = Vec::new();
        let bad = [gauge("", vec![], 0)];
        let result = render(&bad, &mut Batches(Vec::new()), "prometheus", RenderOptions::default(), &mut out);
        assert!(matches!(result, Err(RenderError::Failed(why)) if why.contains("not a valid metric name")));
        let bad = [gauge("a", vec!["x", "x"], 0)];
        let result = render(&bad, &mut Batches(Vec::new()), "prometheus", RenderOptions::default(), &mut out);
        assert!(matches!(result, Err(RenderError::Failed(why)) if why.contains("repeated")));
        assert!(out.is_empty());
    }
}
