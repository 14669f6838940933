//! An IAM Identity Center simulator that real AWS clients accept: SSO OIDC, the access portal,
//! STS and the console federation endpoint, on one port with one path prefix per service.
//!
//! Tests start it in-process on port 0 with [`Simulator::start`]; the `idc-sim` binary serves the
//! same thing. It exists because no machine of this project can reach AWS, and it is the ground
//! every other crate is tested on: when it disagrees with a real AWS client, it is wrong.
//!
//! It must never log a secret: tokens and credentials travel in query strings, headers and
//! bodies, and the request log names only method, path, status and latency.

mod approval;
mod control;
mod ecr;
pub mod eks;
mod error;
mod federation;
mod html;
mod iam;
mod ids;
pub mod model;
mod oidc;
mod options;
pub mod org;
mod portal;
mod query;
mod registration;
mod server;
pub mod sigv4;
mod state;
mod sts;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

pub use options::SimOptions;
pub use org::{Account, Organisation, User};
pub use state::Stats;

/// Where each service of a running simulator answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    /// SSO OIDC (`AWS_ENDPOINT_URL_SSO_OIDC`).
    pub oidc: String,
    /// Access portal (`AWS_ENDPOINT_URL_SSO`).
    pub portal: String,
    /// STS (`AWS_ENDPOINT_URL_STS`).
    pub sts: String,
    /// IAM (`AWS_ENDPOINT_URL_IAM`).
    pub iam: String,
    /// Console federation (`ROLECALL_FEDERATION_URL`).
    pub federation: String,
    /// ECR's API (`AWS_ENDPOINT_URL_ECR`).
    pub ecr: String,
    /// The start URL that identifies this directory (`ROLECALL_START_URL`).
    pub start_url: String,
    /// The Kubernetes API of the simulated EKS cluster `demo`, over HTTPS
    /// (`ROLECALL_EKS_SERVER`).
    pub eks_server: String,
    /// Its certificate, PEM in base64 (`ROLECALL_EKS_CA_DATA`), for a kubeconfig's
    /// `certificate-authority-data`.
    pub eks_ca_data: String,
}

impl Endpoints {
    fn new(base: String, eks_base: String, eks_ca_data: String) -> Self {
        Self {
            oidc: format!("{base}/oidc"),
            portal: format!("{base}/portal"),
            sts: format!("{base}/sts"),
            iam: format!("{base}/iam"),
            federation: format!("{base}/federation"),
            ecr: format!("{base}/ecr"),
            start_url: format!("{base}/start"),
            eks_server: format!("{eks_base}/eks/{}", eks::CLUSTER),
            eks_ca_data,
            base,
        }
    }

    /// The lines a person pastes into a shell to point AWS tools and Rolecall here
    /// (`ROLECALL_START_URL` last: readers may stop at it).
    pub fn shell_exports(&self) -> String {
        format!(
            "export AWS_ENDPOINT_URL_SSO_OIDC={}\nexport AWS_ENDPOINT_URL_SSO={}\nexport AWS_ENDPOINT_URL_STS={}\nexport AWS_ENDPOINT_URL_ECR={}\nexport AWS_ENDPOINT_URL_IAM={}\nexport ROLECALL_FEDERATION_URL={}\nexport ROLECALL_EKS_SERVER={}\nexport ROLECALL_EKS_CA_DATA={}\nexport ROLECALL_START_URL={}\n",
            self.oidc,
            self.portal,
            self.sts,
            self.ecr,
            self.iam,
            self.federation,
            self.eks_server,
            self.eks_ca_data,
            self.start_url
        )
    }
}

/// A running simulator. Dropping it stops the server.
#[derive(Debug)]
pub struct Simulator {
    sim: Arc<state::Sim>,
    endpoints: Endpoints,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// The EKS cluster's HTTPS server.
    eks_task: tokio::task::JoinHandle<()>,
}

impl Simulator {
    /// Binds `options.addr` and serves until [`Simulator::stop`] or drop.
    pub async fn start(options: SimOptions) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(options.addr).await?;
        let addr = listener.local_addr()?;
        let base = format!("http://{addr}");
        let models = match &options.models {
            Some(dir) => Some(model::Models::cached(dir).map_err(std::io::Error::other)?),
            None => model::find_models_dir()
                .map(|dir| model::Models::cached(&dir))
                .transpose()
                .map_err(std::io::Error::other)?,
        };
        let mut sim = state::Sim::new(options, base.clone());
        sim.models = models;
        let sim = Arc::new(sim);
        let app = server::router(sim.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!("simulator stopped: {e}");
            }
        });
        let eks_listener = tokio::net::TcpListener::bind((addr.ip(), 0)).await?;
        let eks_addr = eks_listener.local_addr()?;
        let cert = tls::self_signed().map_err(std::io::Error::other)?;
        let eks_task = tokio::spawn(tls::serve(
            eks_listener,
            cert.config.clone(),
            eks::router(sim.clone()),
        ));
        let eks_ca_data = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(cert.pem.as_bytes())
        };
        Ok(Self {
            sim,
            eks_task,
            endpoints: Endpoints::new(base, format!("https://{eks_addr}"), eks_ca_data),
            addr,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn organisation(&self) -> &Organisation {
        &self.sim.opts.org
    }

    /// User codes waiting for the person's decision, oldest first.
    pub fn pending_user_codes(&self) -> Vec<String> {
        control::pending_codes(&self.sim)
    }

    /// Clicks "Allow access" for a user code, as the person would on the verification page.
    pub fn approve(&self, user_code: &str) -> Result<(), String> {
        approval::decide_device(&self.sim, user_code, true)
            .map(|_| ())
            .map_err(str::to_owned)
    }

    /// Clicks "Deny" for a user code.
    pub fn deny(&self, user_code: &str) -> Result<(), String> {
        approval::decide_device(&self.sim, user_code, false)
            .map(|_| ())
            .map_err(str::to_owned)
    }

    /// The next approval (a click or an auto-approval) becomes a denial.
    pub fn deny_next_approval(&self) {
        self.sim.ledger().deny_next = true;
    }

    /// Ends every sign-in session now; issued role credentials keep working until they expire.
    pub fn revoke_all_tokens(&self) {
        self.sim.ledger().revoke_all();
    }

    /// Fraction (0..1) of API requests answered with a 5xx from now on.
    pub fn set_fail_rate(&self, rate: f64) {
        self.sim.ledger().fail_rate = rate.clamp(0.0, 1.0);
    }

    /// Every secret value this simulator handed out and still remembers: client secrets,
    /// device codes, authorization codes, access and refresh tokens, role credentials' secret
    /// keys and session tokens, console sign-in tokens. Tests look for them where no secret may
    /// be (logs, files, process arguments).
    pub fn issued_secrets(&self) -> Vec<String> {
        issued_secrets(&self.sim)
    }

    /// A new long-term access key (`AKIA...`) for `user_name`, one of the `iam_users` of
    /// account `account_id` (what `POST /_sim/iam-keys` does for tests in other languages).
    pub fn create_iam_key(
        &self,
        account_id: &str,
        user_name: &str,
    ) -> Result<IamAccessKey, String> {
        let (id, key) = iam::create_key(&self.sim, account_id, user_name)?;
        Ok(IamAccessKey {
            access_key_id: id,
            user_arn: key.user_arn(),
            secret_access_key: key.secret_access_key,
        })
    }

    /// Whether IAM holds `access_key_id` as active (None: no such key).
    pub fn iam_key_active(&self, access_key_id: &str) -> Option<bool> {
        self.sim
            .ledger()
            .iam_keys
            .get(access_key_id)
            .map(|k| k.active)
    }

    /// Moves this simulator's clock forward: tokens, codes and credentials age by `by` at
    /// once (tests pair it with a fake clock on Rolecall's side).
    pub fn advance(&self, by: std::time::Duration) {
        self.sim.ahead_ms.fetch_add(
            u64::try_from(by.as_millis()).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::SeqCst,
        );
    }

    /// The simulator's time (the wall clock plus what [`Simulator::advance`] added).
    pub fn now(&self) -> std::time::SystemTime {
        self.sim.now()
    }

    /// The botocore models every request and answer is checked against, if any were found.
    pub fn models_dir(&self) -> Option<&std::path::Path> {
        self.sim.models.as_deref().map(|m| m.dir.as_path())
    }

    pub fn stats(&self) -> Stats {
        self.sim.ledger().stats.clone()
    }

    /// Stops serving and waits for the server task to end.
    pub async fn stop(mut self) {
        self.eks_task.abort();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.eks_task.abort();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Every secret `sim` handed out and still remembers (see [`Simulator::issued_secrets`]).
pub(crate) fn issued_secrets(sim: &state::Sim) -> Vec<String> {
    let ledger = sim.ledger();
    let mut out: Vec<String> = ledger
        .clients
        .values()
        .map(|r| registration::seal(&sim.opts.registration_key, r))
        .collect();
    out.extend(ledger.devices.keys().cloned());
    out.extend(ledger.auth_codes.keys().cloned());
    out.extend(ledger.access_tokens.keys().cloned());
    out.extend(ledger.refresh_tokens.keys().cloned());
    out.extend(ledger.signin_tokens.keys().cloned());
    out.extend(ledger.registry_passwords.keys().cloned());
    for c in ledger.credentials.values() {
        out.push(c.secret_access_key.clone());
        out.push(c.session_token.clone());
    }
    out.extend(
        ledger
            .iam_keys
            .values()
            .map(|k| k.secret_access_key.clone()),
    );
    out
}

/// A long-term access key of one of the organisation's IAM users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamAccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub user_arn: String,
}
