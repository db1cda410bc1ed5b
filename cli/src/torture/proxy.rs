//! The latency fault: a userspace TCP proxy that delays every segment it forwards.
//!
//! In the target node's namespace an nftables NAT rule (table `ip trt_proxy`) redirects TCP
//! arriving on `eth0` for the node's service port to the proxy's port; the proxy, whose
//! sockets live in that namespace (a thread of its own that `setns`-es into it and runs a
//! current-thread runtime), forwards to `NODE_IP:PORT`. Its own connections are local output,
//! which never passes prerouting, so they are not redirected again. conntrack keeps
//! connections established before the rule on their old path, so once the rule is in place
//! the node's established connections on that port are reset (`ss -K`, except the proxy's
//! own): clients (e.g. gateways' pooled connections) reconnect, through the proxy.
//!
//! Each chunk read from one side is written to the other `delay ± jitter` after it arrived,
//! never before an earlier chunk of the same direction (order is kept); an EOF is forwarded
//! (half-close) after the data before it; an error on either side closes both.

use super::net::sh;
use anyhow::{anyhow, Context, Result};
use rand::Rng;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// The NAT table the redirect rule lives in.
pub const TABLE: &str = "trt_proxy";
/// The proxy listens on the service port plus this.
pub const PORT_OFFSET: u16 = 10_000;
/// Largest chunk read at once.
const CHUNK: usize = 64 * 1024;
/// Chunks in flight per direction (back-pressure beyond that).
const QUEUE: usize = 64;

/// How long each forwarded chunk waits: `base` plus a uniform jitter in `±jitter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delay {
    pub base: Duration,
    pub jitter: Duration,
}

impl Delay {
    fn sample(&self) -> Duration {
        if self.jitter.is_zero() {
            return self.base;
        }
        let j = self.jitter.as_micros() as i64;
        let off = rand::thread_rng().gen_range(-j..=j);
        let us = (self.base.as_micros() as i64 + off).max(0);
        Duration::from_micros(us as u64)
    }
}

/// Accepts on `listener` and relays each connection to `upstream` with `delay` (counting
/// them in `relayed`), until `stop` resolves; then every relayed connection is closed.
pub async fn serve(
    listener: TcpListener,
    upstream: SocketAddr,
    delay: Delay,
    relayed: Arc<AtomicU64>,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut relays = tokio::task::JoinSet::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else {
                    // E.g. out of descriptors: do not spin.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                relayed.fetch_add(1, Ordering::Relaxed);
                relays.spawn(async move {
                    let _ = client.set_nodelay(true);
                    // Connect failure: dropping the client closes it, as the server would.
                    let Ok(server) = TcpStream::connect(upstream).await else { return };
                    let _ = server.set_nodelay(true);
                    relay(client, server, delay).await;
                });
            }
            Some(_) = relays.join_next(), if !relays.is_empty() => {}
        }
    }
    relays.shutdown().await;
}

/// Relays both directions of one connection; returns once both are done or one failed.
async fn relay(client: TcpStream, server: TcpStream, delay: Delay) {
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    // An error in either direction ends both (dropping the halves closes the sockets).
    let _ = tokio::try_join!(pipe(cr, sw, delay), pipe(sr, cw, delay));
}

/// Copies `from` to `to`, each chunk `delay` late and in order, then half-closes `to`.
async fn pipe(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    delay: Delay,
) -> std::io::Result<()> {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(QUEUE);
    let reader = async move {
        let mut last = Instant::now();
        loop {
            let mut buf = vec![0u8; CHUNK];
            let n = from.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            buf.truncate(n);
            // Never due before the chunk ahead of it: the writer sends in order anyway.
            let due = (Instant::now() + delay.sample()).max(last);
            last = due;
            if tx.send((due, buf)).await.is_err() {
                return Ok(());
            }
        }
    };
    let writer = async move {
        while let Some((due, buf)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            to.write_all(&buf).await?;
        }
        to.shutdown().await
    };
    tokio::try_join!(reader, writer).map(|_| ())
}

/// A proxy running in a namespace, and its redirect rule. [`Proxy::stop`] (or drop) stops
/// the proxy, closing the connections it relays, and then removes the rule.
pub struct Proxy {
    netns: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    relayed: Arc<AtomicU64>,
}

impl Proxy {
    /// Starts a proxy in namespace `netns` in front of `service` (the node's `IP:PORT`),
    /// redirects new connections to it and resets the established ones.
    pub fn start(netns: &str, service: SocketAddr, delay: Delay) -> Result<Proxy> {
        let port = service
            .port()
            .checked_add(PORT_OFFSET)
            .ok_or_else(|| anyhow!("no proxy port above {}", service.port()))?;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<()>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let ns = netns.to_string();
        let relayed = Arc::new(AtomicU64::new(0));
        let counter = relayed.clone();
        let thread = std::thread::Builder::new()
            .name(format!("proxy-{netns}"))
            .spawn(move || {
                let bound = enter_netns(&ns).and_then(|rt| {
                    let l = rt
                        .block_on(TcpListener::bind(("0.0.0.0", port)))
                        .with_context(|| format!("binding the proxy port {port} in {ns}"))?;
                    Ok((rt, l))
                });
                let (rt, listener) = match bound {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                rt.block_on(serve(listener, service, delay, counter, async {
                    let _ = stop_rx.await;
                }));
            })
            .context("spawning the proxy thread")?;
        let mut proxy = Proxy {
            netns: netns.to_string(),
            stop: Some(stop_tx),
            thread: Some(thread),
            relayed,
        };
        ready_rx
            .recv()
            .map_err(|_| anyhow!("the proxy thread died"))??;
        proxy.redirect(service.port(), port)?;
        // The proxy's own upstream connections come from the node's address: spare them.
        let filter = format!(
            "( sport = :{} ) and not dst {}",
            service.port(),
            service.ip()
        );
        let reset = sh(
            "ip",
            &[
                "netns",
                "exec",
                netns,
                "ss",
                "-K",
                "-t",
                "state",
                "established",
                &filter,
            ],
        );
        // Without it (no `ss`, or a kernel without sock_destroy) only new connections are
        // delayed: worth a warning, not a failed scenario.
        if let Err(e) = reset {
            eprintln!("  warning: cannot reset the connections into {netns}: {e:#}");
        }
        Ok(proxy)
    }

    fn redirect(&mut self, from: u16, to: u16) -> Result<()> {
        super::nft::run_script(&self.netns, &redirect_rules(from, to))
            .map_err(|e| anyhow!("nft in {} refused the redirect: {e:#}", self.netns))
    }

    /// How many connections the proxy has relayed so far.
    pub fn relayed(&self) -> u64 {
        self.relayed.load(Ordering::Relaxed)
    }

    /// Stops the proxy (closing the connections it relays), then removes the redirect.
    ///
    /// In this order because removing the last NAT rule makes the kernel forget the NAT of
    /// every connection it redirected: a FIN the proxy sent after that would leave from the
    /// proxy's port untranslated, the client would never see it and would wait for an answer
    /// until its own timeout. Connections attempted in between are refused (no listener on
    /// the proxy port), which clients retry at once.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = sh(
            "ip",
            &[
                "netns",
                "exec",
                &self.netns,
                "nft",
                "delete",
                "table",
                "ip",
                TABLE,
            ],
        );
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The nft script redirecting TCP that arrives on `eth0` for port `from` to port `to`.
pub fn redirect_rules(from: u16, to: u16) -> String {
    format!(
        "table ip {TABLE} {{\n  chain pre {{\n    type nat hook prerouting priority dstnat; \
         policy accept;\n    iifname \"eth0\" tcp dport {from} redirect to :{to}\n  }}\n}}\n"
    )
}

/// Moves this thread into network namespace `ns` and builds a runtime for it.
fn enter_netns(ns: &str) -> Result<tokio::runtime::Runtime> {
    let path = format!("/run/netns/{ns}");
    let f = std::fs::File::open(&path).with_context(|| format!("opening {path}"))?;
    // SAFETY: setns(2) on a namespace fd we hold; it affects only the calling thread.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(anyhow!(
            "setns into {ns}: {}",
            std::io::Error::last_os_error()
        ));
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the proxy runtime")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server on 127.0.0.1: returns what it reads, closes its side at EOF.
    async fn echo() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                    let _ = w.shutdown().await;
                });
            }
        });
        addr
    }

    async fn proxy(delay: Delay) -> (SocketAddr, oneshot::Sender<()>) {
        let upstream = echo().await;
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let relayed = Arc::new(AtomicU64::new(0));
        tokio::spawn(serve(l, upstream, delay, relayed, async {
            let _ = rx.await;
        }));
        (addr, tx)
    }

    #[tokio::test]
    async fn delays_each_direction_keeps_order_and_forwards_eof() {
        let delay = Delay {
            base: Duration::from_millis(50),
            jitter: Duration::from_millis(20),
        };
        let (addr, _stop) = proxy(delay).await;
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.set_nodelay(true).expect("nodelay");
        let start = std::time::Instant::now();
        s.write_all(b"ping").await.expect("write");
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await.expect("read");
        assert_eq!(&buf, b"ping");
        // Both directions are delayed: at least 2 * (50 - 20) ms.
        assert!(
            start.elapsed() >= Duration::from_millis(60),
            "{:?}",
            start.elapsed()
        );
        // Many small writes with jittered delays still arrive in order.
        let mut sent = Vec::new();
        for i in 0..200u32 {
            let b = i.to_be_bytes();
            s.write_all(&b).await.expect("write");
            sent.extend_from_slice(&b);
        }
        s.shutdown().await.expect("shutdown");
        let mut back = Vec::new();
        s.read_to_end(&mut back).await.expect("read to EOF");
        assert_eq!(back, sent);
    }

    #[tokio::test]
    async fn stopping_closes_relayed_connections() {
        let delay = Delay {
            base: Duration::from_millis(1),
            jitter: Duration::ZERO,
        };
        let (addr, stop) = proxy(delay).await;
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"x").await.expect("write");
        let mut one = [0u8; 1];
        s.read_exact(&mut one).await.expect("echo");
        stop.send(()).expect("stop");
        let mut rest = Vec::new();
        // Closed by the proxy: EOF or a reset, never a hang.
        let r = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut rest)).await;
        assert!(r.is_ok(), "the connection stayed open after stop");
    }

    #[test]
    fn the_redirect_rule_names_both_ports() {
        let s = redirect_rules(7100, 17100);
        assert!(s.starts_with("table ip trt_proxy {\n"), "{s}");
        assert!(
            s.contains("type nat hook prerouting priority dstnat;"),
            "{s}"
        );
        assert!(
            s.contains("iifname \"eth0\" tcp dport 7100 redirect to :17100"),
            "{s}"
        );
    }

    #[test]
    fn jitter_stays_in_bounds() {
        let d = Delay {
            base: Duration::from_millis(10),
            jitter: Duration::from_millis(15),
        };
        for _ in 0..1000 {
            assert!(d.sample() <= Duration::from_millis(25));
        }
    }
}
