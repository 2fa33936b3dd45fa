//! The simulated cluster behind the Kubernetes REST API, so that kubectl, client libraries and
//! controllers talk to it as to a real API server. [`ApiServer`] is a `tower` service over HTTP
//! requests (a client can run against it in-process, with no socket), and [`run`] serves it
//! with HTTP/1.1 on a loopback address until interrupted, moving the simulator's clock with the
//! wall clock.
//!
//! It owns the HTTP side only: paths ([`request`]), discovery ([`discovery`]), verbs, watches
//! and patches ([`rest`]), server-side printing ([`table`]) and `Status` error bodies. What an
//! object becomes on a write (defaults, admission, field ownership, controllers) is the
//! simulator's (`cluster::sim`). It serves JSON only (no protobuf, no HTTP/2, no TLS: loopback
//! only), and no authentication or authorisation: every request is allowed.

pub mod discovery;
pub mod openapi;
pub mod protobuf;
pub mod request;
pub mod rest;
pub mod table;

use super::sim::SimCluster;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// The largest request body accepted (the API server's limit is 3 MiB for objects).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// How long the journal of changes is, for watches that resume.
const JOURNAL: usize = 100_000;

/// A response body: whole, or a stream of watch events.
pub enum Body {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Bytes>),
}

impl Body {
    pub fn full(b: impl Into<Bytes>) -> Body {
        Body::Full(Some(b.into()))
    }

    pub fn empty() -> Body {
        Body::Full(None)
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(http_body::Frame::data(b)))),
            Body::Stream(rx) => rx
                .poll_recv(cx)
                .map(|o| o.map(|b| Ok(http_body::Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            Body::Full(b) => {
                http_body::SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64))
            }
            Body::Stream(_) => http_body::SizeHint::default(),
        }
    }
}

/// How the served cluster's clock moves.
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    /// Only when told (in-process use: deterministic).
    Virtual,
    /// With the wall clock, this many times faster.
    Wall { scale: f64 },
}

struct Shared {
    sim: Mutex<SimCluster>,
    /// The resourceVersion after the last change; watches wait on it.
    changed: watch::Sender<u64>,
    clock: Clock,
    /// Wall time and virtual time when serving started.
    origin: (Instant, u64),
}

/// The simulated cluster as an API server. Cheap to clone: clones share one cluster.
#[derive(Clone)]
pub struct ApiServer {
    shared: Arc<Shared>,
}

impl ApiServer {
    pub fn new(mut sim: SimCluster, clock: Clock) -> ApiServer {
        sim.serve_api(JOURNAL);
        let rv = sim.resource_version();
        let origin = (Instant::now(), sim.time());
        ApiServer {
            shared: Arc::new(Shared {
                sim: Mutex::new(sim),
                changed: watch::channel(rv).0,
                clock,
                origin,
            }),
        }
    }

    /// The cluster, locked. Requests are served one at a time through this lock, so writes
    /// from several clients are serialised and none is lost.
    pub fn lock(&self) -> MutexGuard<'_, SimCluster> {
        self.shared
            .sim
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Moves the clock to the wall clock (in wall-clock mode), running the controllers.
    pub fn tick(&self) {
        if let Clock::Wall { scale } = self.shared.clock {
            let (wall, virt) = self.shared.origin;
            let target = virt + (wall.elapsed().as_secs_f64() * scale * 1000.0) as u64;
            let mut sim = self.lock();
            let now = sim.time();
            if target > now {
                crate::cluster::Cluster::sleep(&mut *sim, target - now);
            }
            let rv = sim.resource_version();
            drop(sim);
            self.notify(rv);
        }
    }

    fn notify(&self, rv: u64) {
        self.shared.changed.send_if_modified(|old| {
            let moved = *old != rv;
            *old = rv;
            moved
        });
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.changed.subscribe()
    }

    /// Answers one request.
    pub async fn handle(&self, req: Request<Bytes>) -> Response<Body> {
        self.tick();
        let response = rest::dispatch(self, req).await;
        let rv = self.lock().resource_version();
        self.notify(rv);
        response
    }

    /// The cluster, once every other handle to it is gone (after serving).
    pub fn into_sim(self) -> Option<SimCluster> {
        Arc::into_inner(self.shared).map(|s| s.sim.into_inner().unwrap_or_else(|p| p.into_inner()))
    }
}

/// A JSON response.
pub fn json_response(code: StatusCode, v: &Value) -> Response<Body> {
    let mut r = Response::new(Body::full(serde_json::to_vec(v).unwrap_or_default()));
    *r.status_mut() = code;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A `Status` failure body, as the API server writes one.
pub fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> Response<Body> {
    let mut v = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "code": code,
    });
    if !reason.is_empty() {
        v["reason"] = json!(reason);
    }
    if let Some(d) = details {
        v["details"] = d;
    }
    json_response(
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &v,
    )
}

impl<B> tower_service::Service<Request<B>> for ApiServer
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let server = self.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let bytes = match collect(body, MAX_BODY).await {
                Ok(b) => b,
                Err(response) => return Ok(response),
            };
            Ok(server.handle(Request::from_parts(parts, bytes)).await)
        })
    }
}

/// Reads a request body, refusing one larger than `limit` as the API server does.
async fn collect<B>(body: B, limit: usize) -> Result<Bytes, Response<Body>>
where
    B: http_body::Body,
{
    let mut body = std::pin::pin!(body);
    let mut out = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let Ok(frame) = frame else {
            return Err(status(
                400,
                "BadRequest",
                "the request body could not be read",
                None,
            ));
        };
        if let Ok(data) = frame.into_data() {
            let mut data = data;
            while bytes::Buf::has_remaining(&data) {
                let chunk = bytes::Buf::chunk(&data);
                out.extend_from_slice(chunk);
                let n = chunk.len();
                bytes::Buf::advance(&mut data, n);
            }
            if out.len() > limit {
                return Err(status(
                    413,
                    "RequestEntityTooLarge",
                    "Request entity too large: limit is 3145728",
                    None,
                ));
            }
        }
    }
    Ok(Bytes::from(out))
}

/// Serves `server` on `listen` until Ctrl-C (or `stop` resolves). `ready` is told the bound
/// address before the first request is accepted.
pub fn run(
    server: ApiServer,
    listen: SocketAddr,
    ready: impl FnOnce(SocketAddr),
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        ready(listener.local_addr()?);
        let ticker = {
            let server = server.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_millis(100));
                loop {
                    every.tick().await;
                    server.tick();
                }
            })
        };
        let mut stop = std::pin::pin!(stop);
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = &mut stop => break,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let server = server.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            let mut s = server.clone();
                            tower_service::Service::call(&mut s, req)
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        }
        ticker.abort();
        Ok(())
    })
}
