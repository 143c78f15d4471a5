//! What kube's watcher does not say: that a failed watch works again, and that a 410 is routine.
use http_body_util::BodyExt;
use kube::{Client, client::Body, runtime::watcher};

/// Whether a watch failed because its resourceVersion is too old (410 Gone, after the server
/// compacted its history): kube's watcher lists again by itself, so that is routine, not a
/// failure to report.
pub(super) fn expired(error: &watcher::Error) -> bool {
    matches!(error, watcher::Error::WatchError(status) if status.code == 410)
}

/// `client`, calling `accepted` each time the server accepts a watch. kube's watcher resumes a
/// lost watch without an event: this is how a watch that failed is known to work again.
pub(super) fn signalling_watches(
    client: Client,
    accepted: impl Fn() + Clone + Send + 'static,
) -> Client {
    let namespace = client.default_namespace().to_string();
    let service = tower::service_fn(move |request: http::Request<Body>| {
        let (client, accepted) = (client.clone(), accepted.clone());
        let watch =
            (request.uri().query().unwrap_or_default().split('&')).any(|p| p == "watch=true");
        async move {
            let response = client.send(request).await?;
            if watch && response.status().is_success() {
                accepted();
            }
            Ok::<_, kube::Error>(response.map(|body| body.map_err(unwrap_service)))
        }
    });
    Client::new(service, namespace)
}

/// A response body's error as the inner client got it, which the outer one wraps again.
fn unwrap_service(error: kube::Error) -> Box<dyn std::error::Error + Send + Sync> {
    match error {
        kube::Error::Service(error) => error,
        error => error.into(),
    }
}
