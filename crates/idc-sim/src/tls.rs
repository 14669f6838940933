//! HTTPS for the simulated EKS cluster: kubectl (client-go) sends no credentials to an API
//! server over plain HTTP, so the cluster is served over TLS with a certificate made at start
//! for 127.0.0.1 and localhost, whose PEM the simulator announces (`ROLECALL_EKS_CA_DATA`,
//! base64, as `aws eks describe-cluster` gives `certificateAuthority.data`).

use std::sync::Arc;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A certificate and the server configuration that presents it.
pub struct ServerCert {
    pub pem: String,
    pub config: Arc<rustls::ServerConfig>,
}

pub fn self_signed() -> Result<ServerCert, String> {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .map_err(|e| format!("cannot make a certificate: {e}"))?;
    let cert: CertificateDer<'static> = made.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.key_pair.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .map_err(|e| format!("cannot use the certificate: {e}"))?;
    Ok(ServerCert {
        pem: made.cert.pem(),
        config: Arc::new(config),
    })
}

/// Serves `app` over TLS on `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, config: Arc<rustls::ServerConfig>, app: Router) {
    let acceptor = TlsAcceptor::from(config);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) =
                tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp))
                    .await
            else {
                return;
            };
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                .await;
        });
    }
}
