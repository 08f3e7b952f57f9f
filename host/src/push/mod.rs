//! Push: the same snapshots, rendered by the same sandboxed components,
//! sent to the engines fleets run. Each `[[push]]` endpoint renders its
//! push format (`remote-write-1`: delimited `WriteRequest`s written by the
//! renderer) every interval through the [`RenderService`](crate::render_service::RenderService), and a sender
//! compresses, sends and retries the requests from a bounded queue, so a
//! slow or dead receiver holds no render slot and never touches scrapes.
//!
//! - [`settings`]: the `[[push]]` tables, checked before start-up.
//! - [`queue`]: the bounded queue of compressed requests (drop oldest).
//! - [`pusher`]: the render and send loops of one endpoint, its status.
//! - [`http_post`]: one bounded POST.
//! - `stale`: remote write's stale markers for series gone since the last push.
//! - `sample_count`: the samples of an encoded request (for the counts).
pub mod http_post;
pub mod pusher;
pub mod queue;
mod sample_count;
pub mod settings;
mod stale;

pub use pusher::{PushStatus, Pushers};
pub use settings::{PushArgs, PushSettings};
