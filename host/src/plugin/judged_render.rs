//! One render the host judges instead of serving (a new version's
//! preflight, `plugin check`): the output read by the strict reader of its
//! content type as it comes (`ReadingSink`), accepted only up to a point
//! (past it `output.write` returns false, as when a client leaves), and the
//! guest's conduct; and the one verdict on how a guest answers a refusal.
use super::component::{GuestConduct, GuestReturn, RendererComponent};
use super::output_stream_check::OutputStreamCheck;
use super::reading_sink::{ReadOutput, ReadingSink};
use super::series_batches::RenderNames;
use super::{RenderFailure, RenderFailureCause, RenderLimits};
use crate::snapshot::Snapshot;
use std::sync::Arc;

/// What a judged render gave.
pub struct JudgedRender {
    /// The render's result.
    pub result: Result<(), RenderFailure>,
    /// How the guest behaved.
    pub conduct: GuestConduct,
    /// What was written and what the reader made of it.
    pub read: ReadOutput,
    /// Whether the host refused some of the output (past `accept`).
    pub refused: bool,
}

/// What to render and how to read it.
pub struct Judging<'a> {
    /// The renderer.
    pub component: &'a RendererComponent,
    /// Its format.
    pub format: &'a str,
    /// Names as the render writes them (prefix).
    pub names: RenderNames<'a>,
    /// The render's limits.
    pub limits: &'a RenderLimits,
}

/// Renders `snapshot`, reading the output with `check` (and copying it to
/// `copy`), refusing it past `accept` bytes (or the limits' own cap).
pub async fn render_judged(
    job: &Judging<'_>,
    snapshot: &Arc<Snapshot>,
    accept: u64,
    check: OutputStreamCheck,
    copy: Option<std::fs::File>,
) -> JudgedRender {
    let sink = ReadingSink::new(check, copy);
    let limits = RenderLimits { output_bytes: accept.min(job.limits.output_bytes), ..job.limits.clone() };
    let (result, conduct) = job.component.render_reporting(snapshot, job.format, job.names, &limits, Box::new(sink.clone())).await;
    let refused = matches!(&result, Err(failure) if matches!(failure.cause, RenderFailureCause::OutputTooLarge(_)));
    let read = sink.finish(result.is_ok());
    JudgedRender { result, conduct, read, refused }
}

/// How a guest answered its output being refused: it must stop writing and
/// return `output-closed`.
#[derive(Debug, Clone, PartialEq)]
pub enum RefusalAnswer {
    /// The whole output came before the refusal point: nothing to judge.
    NotReached,
    /// Returned `output-closed`, no write after the refusal.
    Stopped,
    /// Kept calling `output.write` after it returned false.
    KeptWriting(u64),
    /// Trapped or ran out of time instead of returning (why).
    DidNotReturn(String),
    /// Returned something else.
    Returned(GuestReturn),
}

impl RefusalAnswer {
    /// The answer `render` shows.
    pub fn of(render: &JudgedRender) -> Self {
        let conduct = &render.conduct;
        if conduct.writes_after_refusal > 0 {
            return RefusalAnswer::KeptWriting(conduct.writes_after_refusal);
        }
        if !render.refused && render.result.is_ok() {
            return RefusalAnswer::NotReached;
        }
        match &conduct.returned {
            None => RefusalAnswer::DidNotReturn(render.result.as_ref().err().map(|e| e.cause.to_string()).unwrap_or_default()),
            Some(GuestReturn::OutputClosed) => RefusalAnswer::Stopped,
            Some(other) => RefusalAnswer::Returned(other.clone()),
        }
    }

    /// Whether the guest behaved (or was not put to the test).
    pub fn passed(&self) -> bool {
        matches!(self, RefusalAnswer::NotReached | RefusalAnswer::Stopped)
    }
}

impl std::fmt::Display for RefusalAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefusalAnswer::NotReached => f.write_str("not reached: the whole output came before the refusal"),
            RefusalAnswer::Stopped => f.write_str("returned output-closed at once"),
            RefusalAnswer::KeptWriting(n) => write!(f, "kept writing ({n} writes after output.write returned false)"),
            RefusalAnswer::DidNotReturn(why) => write!(f, "did not return ({why})"),
            RefusalAnswer::Returned(other) => write!(f, "returned {other:?} instead of output-closed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn judged(cause: Option<RenderFailureCause>, returned: Option<GuestReturn>, writes_after_refusal: u64) -> JudgedRender {
        let refused = matches!(cause, Some(RenderFailureCause::OutputTooLarge(_)));
        let result = match cause {
            None => Ok(()),
            Some(cause) => Err(RenderFailure { plugin: "p".into(), format: "f".into(), cause }),
        };
        let conduct = GuestConduct { returned, memory_bytes: 0, writes_after_refusal, reading: None };
        JudgedRender { result, conduct, read: ReadOutput { written: 0, judged: None }, refused }
    }

    #[test]
    fn only_stopping_with_output_closed_or_never_being_refused_passes() {
        let refused = || Some(RenderFailureCause::OutputTooLarge(10));
        let cases = [
            (judged(None, Some(GuestReturn::Ok), 0), RefusalAnswer::NotReached),
            (judged(refused(), Some(GuestReturn::OutputClosed), 0), RefusalAnswer::Stopped),
            (judged(refused(), Some(GuestReturn::OutputClosed), 3), RefusalAnswer::KeptWriting(3)),
            (judged(refused(), Some(GuestReturn::Ok), 0), RefusalAnswer::Returned(GuestReturn::Ok)),
            (judged(refused(), None, 0), RefusalAnswer::DidNotReturn(RenderFailureCause::OutputTooLarge(10).to_string())),
            (
                judged(Some(RenderFailureCause::TimedOut(Duration::from_secs(1))), None, 0),
                RefusalAnswer::DidNotReturn(RenderFailureCause::TimedOut(Duration::from_secs(1)).to_string()),
            ),
        ];
        for (render, expected) in cases {
            let answer = RefusalAnswer::of(&render);
            assert_eq!(answer, expected);
            assert_eq!(answer.passed(), matches!(expected, RefusalAnswer::NotReached | RefusalAnswer::Stopped), "{answer}");
        }
    }
}
