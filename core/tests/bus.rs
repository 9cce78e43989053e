//! The event bus, in process and through a real Redis (REDIS_URL, as scripts/test sets it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do

use std::time::Duration;

use dialtone_core::bus::{Bus, BusError};
use dialtone_core::config::Secret;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AgentState {
    agent: String,
    state: String,
}

async fn next<T>(
    stream: &mut (impl futures::Stream<Item = Result<T, BusError>> + Unpin),
) -> Result<T, BusError> {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("an event within 5 s")
        .expect("stream open")
}

async fn delivers_to_every_subscriber_of_the_channel_only(bus: Bus) {
    let channel = format!("campaign.{}", std::process::id());
    let mut first = bus
        .subscribe::<AgentState>(&channel)
        .await
        .expect("subscribes");
    let mut second = bus
        .subscribe::<AgentState>(&channel)
        .await
        .expect("subscribes");
    let mut other = bus
        .subscribe::<AgentState>("elsewhere")
        .await
        .expect("subscribes");
    let event = AgentState {
        agent: "ana".into(),
        state: "ready".into(),
    };
    bus.publish(&channel, &event).await.expect("publishes");
    bus.publish(
        &channel,
        &AgentState {
            agent: "ana".into(),
            state: "paused".into(),
        },
    )
    .await
    .expect("publishes");
    assert_eq!(next(&mut first).await.expect("event"), event);
    assert_eq!(next(&mut second).await.expect("event"), event);
    assert_eq!(
        next(&mut first).await.expect("event").state,
        "paused",
        "in order"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(200), other.next())
            .await
            .is_err(),
        "nothing on another channel"
    );

    bus.publish(&channel, &"not an agent state")
        .await
        .expect("publishes");
    assert!(
        matches!(next(&mut first).await, Err(BusError::Decode { .. })),
        "a bad event is an error, not the end"
    );
}

#[tokio::test]
async fn in_process_bus() {
    delivers_to_every_subscriber_of_the_channel_only(Bus::from_config(None).await.expect("bus"))
        .await;
}

#[tokio::test]
async fn in_process_bus_tells_a_slow_subscriber_what_it_missed() {
    let bus = Bus::from_config(None).await.expect("bus");
    let mut slow = bus.subscribe::<u32>("busy").await.expect("subscribes");
    for i in 0..(dialtone_core::bus::SUBSCRIBER_BACKLOG as u32 + 10) {
        bus.publish("busy", &i).await.expect("publishes");
    }
    assert!(matches!(next(&mut slow).await, Err(BusError::Lagged(10))));
    assert_eq!(next(&mut slow).await.expect("resumes"), 10);
}

#[tokio::test]
async fn redis_bus() {
    let url = std::env::var("REDIS_URL")
        .expect("REDIS_URL: run the tests through scripts/test, which starts Redis");
    let bus = Bus::from_config(Some(&Secret::new(url)))
        .await
        .expect("connects to Redis");
    delivers_to_every_subscriber_of_the_channel_only(bus).await;
}

#[tokio::test]
async fn unreachable_redis_is_a_clear_error() {
    let err = Bus::from_config(Some(&Secret::new("redis://127.0.0.1:1")))
        .await
        .err()
        .expect("fails");
    assert!(matches!(err, BusError::Redis(_)), "{err}");
}
