//! Running a service beside its status listener (`/healthz`, `/readyz`, `/metrics`, kept off
//! the public port): the broker and the proxy both run two actix servers that live and stop
//! together.

use actix_web::dev::Server;

/// Drives `public` and `status` until `public` stops, then stops `status` (gracefully). An
/// actix `Server` only runs while it is polled, so both are polled together here. A failure of
/// the status listener is logged; the public server's outcome is returned.
pub async fn run_with_status(public: Server, status: Server) -> std::io::Result<()> {
    let handle = status.handle();
    let public = async {
        let out = public.await;
        handle.stop(true).await;
        out
    };
    let (out, status_out) = tokio::join!(public, status);
    if let Err(e) = status_out {
        tracing::warn!(error = %e, "status listener failed");
    }
    out
}
