//! `plugin check`'s reading of a render's output as it is written: the
//! output is validated in the format its content type names (Prometheus
//! text 0.0.4, OpenMetrics, JSON) chunk by chunk and hashed, never held
//! whole, so a check holds a few lines (or, for JSON, a channel of a few
//! chunks) whatever a plugin writes, up to the server's output cap.
use crate::content_type::{media_type, parameter};
use crate::upstream::exposition_parser::{LineReader, Syntax};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// The longest line the text readers hold while waiting for its end.
pub const MAX_CHECKED_LINE: usize = 16 << 20;

/// What was written, once the output has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSummary {
    /// Bytes written.
    pub bytes: u64,
    /// When asked for with [`OutputStreamCheck::hashing`].
    pub sha256: Option<[u8; 32]>,
    /// The output's first bytes, when asked for with
    /// [`OutputStreamCheck::keeping`] (at most that many).
    pub kept: Option<Vec<u8>>,
}

/// Where two outputs first differ: the line (from 1) and byte offset (from
/// 0), with the two lines there (each cut to 120 bytes). `a` and `b` may be
/// the first bytes of longer outputs: equal as far as both go, they are
/// said to differ after that.
pub fn first_difference(a: &[u8], b: &[u8]) -> String {
    let at = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let line = a[..at].iter().filter(|&&c| c == b'\n').count() + 1;
    let line_of = |text: &[u8]| -> String {
        let start = text[..at.min(text.len())].iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
        let end = text[start..].iter().position(|&c| c == b'\n').map_or(text.len(), |i| start + i);
        let shown = &text[start..end.min(start + 120)];
        format!("{:?}", String::from_utf8_lossy(shown))
    };
    format!("first difference at line {line}, byte {at}: {} vs {}", line_of(a), line_of(b))
}

/// Validates output in the format `content_type` names as it arrives.
pub struct OutputStreamCheck {
    reader: Reader,
    bytes: u64,
    hash: Option<Sha256>,
    problem: Option<String>,
    /// The first bytes kept, and how many at most.
    kept: Option<(Vec<u8>, usize)>,
}

enum Reader {
    /// A format the check cannot read: counted and hashed only.
    Unread,
    Exposition {
        lines: Box<LineReader>,
        partial: Vec<u8>,
        name: &'static str,
    },
    Json(JsonReader),
}

impl OutputStreamCheck {
    /// A check of output of `content_type` (read strictly when the host
    /// knows it: Prometheus text 0.0.4, OpenMetrics, JSON; else only counted).
    pub fn new(content_type: &str) -> Self {
        let exposition = |syntax, name| Reader::Exposition { lines: Box::new(LineReader::new(syntax)), partial: Vec::new(), name };
        let reader = match media_type(content_type).as_str() {
            "text/plain" if parameter(content_type, "version") == Some("0.0.4") => exposition(Syntax::Text, "Prometheus text"),
            "application/openmetrics-text" => exposition(Syntax::OpenMetrics, "OpenMetrics"),
            "application/json" => Reader::Json(JsonReader::start()),
            _ => Reader::Unread,
        };
        OutputStreamCheck { reader, bytes: 0, hash: None, problem: None, kept: None }
    }

    /// Keeps the output's first `max` bytes too, to show where two renders
    /// differ.
    pub fn keeping(mut self, max: usize) -> Self {
        self.kept = Some((Vec::new(), max));
        self
    }

    /// Hashes the output too (SHA-256), to compare renders.
    pub fn hashing(mut self) -> Self {
        self.hash = Some(Sha256::new());
        self
    }

    /// Reads the next chunk; `Err` (the first problem found) means the
    /// output is already invalid, so the render can be stopped.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), String> {
        if let Some(problem) = &self.problem {
            return Err(problem.clone());
        }
        self.bytes += chunk.len() as u64;
        if let Some(hash) = &mut self.hash {
            hash.update(chunk);
        }
        if let Some((kept, max)) = &mut self.kept {
            let room = max.saturating_sub(kept.len());
            kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        let read = match &mut self.reader {
            Reader::Unread => Ok(()),
            Reader::Exposition { lines, partial, name } => {
                read_lines(lines, partial, chunk).map_err(|why| format!("not valid {name}: {why}"))
            }
            Reader::Json(json) => json.feed(chunk),
        };
        read.map_err(|problem| self.problem.insert(problem).clone())
    }

    /// Ends the output: its size and hash, or the first problem.
    pub fn finish(self) -> Result<OutputSummary, String> {
        if let Some(problem) = self.problem {
            return Err(problem);
        }
        match self.reader {
            Reader::Unread => {}
            Reader::Exposition { mut lines, partial, name } => {
                let last = line_text(&partial).and_then(|line| lines.line(line, true).map(drop).map_err(|e| e.to_string()));
                last.and_then(|()| lines.finish().map(drop).map_err(|e| e.to_string()))
                    .map_err(|why| format!("not valid {name}: {why}"))?;
            }
            Reader::Json(json) => json.finish()?,
        }
        Ok(OutputSummary { bytes: self.bytes, sha256: self.hash.map(|hash| hash.finalize().into()), kept: self.kept.map(|(kept, _)| kept) })
    }
}

fn line_text(line: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(line).map_err(|e| format!("not UTF-8: {e}"))
}

/// Feeds every line `chunk` completes; keeps the unfinished rest.
fn read_lines(lines: &mut LineReader, partial: &mut Vec<u8>, mut chunk: &[u8]) -> Result<(), String> {
    while let Some(end) = chunk.iter().position(|&b| b == b'\n') {
        let read = if partial.is_empty() {
            line_text(&chunk[..end]).and_then(|line| lines.line(line, false).map_err(|e| e.to_string()))
        } else {
            partial.extend_from_slice(&chunk[..end]);
            let read = line_text(partial).and_then(|line| lines.line(line, false).map_err(|e| e.to_string()));
            partial.clear();
            read
        };
        read?;
        chunk = &chunk[end + 1..];
    }
    if partial.len() + chunk.len() > MAX_CHECKED_LINE {
        return Err(format!("line {}: longer than {} MiB", lines.lines() + 1, MAX_CHECKED_LINE >> 20));
    }
    partial.extend_from_slice(chunk);
    Ok(())
}

/// serde_json reading from a channel on its own thread, discarding what it
/// reads: a pull parser fed by pushed chunks, a few chunks in flight.
struct JsonReader {
    chunks: Option<SyncSender<Vec<u8>>>,
    reading: Option<JoinHandle<Result<(), String>>>,
}

struct ChannelRead {
    chunks: Receiver<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
}

impl Read for ChannelRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.current.len() {
            match self.chunks.recv() {
                Ok(next) => (self.current, self.at) = (next, 0),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Reads any JSON value and keeps nothing; unlike `serde::de::IgnoredAny`
/// (which skips numbers unread), numbers are read as `serde_json::Value`
/// reads them, so a value out of f64's range is refused as the server's
/// own JSON readers refuse it.
struct Discard;

impl<'de> serde::de::Deserialize<'de> for Discard {
    fn deserialize<D: serde::de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Discard)
    }
}

impl<'de> serde::de::Visitor<'de> for Discard {
    type Value = Discard;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Discard, E> {
        Ok(Discard)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Discard, E> {
        Ok(Discard)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Discard, E> {
        Ok(Discard)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Discard, E> {
        Ok(Discard)
    }

    fn visit_str<E>(self, _: &str) -> Result<Discard, E> {
        Ok(Discard)
    }

    fn visit_unit<E>(self) -> Result<Discard, E> {
        Ok(Discard)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Discard, A::Error> {
        while seq.next_element::<Discard>()?.is_some() {}
        Ok(Discard)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Discard, A::Error> {
        while map.next_entry::<Discard, Discard>()?.is_some() {}
        Ok(Discard)
    }
}

impl JsonReader {
    fn start() -> Self {
        let (chunks, receiver) = sync_channel::<Vec<u8>>(4);
        let reading = std::thread::spawn(move || {
            let read = ChannelRead { chunks: receiver, current: Vec::new(), at: 0 };
            let mut json = serde_json::Deserializer::from_reader(std::io::BufReader::new(read));
            serde::de::Deserialize::deserialize(&mut json).and_then(|Discard| json.end()).map_err(|e| format!("not valid JSON: {e}"))
        });
        JsonReader { chunks: Some(chunks), reading: Some(reading) }
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<(), String> {
        match &self.chunks {
            Some(chunks) if chunks.send(chunk.to_vec()).is_ok() => Ok(()),
            // The reader stopped before the end of the output: it found
            // the problem.
            _ => Err(self.result().err().unwrap_or_else(|| "not valid JSON: the reader stopped early".into())),
        }
    }

    fn finish(mut self) -> Result<(), String> {
        self.result()
    }

    /// Ends the input and waits for the reader's verdict.
    fn result(&mut self) -> Result<(), String> {
        self.chunks = None;
        match self.reading.take() {
            Some(reading) => reading.join().unwrap_or_else(|_| Err("the JSON reader failed".into())),
            None => Err("not valid JSON: the reader stopped early".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_in_chunks(content_type: &str, text: &[u8], size: usize) -> Result<OutputSummary, String> {
        let mut check = OutputStreamCheck::new(content_type).hashing();
        for chunk in text.chunks(size.max(1)) {
            check.feed(chunk)?;
        }
        check.finish()
    }

    #[test]
    fn a_difference_is_named_by_line_and_byte_with_both_lines() {
        let a = b"same line\nvalue 1 at 17\nend\n";
        let b = b"same line\nvalue 1 at 18\nend\n";
        assert_eq!(first_difference(a, b), "first difference at line 2, byte 22: \"value 1 at 17\" vs \"value 1 at 18\"");
        assert_eq!(first_difference(b"ab", b"abc"), "first difference at line 1, byte 2: \"ab\" vs \"abc\"");
        let mut check = OutputStreamCheck::new("text/csv").keeping(4);
        check.feed(b"abc").unwrap();
        check.feed(b"defg").unwrap();
        assert_eq!(check.finish().unwrap().kept.as_deref(), Some(&b"abcd"[..]));
    }

    #[test]
    fn expositions_read_in_any_chunking_agree_with_the_whole_text_reader() {
        let text = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"\u{e9}\"} 1\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n";
        for size in [1, 2, 3, 7, 64, 4096] {
            let summary = check_in_chunks("text/plain; version=0.0.4", text.as_bytes(), size).unwrap();
            assert_eq!(summary.bytes, text.len() as u64);
        }
        // The same families twice, or a histogram's count lower than its
        // buckets: found whichever way the bytes arrive.
        for bad in [format!("{text}a_total 2\n"), text.replace("h_count 2", "h_count 1")] {
            for size in [1, 5, 4096] {
                let why = check_in_chunks("text/plain; version=0.0.4", bad.as_bytes(), size).unwrap_err();
                assert!(why.starts_with("not valid Prometheus text: line "), "{why}");
            }
        }
        let om = "# TYPE a counter\na_total 1\n# EOF\n";
        assert!(check_in_chunks("application/openmetrics-text; version=1.0.0", om.as_bytes(), 3).is_ok());
        let after_eof = check_in_chunks("application/openmetrics-text; version=1.0.0", format!("{om}\n").as_bytes(), 3).unwrap_err();
        assert!(after_eof.contains("content after # EOF"), "{after_eof}");
        let no_eof = check_in_chunks("application/openmetrics-text; version=1.0.0", b"a 1\n", 3).unwrap_err();
        assert!(no_eof.contains("must end with # EOF"), "{no_eof}");
        let split_char = check_in_chunks("text/plain; version=0.0.4", b"a{x=\"\xc3\xa9\"} 1\n", 4);
        assert!(split_char.is_ok(), "{split_char:?}");
        let not_utf8 = check_in_chunks("text/plain; version=0.0.4", b"a{x=\"\xff\"} 1\n", 4).unwrap_err();
        assert!(not_utf8.contains("not UTF-8"), "{not_utf8}");
    }

    #[test]
    fn json_is_read_as_a_stream_and_its_first_problem_stops_the_output() {
        let json = br#"{"a": {"value": 1.5, "labels": ["x", "y"]}, "b": null}"#;
        for size in [1, 4, 4096] {
            assert!(check_in_chunks("application/json", json, size).is_ok());
        }
        assert!(check_in_chunks("application/json", b"{\"a\": 1} trailing", 2).unwrap_err().starts_with("not valid JSON"));
        assert!(check_in_chunks("application/json", b"{\"a\": ", 2).unwrap_err().starts_with("not valid JSON"));
        // A number out of f64's range, as serde_json::Value refuses it
        // (found by the exposition fuzz target).
        assert!(serde_json::from_slice::<serde_json::Value>(b"4e5555555555").is_err());
        assert!(check_in_chunks("application/json", b"4e5555555555", 3).unwrap_err().starts_with("not valid JSON"));
        // Invalid from the first byte: later chunks are refused, not read.
        let mut check = OutputStreamCheck::new("application/json");
        check.feed(b"]").ok();
        let refused = (0..1000).map(|_| check.feed(&[b' '; 4096])).find(Result::is_err);
        assert!(refused.is_some_and(|r| r.unwrap_err().starts_with("not valid JSON")));
    }

    #[test]
    fn a_line_that_never_ends_is_refused_at_the_cap_and_held_no_longer() {
        let mut check = OutputStreamCheck::new("text/plain; version=0.0.4");
        let chunk = vec![b'x'; 1 << 20];
        let refused = (0..(MAX_CHECKED_LINE >> 20) + 2).map(|_| check.feed(&chunk)).find(Result::is_err);
        let why = refused.expect("refused").unwrap_err();
        assert!(why.contains("longer than 16 MiB"), "{why}");
    }

    #[test]
    fn the_same_bytes_hash_the_same_and_other_formats_are_counted_only() {
        let a = check_in_chunks("text/x-other", b"anything at all", 4).unwrap();
        let b = check_in_chunks("text/x-other", b"anything at all", 5).unwrap();
        let c = check_in_chunks("text/x-other", b"anything at alL", 5).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.sha256, c.sha256);
        assert_eq!(a.bytes, 15);
    }
}
