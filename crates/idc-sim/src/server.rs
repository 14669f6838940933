//! The HTTP front door: one port, one path prefix per service, and the layer every API request
//! passes through (portal throttling, added latency, injected 5xx faults, a log line).
//!
//! The log line names method, path, status and latency only: query strings and bodies carry
//! tokens and credentials, so they are never logged.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::error::{OidcError, PortalError, StsError};
use crate::state::Sim;
use crate::{approval, control, ecr, federation, oidc, portal, sts};

/// Which service an API path belongs to; pages and control routes are none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Oidc,
    Portal,
    Sts,
    Federation,
}

impl Service {
    fn of(path: &str) -> Option<Self> {
        match path {
            "/oidc/client/register" | "/oidc/device_authorization" | "/oidc/token" => {
                Some(Self::Oidc)
            }
            "/sts" | "/sts/" => Some(Self::Sts),
            "/federation" => Some(Self::Federation),
            p if p.starts_with("/portal/") => Some(Self::Portal),
            _ => None,
        }
    }

    fn injected_fault(self) -> Response {
        match self {
            Self::Oidc => OidcError::internal().into_response(),
            Self::Portal => PortalError::internal().into_response(),
            Self::Sts => StsError::internal().into_response(),
            Self::Federation => (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "Injected server fault\n",
            )
                .into_response(),
        }
    }
}

pub(crate) fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/oidc/client/register", post(oidc::register_client))
        .route(
            "/oidc/device_authorization",
            post(oidc::start_device_authorization),
        )
        .route("/oidc/token", post(oidc::create_token))
        .route(
            "/oidc/device",
            get(approval::device_page).post(approval::device_decide),
        )
        .route(
            "/oidc/authorize",
            get(approval::authorize_page).post(approval::authorize_decide),
        )
        .route("/portal/assignment/accounts", get(portal::list_accounts))
        .route("/portal/assignment/roles", get(portal::list_account_roles))
        .route(
            "/portal/federation/credentials",
            get(portal::get_role_credentials),
        )
        .route("/portal/logout", post(portal::logout))
        .route("/sts", get(sts::handle).post(sts::handle))
        .route("/sts/", get(sts::handle).post(sts::handle))
        .route("/federation", get(federation::federation))
        .route("/ecr", post(ecr::api))
        .route("/ecr/", post(ecr::api))
        .route("/registry/{account}/v2/", get(ecr::registry))
        .route("/oauth", get(federation::oauth_logout))
        .route("/console", get(federation::console))
        .route(
            "/console/multi-session",
            get(federation::console_multi_session),
        )
        .route("/start", get(control::start_page))
        .route("/", get(control::start_page))
        .merge(control::routes())
        .layer(middleware::from_fn_with_state(sim.clone(), front_door))
        .with_state(sim)
}

async fn front_door(State(sim): State<Arc<Sim>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = match Service::of(&path) {
        None => next.run(req).await,
        Some(service) => {
            // Throttling is decided on arrival, before the simulated service time.
            let throttled = service == Service::Portal
                && sim
                    .limiter
                    .as_ref()
                    .is_some_and(|limiter| limiter.check().is_err());
            if !sim.opts.latency.is_zero() {
                tokio::time::sleep(sim.opts.latency).await;
            }
            let fail_rate = sim.ledger().fail_rate;
            if throttled {
                sim.ledger().stats.throttled += 1;
                PortalError::throttled().into_response()
            } else if fail_rate > 0.0 && rand::random::<f64>() < fail_rate {
                sim.ledger().stats.injected_failures += 1;
                service.injected_fault()
            } else {
                next.run(req).await
            }
        }
    };
    tracing::info!(
        target: "idc_sim::http",
        "{method} {path} {} {}ms",
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    response
}
