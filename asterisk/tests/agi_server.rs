//! The FastAGI server over real TCP on loopback: routing, the allow-list, the session bound,
//! bad input, and a graceful drain.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do

use std::time::Duration;

use dialtone_asterisk::agi::{serve, Router, ServerConfig, TcpSession};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

struct Asterisk {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Asterisk {
    async fn connect(addr: std::net::SocketAddr, script: &str) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connects");
        let (r, mut w) = stream.into_split();
        let env = format!("agi_network: yes\nagi_network_script: {script}\nagi_request: agi://127.0.0.1/{script}\nagi_channel: Local/x-1;1\nagi_uniqueid: 1700000000.1\n\n");
        w.write_all(env.as_bytes()).await.expect("env");
        Self {
            reader: BufReader::new(r),
            writer: w,
        }
    }

    /// The next line from the server, or None when it closed the connection.
    async fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        match tokio::time::timeout(Duration::from_secs(5), self.reader.read_line(&mut line))
            .await
            .expect("no hang")
        {
            Ok(n) => (n > 0).then_some(line),
            // Closed with our environment unread: the peer resets rather than closes.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => None,
            Err(e) => panic!("reads: {e}"),
        }
    }

    async fn reply(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).await.expect("reply");
    }
}

async fn start(
    router: Router,
    config: ServerConfig,
) -> (std::net::SocketAddr, CancellationToken, JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(listener, router, config, shutdown.clone()));
    (addr, shutdown, server)
}

async fn echo_campaign(mut s: TcpSession) -> Result<(), dialtone_asterisk::agi::AgiError> {
    let campaign = s.env().script_param("campaign").unwrap_or_default();
    s.set_variable("CAMPAIGN", &campaign).await
}

#[tokio::test]
async fn routes_by_path_and_query() {
    let router = Router::new().route("outbound", echo_campaign);
    let (addr, shutdown, server) = start(router, ServerConfig::default()).await;
    let mut a = Asterisk::connect(addr, "outbound?campaign=7").await;
    assert_eq!(a.line().await.as_deref(), Some("SET VARIABLE CAMPAIGN 7\n"));
    a.reply("200 result=1\n").await;
    assert_eq!(
        a.line().await,
        None,
        "the handler finished and the server closed"
    );

    let mut b = Asterisk::connect(addr, "nowhere").await;
    assert_eq!(
        b.line().await.as_deref(),
        Some("SET VARIABLE DIALTONE_ERROR \"no route for 'nowhere'\"\n")
    );
    b.reply("200 result=1\n").await;
    assert_eq!(b.line().await, None);
    shutdown.cancel();
    assert_eq!(server.await.expect("server"), 0);
}

#[tokio::test]
async fn bad_input_ends_that_session_only() {
    let router = Router::new().route("outbound", echo_campaign);
    let (addr, shutdown, server) = start(router, ServerConfig::default()).await;
    for garbage in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        b"agi_channel: x\nnot an env line\n\n",
        &[b'x'; 100_000][..],
    ] {
        let mut stream = TcpStream::connect(addr).await.expect("connects");
        let _ = stream.write_all(garbage).await;
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::io::AsyncReadExt::read(&mut stream, &mut buf),
        )
        .await
        .expect("closed in time");
        assert!(
            matches!(n, Ok(0) | Err(_)),
            "the server closes a garbage session"
        );
    }
    // A half-closed socket in the middle of the environment.
    let mut half = TcpStream::connect(addr).await.expect("connects");
    half.write_all(b"agi_channel: x\n").await.expect("writes");
    half.shutdown().await.expect("half-closes");
    let mut a = Asterisk::connect(addr, "outbound?campaign=9").await;
    assert_eq!(
        a.line().await.as_deref(),
        Some("SET VARIABLE CAMPAIGN 9\n"),
        "others carry on"
    );
    a.reply("200 result=1\n").await;
    shutdown.cancel();
    server.await.expect("server");
}

#[tokio::test]
async fn peers_outside_the_allow_list_are_closed() {
    let config = ServerConfig {
        allow: vec!["10.0.0.0/8".parse().expect("net")],
        ..ServerConfig::default()
    };
    let (addr, shutdown, server) =
        start(Router::new().route("outbound", echo_campaign), config).await;
    let mut a = Asterisk::connect(addr, "outbound?campaign=1").await;
    assert_eq!(a.line().await, None);
    shutdown.cancel();
    server.await.expect("server");
}

#[tokio::test]
async fn sessions_beyond_the_bound_are_refused_and_shutdown_drains() {
    let config = ServerConfig {
        max_sessions: 1,
        ..ServerConfig::default()
    };
    let (addr, shutdown, server) =
        start(Router::new().route("outbound", echo_campaign), config).await;
    let mut first = Asterisk::connect(addr, "outbound?campaign=1").await;
    assert_eq!(
        first.line().await.as_deref(),
        Some("SET VARIABLE CAMPAIGN 1\n"),
        "in flight"
    );
    let mut second = Asterisk::connect(addr, "outbound?campaign=2").await;
    assert_eq!(second.line().await, None, "over the bound");

    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !server.is_finished(),
        "shutdown waits for the session in flight"
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no new sessions after shutdown"
    );
    first.reply("200 result=1\n").await;
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("drains")
            .expect("server"),
        0
    );
}
