//! The queue of one push endpoint: compressed requests waiting to be sent,
//! at most a byte budget; a request that would exceed it drops the oldest
//! (counted), so a receiver that is slow or down costs bounded memory and
//! the newest data goes out first when it is back. Several senders (an
//! endpoint's `shards`) take requests at once, but only of one push at a
//! time: a request of the next push waits until every request of the one
//! before is done, so a series' samples reach the receiver in order.
use super::settings::PushProtocol;
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Mutex;
use tokio::sync::Notify;

/// One compressed request body and the protocol it was encoded for (a
/// remote write 2.0 endpoint that falls back to 1.0 may still hold 2.0
/// requests).
#[derive(Debug, Clone)]
pub struct PushRequest {
    /// The compressed request body.
    pub body: Bytes,
    /// The protocol it was encoded for.
    pub protocol: PushProtocol,
    /// `http`: the request's `Content-Type` (the format's, less
    /// `encoding=delimited`); other protocols send their own.
    pub content_type: Option<std::sync::Arc<str>>,
    /// Which push (render) it belongs to.
    pub push: u64,
    /// Samples in it, when the host can read its protocol.
    pub samples: Option<u64>,
}

#[derive(Default)]
struct Queued {
    requests: VecDeque<PushRequest>,
    bytes: usize,
    dropped: u64,
    /// Requests taken by senders and not yet [`RequestQueue::done`].
    in_flight: usize,
    /// The push those requests belong to.
    in_flight_push: u64,
}

/// Compressed requests in order, within `max_bytes`.
pub struct RequestQueue {
    queued: Mutex<Queued>,
    max_bytes: usize,
    arrived: Notify,
    /// Notified when the sender finishes a request with nothing left.
    settled: Notify,
    /// Called for each request dropped for the budget (the self-metrics).
    dropped: Option<Box<dyn Fn() + Send + Sync>>,
}

impl RequestQueue {
    /// An empty queue holding at most `max_bytes` of request bodies.
    pub fn new(max_bytes: usize) -> Self {
        RequestQueue { queued: Mutex::default(), max_bytes, arrived: Notify::new(), settled: Notify::new(), dropped: None }
    }

    /// Calls `listener` for each request dropped for the budget.
    pub fn on_drop(&mut self, listener: Box<dyn Fn() + Send + Sync>) {
        self.dropped = Some(listener);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queued> {
        self.queued.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a request, dropping the oldest while over the budget (a request
    /// larger than the whole budget is dropped itself).
    pub fn push(&self, request: PushRequest) {
        let mut queued = self.lock();
        let before = queued.dropped;
        if request.body.len() > self.max_bytes {
            queued.dropped += 1;
        } else {
            while queued.bytes + request.body.len() > self.max_bytes {
                let Some(oldest) = queued.requests.pop_front() else { break };
                queued.bytes -= oldest.body.len();
                queued.dropped += 1;
            }
            queued.bytes += request.body.len();
            queued.requests.push_back(request);
        }
        let dropped = queued.dropped - before;
        drop(queued);
        if let Some(listener) = &self.dropped {
            (0..dropped).for_each(|_| listener());
        }
        self.arrived.notify_one();
    }

    /// The oldest request, waiting for one.
    pub async fn next(&self) -> PushRequest {
        loop {
            let arrived = self.arrived.notified();
            if let Some(request) = self.pop() {
                return request;
            }
            arrived.await;
        }
    }

    /// The oldest request, unless it belongs to a later push than
    /// requests still in flight.
    fn pop(&self) -> Option<PushRequest> {
        let mut queued = self.lock();
        let push = queued.requests.front()?.push;
        if queued.in_flight > 0 && push != queued.in_flight_push {
            return None;
        }
        let request = queued.requests.pop_front()?;
        queued.bytes -= request.body.len();
        queued.in_flight += 1;
        queued.in_flight_push = push;
        Some(request)
    }

    /// A sender is done with a request [`RequestQueue::next`] gave it
    /// (sent or given up).
    pub fn done(&self) {
        let mut queued = self.lock();
        queued.in_flight = queued.in_flight.saturating_sub(1);
        if queued.in_flight == 0 {
            // Senders held back by the push barrier may go on.
            self.arrived.notify_waiters();
            if queued.requests.is_empty() {
                self.settled.notify_waiters();
            }
        }
    }

    /// Waits until every queued request is done.
    pub async fn settled(&self) {
        loop {
            // Created before the check: notify_waiters reaches it unpolled.
            let settled = self.settled.notified();
            {
                let queued = self.lock();
                if queued.requests.is_empty() && queued.in_flight == 0 {
                    return;
                }
            }
            settled.await;
        }
    }

    /// Bytes queued and requests dropped so far.
    pub fn levels(&self) -> (usize, u64) {
        let queued = self.lock();
        (queued.bytes, queued.dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(bytes: Vec<u8>) -> PushRequest {
        PushRequest { body: Bytes::from(bytes), protocol: PushProtocol::RemoteWrite1, content_type: None, push: 0, samples: None }
    }

    #[test]
    fn over_the_budget_the_oldest_requests_go_first() {
        let queue = RequestQueue::new(10);
        for byte in [1u8, 2, 3] {
            queue.push(request(vec![byte; 4]));
        }
        // 12 bytes would not fit: the first went.
        assert_eq!(queue.levels(), (8, 1));
        queue.push(request(vec![9u8; 11]));
        assert_eq!(queue.levels(), (8, 2), "larger than the whole budget: dropped itself");
        assert_eq!(queue.pop().unwrap().body[0], 2);
        assert_eq!(queue.pop().unwrap().body[0], 3);
        assert!(queue.pop().is_none());
    }

    #[test]
    fn senders_take_requests_of_one_push_at_a_time() {
        let queue = RequestQueue::new(1 << 20);
        for (byte, push) in [(1u8, 7), (2, 7), (3, 8)] {
            queue.push(PushRequest { push, ..request(vec![byte]) });
        }
        let (first, second) = (queue.pop().unwrap(), queue.pop().unwrap());
        assert_eq!((first.body[0], second.body[0]), (1, 2), "two senders share push 7");
        assert!(queue.pop().is_none(), "push 8 waits while push 7 is in flight");
        queue.done();
        assert!(queue.pop().is_none(), "one request of push 7 is still in flight");
        queue.done();
        assert_eq!(queue.pop().unwrap().body[0], 3);
    }
}
