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
use crate::{approval, control, ecr, federation, iam, oidc, portal, sts};

/// Which service an API path belongs to; pages and control routes are none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Oidc,
    Portal,
    Sts,
    Iam,
    Federation,
    Ecr,
}

impl Service {
    fn of(path: &str) -> Option<Self> {
        match path {
            "/oidc/client/register" | "/oidc/device_authorization" | "/oidc/token" => {
                Some(Self::Oidc)
            }
            "/sts" | "/sts/" => Some(Self::Sts),
            "/iam" | "/iam/" => Some(Self::Iam),
            "/federation" => Some(Self::Federation),
            "/ecr" | "/ecr/" => Some(Self::Ecr),
            p if p.starts_with("/portal/") => Some(Self::Portal),
            _ => None,
        }
    }

    fn injected_fault(self) -> Response {
        match self {
            Self::Oidc => OidcError::internal().into_response(),
            Self::Portal => PortalError::internal().into_response(),
            Self::Sts | Self::Iam => StsError::internal().into_response(),
            Self::Federation => (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "Injected server fault\n",
            )
                .into_response(),
            Self::Ecr => crate::ecr::error(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "ServerException",
                "Injected server fault",
            ),
        }
    }

    /// The service's own answer to a request its model says is malformed.
    fn malformed(self, why: &str) -> Response {
        match self {
            Self::Oidc => OidcError::invalid_request(why).into_response(),
            Self::Portal => PortalError::invalid_request(why).into_response(),
            Self::Sts | Self::Iam => StsError::validation(why).into_response(),
            Self::Ecr => crate::ecr::error(
                axum::http::StatusCode::BAD_REQUEST,
                "InvalidParameterException",
                why,
            ),
            Self::Federation => {
                (axum::http::StatusCode::BAD_REQUEST, format!("{why}\n")).into_response()
            }
        }
    }
}

/// The largest request or answer body the model check reads.
const CHECKED_BODY_LIMIT: usize = 4 << 20;

/// `req` against its service's model: refused with the service's own error when malformed,
/// else served, and the answer checked against the operation's output shape.
async fn checked(
    sim: &Sim,
    service: Service,
    req: Request,
    serve: impl AsyncFnOnce(Request) -> Response,
) -> Response {
    let path = req.uri().path().to_owned();
    let Some((model, rest)) = sim.models.as_deref().and_then(|m| m.for_path(&path)) else {
        return serve(req).await;
    };
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, CHECKED_BODY_LIMIT).await else {
        return service.malformed("the request body is too large or broken");
    };
    let seen = crate::model::Seen {
        method: parts.method.as_str(),
        path: rest,
        query: parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
        body: &body,
    };
    let operation = match model.check_request(&seen) {
        Ok(op) => op,
        Err(why) => {
            tracing::warn!(target: "idc_sim::model", "{} refused: {why}", model.name);
            sim.ledger()
                .stats
                .model_rejections
                .push(format!("{}: {why}", model.name));
            return service.malformed(&why);
        }
    };
    let model_name = &model.name;
    let response = serve(Request::from_parts(parts, axum::body::Body::from(body))).await;
    if response.status() != axum::http::StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, CHECKED_BODY_LIMIT).await else {
        return service.injected_fault();
    };
    if let Err(why) = model.check_answer(&operation, &body) {
        tracing::error!(target: "idc_sim::model", "{model_name} answer breaks the model: {why}");
        sim.ledger()
            .stats
            .model_violations
            .push(format!("{model_name}: {why}"));
        return (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("idc-sim: this answer breaks AWS's {model_name} model: {why}\n"),
        )
            .into_response();
    }
    Response::from_parts(parts, axum::body::Body::from(body))
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
        .route("/iam", get(iam::handle).post(iam::handle))
        .route("/iam/", get(iam::handle).post(iam::handle))
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
            let served = async |req: Request| {
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
            };
            checked(&sim, service, req, served).await
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
