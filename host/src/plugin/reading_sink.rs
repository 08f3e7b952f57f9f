//! The sink a render writes into when the host judges its output rather
//! than serving it (the preflight of a new plugin version, `plugin check`):
//! the output is read as it comes by the strict reader of its content type
//! (`output_stream_check`), optionally copied to a file, and refused from
//! its first problem on, so a broken output stops the render early.
use super::output_stream_check::{OutputStreamCheck, OutputSummary};
use super::sink::{OutputSink, SinkClosed, WriteFuture};
use bytes::Bytes;
use std::io::Write as _;
use std::sync::{Arc, Mutex};

/// What the output was, once the render is over.
pub struct ReadOutput {
    /// Bytes the sink took.
    pub written: u64,
    /// The output's summary (size, hash, kept bytes), or its first problem;
    /// `None` when the render failed before its output could be judged.
    pub judged: Option<Result<OutputSummary, String>>,
}

struct Reading {
    check: OutputStreamCheck,
    written: u64,
    problem: Option<String>,
    copy: Option<std::io::BufWriter<std::fs::File>>,
}

/// Reads (and copies) what a render writes; clones share one reading.
#[derive(Clone)]
pub struct ReadingSink {
    reading: Arc<Mutex<Reading>>,
}

impl ReadingSink {
    /// Reads with `check`, copying every chunk to `copy` if given (a copy
    /// that fails to write is the output's problem).
    pub fn new(check: OutputStreamCheck, copy: Option<std::fs::File>) -> Self {
        let reading = Reading { check, written: 0, problem: None, copy: copy.map(std::io::BufWriter::new) };
        ReadingSink { reading: Arc::new(Mutex::new(reading)) }
    }

    /// Ends the reading; `rendered` says whether the render succeeded (the
    /// output of a failed render is not judged unless it already had a
    /// problem).
    pub fn finish(&self, rendered: bool) -> ReadOutput {
        let mut reading = self.reading.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut copy) = reading.copy.take() {
            if let Err(error) = copy.flush() {
                reading.problem.get_or_insert_with(|| format!("copying the output: {error}"));
            }
        }
        let check = std::mem::replace(&mut reading.check, OutputStreamCheck::new(""));
        let judged = match reading.problem.take() {
            Some(problem) => Some(Err(problem)),
            None if rendered => Some(check.finish()),
            None => None,
        };
        ReadOutput { written: reading.written, judged }
    }
}

impl OutputSink for ReadingSink {
    fn write(&mut self, chunk: Bytes) -> WriteFuture<'_> {
        let mut reading = self.reading.lock().unwrap_or_else(|e| e.into_inner());
        let result = if reading.problem.is_some() {
            Err(SinkClosed::Gone)
        } else {
            reading.written += chunk.len() as u64;
            let copied = match reading.copy.as_mut().map(|copy| copy.write_all(&chunk)) {
                Some(Err(error)) => Err(format!("copying the output: {error}")),
                _ => Ok(()),
            };
            match copied.and_then(|()| reading.check.feed(&chunk)) {
                Ok(()) => Ok(()),
                Err(problem) => {
                    reading.problem = Some(problem);
                    reading.copy = None;
                    Err(SinkClosed::Gone)
                }
            }
        };
        Box::pin(std::future::ready(result))
    }
}
