//! How many renders may run at once. A slot is taken before a render starts
//! and given back when its task ends; beyond the bound a scrape is refused
//! (`503`), never queued behind renders that are working. The one wait is
//! `shared_render`'s: a scrape that finds every slot held by
//! renders stalled on their clients takes one of those slots back.
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The render slots of one server.
#[derive(Clone, Debug)]
pub struct RenderSlots {
    permits: Arc<Semaphore>,
    limit: usize,
}

/// One running render's slot; dropping it gives the slot back.
#[derive(Debug)]
pub struct RenderSlot(#[allow(dead_code)] OwnedSemaphorePermit);

impl RenderSlots {
    /// `limit` renders at once (at least one).
    pub fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        RenderSlots { permits: Arc::new(Semaphore::new(limit)), limit }
    }

    /// How many renders may run at once.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A slot if one is free now.
    pub fn try_take(&self) -> Option<RenderSlot> {
        Arc::clone(&self.permits).try_acquire_owned().ok().map(RenderSlot)
    }

    /// A slot if one is free within `wait`.
    pub async fn take_within(&self, wait: Duration) -> Option<RenderSlot> {
        tokio::time::timeout(wait, Arc::clone(&self.permits).acquire_owned()).await.ok()?.ok().map(RenderSlot)
    }
}
