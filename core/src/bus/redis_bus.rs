//! The bus between nodes: Redis pub/sub. Each subscription has its own connection, as Redis
//! requires of a subscribed client; publishing shares one multiplexed connection.

use futures::StreamExt;
use redis::aio::MultiplexedConnection;
use redis::AsyncCommands;

use super::{BusError, RawStream};
use crate::config::Secret;

#[derive(Clone)]
pub struct RedisBus {
    client: redis::Client,
    publisher: MultiplexedConnection,
}

impl RedisBus {
    pub async fn connect(url: &Secret) -> Result<Self, BusError> {
        let client = redis::Client::open(url.expose())?;
        let publisher = client.get_multiplexed_async_connection().await?;
        Ok(Self { client, publisher })
    }

    pub(super) async fn publish_raw(&self, channel: &str, json: String) -> Result<(), BusError> {
        let mut connection = self.publisher.clone();
        let _receivers: i64 = connection.publish(channel, json).await?;
        Ok(())
    }

    pub(super) async fn subscribe_raw(&self, channel: &str) -> Result<RawStream, BusError> {
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok(pubsub
            .into_on_message()
            .map(|message| message.get_payload::<String>().map_err(BusError::from))
            .boxed())
    }
}
