//! A scripted API server for tests: a kube `Client` on a tower-test mock whose requests the test
//! answers one by one (lists, watches that stream events and end or break, error statuses), for
//! the failure paths a real server does not produce on demand.
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use kube::{Client, client::Body};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tower_test::mock;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Reply = Response<UnsyncBoxBody<Bytes, BoxError>>;

/// How long a test waits for a request before it fails.
const PATIENCE: Duration = Duration::from_secs(60);

/// A client whose server is the returned [`ApiServer`].
pub fn client() -> (Client, ApiServer) {
    let (service, handle) = mock::pair::<Request<Body>, Reply>();
    let server = ApiServer {
        handle,
        idle: Vec::new(),
    };
    (Client::new(service, "default"), server)
}

pub struct ApiServer {
    handle: mock::Handle<Request<Body>, Reply>,
    /// The watches answered in passing, held open and silent.
    idle: Vec<Watch>,
}

impl ApiServer {
    /// The next request for `path`. Requests for other paths are answered meanwhile as by a
    /// server without such objects: an empty list, a watch that stays open and silent.
    pub async fn next(&mut self, path: &str) -> Call {
        let wait = async {
            loop {
                let (request, send) = self.handle.next_request().await.expect("no client");
                let call = Call { request, send };
                if call.path() == path {
                    return call;
                }
                if call.is_watch() {
                    self.idle.push(call.open_watch(Vec::new()));
                } else {
                    call.list("1", Vec::new());
                }
            }
        };
        tokio::time::timeout(PATIENCE, wait)
            .await
            .unwrap_or_else(|_| panic!("no request for {path}"))
    }

    /// The next request for `path`, which must be a list.
    pub async fn list(&mut self, path: &str) -> Call {
        let call = self.next(path).await;
        assert!(!call.is_watch(), "a list expected: {}", call.request.uri());
        call
    }

    /// The next request for `path`, which must be a watch.
    pub async fn watch(&mut self, path: &str) -> Call {
        let call = self.next(path).await;
        assert!(call.is_watch(), "a watch expected: {}", call.request.uri());
        call
    }
}

/// A request to answer.
pub struct Call {
    request: Request<Body>,
    send: mock::SendResponse<Reply>,
}

impl Call {
    pub fn path(&self) -> &str {
        self.request.uri().path()
    }

    /// A query parameter, decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        let query = self.request.uri().query()?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    pub fn is_watch(&self) -> bool {
        self.query("watch").as_deref() == Some("true")
    }

    /// Answers a list: `items` at `resource_version`.
    pub fn list(self, resource_version: &str, items: Vec<Value>) {
        let list = json!({
            "apiVersion": "v1",
            "kind": "List",
            "metadata": {"resourceVersion": resource_version},
            "items": items,
        });
        self.reply(StatusCode::OK, list);
    }

    /// Answers with an error status, as the server does for a refused request.
    pub fn status(self, code: u16, reason: &str, message: &str) {
        let code = StatusCode::from_u16(code).unwrap();
        self.reply(code, status(code.as_u16(), reason, message));
    }

    /// The connection fails before any answer (a server that is down).
    pub fn refuse(self) {
        self.send.send_error(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        ));
    }

    /// Answers a watch with `events`, then ends it as the server does at its timeout.
    pub fn watch(self, events: Vec<Value>) {
        drop(self.open_watch(events));
    }

    /// Answers a watch with `events` and keeps it open for more.
    pub fn open_watch(self, events: Vec<Value>) -> Watch {
        let (sender, receiver) = mpsc::unbounded_channel::<Result<Bytes, BoxError>>();
        let frames = UnboundedReceiverStream::new(receiver).map(|chunk| chunk.map(Frame::data));
        let body = StreamBody::new(frames).boxed_unsync();
        self.send.send_response(Response::new(body));
        let watch = Watch(sender);
        for event in events {
            watch.send(event);
        }
        watch
    }

    fn reply(self, code: StatusCode, body: Value) {
        let bytes = Bytes::from(serde_json::to_vec(&body).unwrap());
        let body = Full::new(bytes)
            .map_err(|never| match never {})
            .boxed_unsync();
        let mut response = Response::new(body);
        *response.status_mut() = code;
        self.send.send_response(response);
    }
}

/// An open watch; dropping it ends it.
pub struct Watch(mpsc::UnboundedSender<Result<Bytes, BoxError>>);

impl Watch {
    pub fn send(&self, event: Value) {
        let mut line = serde_json::to_vec(&event).unwrap();
        line.push(b'\n');
        // The client may have let go of the watch already.
        let _ = self.0.send(Ok(line.into()));
    }

    /// The connection breaks (reset, not a clean end).
    pub fn break_off(self) {
        let error = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset");
        let _ = self.0.send(Err(error.into()));
    }
}

/// A watch event: `ADDED`, `MODIFIED` or `DELETED` with its object.
pub fn event(kind: &str, object: &Value) -> Value {
    json!({"type": kind, "object": object})
}

/// A bookmark: the watch has seen everything up to `resource_version`.
pub fn bookmark(api_version: &str, kind: &str, resource_version: &str) -> Value {
    json!({"type": "BOOKMARK", "object": {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"resourceVersion": resource_version},
    }})
}

/// The event by which the server says the watch's resourceVersion is too old to resume from.
pub fn expired() -> Value {
    let gone = status(410, "Expired", "too old resource version: 10 (25)");
    json!({"type": "ERROR", "object": gone})
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}
