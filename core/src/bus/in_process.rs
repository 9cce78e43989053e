//! The bus of a single node: a broadcast channel per channel name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt;
use tokio::sync::broadcast;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

use super::{BusError, RawStream, SUBSCRIBER_BACKLOG};

#[derive(Clone, Default)]
pub struct InProcessBus {
    channels: Arc<Mutex<HashMap<String, broadcast::Sender<Arc<str>>>>>,
}

impl InProcessBus {
    fn sender(&self, channel: &str) -> broadcast::Sender<Arc<str>> {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        // Channels nobody listens to any more are forgotten, so the map stays the size of
        // what is watched.
        channels.retain(|_, sender| sender.receiver_count() > 0);
        channels
            .entry(channel.to_string())
            .or_insert_with(|| broadcast::channel(SUBSCRIBER_BACKLOG).0)
            .clone()
    }

    pub(super) fn publish_raw(&self, channel: &str, json: String) {
        let sender = {
            let channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
            channels.get(channel).cloned()
        };
        if let Some(sender) = sender {
            // No receiver left is not an error: nobody was listening.
            let _ = sender.send(Arc::from(json));
        }
    }

    pub(super) fn subscribe_raw(&self, channel: &str) -> RawStream {
        BroadcastStream::new(self.sender(channel).subscribe())
            .map(|message| match message {
                Ok(json) => Ok(json.to_string()),
                Err(BroadcastStreamRecvError::Lagged(missed)) => Err(BusError::Lagged(missed)),
            })
            .boxed()
    }
}
