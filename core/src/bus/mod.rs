//! The event bus: how one part of Dialtone tells the others that something happened (an agent
//! went ready, a call was answered, an import made progress).
//!
//! Messages are JSON on named channels. One node alone uses [`InProcessBus`]; several nodes
//! share [`RedisBus`] (Redis pub/sub). Both behave the same to their users: delivery to the
//! subscribers present at publish time, at most once, in order per publisher; a subscriber
//! that falls too far behind is told how many messages it missed rather than slowing the rest.

mod in_process;
mod redis_bus;

use futures::stream::BoxStream;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use in_process::InProcessBus;
pub use redis_bus::RedisBus;

use crate::config::Secret;

/// Messages a slow subscriber may have waiting before it starts missing some.
pub const SUBSCRIBER_BACKLOG: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("cannot encode the event: {0}")]
    Encode(serde_json::Error),
    #[error("an event on '{channel}' could not be read: {source}")]
    Decode {
        channel: String,
        source: serde_json::Error,
    },
    #[error("the subscriber fell behind and missed {0} events")]
    Lagged(u64),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

/// Raw messages of one channel subscription.
pub type RawStream = BoxStream<'static, Result<String, BusError>>;

/// The bus of this node: Redis when configured, else in-process.
#[derive(Clone)]
pub enum Bus {
    InProcess(InProcessBus),
    Redis(RedisBus),
}

impl Bus {
    pub async fn from_config(redis_url: Option<&Secret>) -> Result<Self, BusError> {
        Ok(match redis_url {
            Some(url) => Bus::Redis(RedisBus::connect(url).await?),
            None => Bus::InProcess(InProcessBus::default()),
        })
    }

    /// Sends `event` to every current subscriber of `channel`.
    pub async fn publish<T: Serialize>(&self, channel: &str, event: &T) -> Result<(), BusError> {
        let json = serde_json::to_string(event).map_err(BusError::Encode)?;
        match self {
            Bus::InProcess(bus) => {
                bus.publish_raw(channel, json);
                Ok(())
            }
            Bus::Redis(bus) => bus.publish_raw(channel, json).await,
        }
    }

    /// Events published on `channel` from now on, decoded as `T`.
    pub async fn subscribe<T: DeserializeOwned + Send + 'static>(
        &self,
        channel: &str,
    ) -> Result<BoxStream<'static, Result<T, BusError>>, BusError> {
        let raw = match self {
            Bus::InProcess(bus) => bus.subscribe_raw(channel),
            Bus::Redis(bus) => bus.subscribe_raw(channel).await?,
        };
        let channel = channel.to_string();
        Ok(raw
            .map(move |message| {
                message.and_then(|json| {
                    serde_json::from_str(&json).map_err(|source| BusError::Decode {
                        channel: channel.clone(),
                        source,
                    })
                })
            })
            .boxed())
    }
}
