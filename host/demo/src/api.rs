//! The demo shop's router: one state per part, requests matched to their handlers.

use std::sync::Arc;

use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::json;

use super::Knobs;
use super::auth::Auth;
use super::catalog::Catalog;
use super::imports::Imports;
use super::orders::Orders;
use super::reports;
use super::wire::{DemoStats, Refused, Resp, error, json_resp};

/// The shop: every part's state, behind one router.
pub struct Shop {
    pub stats: Arc<DemoStats>,
    /// Swappable while serving (`set_knobs`), so one server can play two releases.
    knobs: std::sync::RwLock<Arc<Knobs>>,
    pub(super) catalog: Catalog,
    pub(super) auth: Auth,
    pub(super) orders: Orders,
    imports: Imports,
}

/// A request the router matched: the route template (`GET /api/v1/carts/{id}/items`)
/// and the value of its one parameter, if any.
struct Route<'a> {
    template: &'static str,
    param: &'a str,
}

const TEMPLATES: &[&str] = &[
    "GET /health",
    "POST /api/v1/auth/login",
    "GET /api/v1/users/me",
    "GET /api/v1/products",
    "GET /api/v1/products/{sku}",
    "POST /api/v1/carts",
    "GET /api/v1/carts/{id}",
    "POST /api/v1/carts/{id}/items",
    "POST /api/v1/orders",
    "POST /oauth/token",
    "GET /api/v2/dashboard/summary",
    "GET /api/v2/reports/usage",
    "POST /api/v1/imports/customers",
    "GET /api/v1/imports",
    "GET /api/v1/imports/{jobId}/status",
];

fn match_route<'a>(method: &Method, path: &'a str) -> Option<Route<'a>> {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let segs: Vec<&str> = path.split('/').collect();
    TEMPLATES.iter().find_map(|t| {
        let (m, tp) = t.split_once(' ')?;
        if m != method.as_str() {
            return None;
        }
        let tsegs: Vec<&str> = tp.split('/').collect();
        if tsegs.len() != segs.len() {
            return None;
        }
        let mut param = "";
        for (ts, s) in tsegs.iter().zip(&segs) {
            if ts.starts_with('{') {
                if s.is_empty() {
                    return None;
                }
                param = s;
            } else if ts != s {
                return None;
            }
        }
        Some(Route { template: t, param })
    })
}

/// The route template a request matches, e.g. `GET /api/v1/products/{sku}`; the literal
/// method and path when none does.
pub fn route_of(method: &Method, path: &str) -> String {
    match match_route(method, path) {
        Some(r) => r.template.to_string(),
        None => format!("{} {}", method.as_str(), path),
    }
}

impl Shop {
    pub fn new(knobs: Knobs) -> Self {
        let stats = Arc::new(DemoStats::default());
        Shop {
            auth: Auth::new(knobs.token_ttl),
            imports: Imports::new(stats.clone(), knobs.import_row_time),
            stats,
            knobs: std::sync::RwLock::new(Arc::new(knobs)),
            catalog: Catalog::generate(),
            orders: Orders::default(),
        }
    }

    fn knobs(&self) -> std::sync::RwLockReadGuard<'_, Arc<Knobs>> {
        self.knobs.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the degradations (`slow`, `latency`, `fail`) of a running server: a
    /// "new release" at the same address. Token lifetime and import timing stay.
    pub fn set_knobs(&self, knobs: Knobs) {
        *self.knobs.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(knobs);
    }

    fn knob_applies(route: &str, knob: &str, method: &Method, path: &str) -> bool {
        knob == "*"
            || knob == route
            || knob
                .split_once(' ')
                .is_some_and(|(m, p)| m == method.as_str() && p == path)
    }

    pub async fn handle(&self, req: Request<Incoming>) -> Resp {
        DemoStats::add(&self.stats.requests);
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let route = route_of(&method, &path);
        let knobs = self.knobs().clone();
        for (knob, delay) in &knobs.slow {
            if Self::knob_applies(&route, knob, &method, &path) {
                tokio::time::sleep(*delay).await;
            }
        }
        for (knob, median) in &knobs.latency {
            if Self::knob_applies(&route, knob, &method, &path) {
                tokio::time::sleep(log_normal(*median)).await;
            }
        }
        for (knob, rate) in &knobs.fail {
            if Self::knob_applies(&route, knob, &method, &path) && fastrand::f64() < *rate {
                return error(StatusCode::SERVICE_UNAVAILABLE, "injected failure (--fail)");
            }
        }
        let (parts, body) = req.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return error(StatusCode::BAD_REQUEST, "unreadable body"),
        };
        let Some(Route { template, param }) = match_route(&method, &path) else {
            return error(StatusCode::NOT_FOUND, "no such route");
        };
        let h = &parts.headers;
        match template {
            "GET /health" => json_resp(StatusCode::OK, &json!({"status": "ok"})),
            "POST /api/v1/auth/login" => self.auth.login(&self.stats, &body),
            "GET /api/v1/users/me" => match self.user(h) {
                Ok(email) => {
                    DemoStats::add(&self.stats.me);
                    json_resp(
                        StatusCode::OK,
                        &json!({"email": email, "name": "QA Tester"}),
                    )
                }
                Err(r) => *r,
            },
            "GET /api/v1/products" => {
                DemoStats::add(&self.stats.product_lists);
                self.catalog.list(&parts.uri)
            }
            "GET /api/v1/products/{sku}" => {
                DemoStats::add(&self.stats.product_views);
                self.catalog.view(param)
            }
            "POST /api/v1/carts" => {
                self.with_user(h, |u| self.orders.create_cart(&self.stats, u, &body))
            }
            "GET /api/v1/carts/{id}" => self.with_user(h, |u| self.orders.cart(u, param)),
            "POST /api/v1/carts/{id}/items" => self.with_user(h, |u| {
                self.orders
                    .add_item(&self.stats, &self.catalog, u, param, &body)
            }),
            "POST /api/v1/orders" => {
                self.with_user(h, |u| self.orders.place(&self.stats, u, &body))
            }
            "POST /oauth/token" => self.auth.oauth_token(&self.stats, h, &body),
            "GET /api/v2/dashboard/summary" => self.with_user(h, |u| {
                reports::dashboard(&self.stats, &self.orders, u, &parts.uri)
            }),
            "GET /api/v2/reports/usage" => {
                self.with_user(h, |u| reports::usage(&self.stats, u, &parts.uri))
            }
            "POST /api/v1/imports/customers" => match self.api_key(h) {
                Ok(()) => self.imports.upload(h, body).await,
                Err(r) => *r,
            },
            "GET /api/v1/imports" => self.with_key(h, || self.imports.list(&parts.uri)),
            "GET /api/v1/imports/{jobId}/status" => self.with_key(h, || self.imports.status(param)),
            _ => error(StatusCode::NOT_FOUND, "no such route"),
        }
    }

    /// The email behind a live bearer token, or the 401 to answer with.
    fn user(&self, headers: &HeaderMap) -> Result<String, Refused> {
        self.auth.user(&self.stats, headers)
    }

    fn with_user(&self, headers: &HeaderMap, f: impl FnOnce(&str) -> Resp) -> Resp {
        match self.user(headers) {
            Ok(u) => f(&u),
            Err(r) => *r,
        }
    }

    fn api_key(&self, headers: &HeaderMap) -> Result<(), Refused> {
        let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
        if key.is_some_and(|k| k == super::DEMO_API_KEY || k == super::BRIEF_API_KEY) {
            Ok(())
        } else {
            DemoStats::add(&self.stats.unauthorized);
            Err(Box::new(error(
                StatusCode::UNAUTHORIZED,
                "missing or wrong X-API-Key",
            )))
        }
    }

    fn with_key(&self, headers: &HeaderMap, f: impl FnOnce() -> Resp) -> Resp {
        self.api_key(headers).map_or_else(|r| *r, |()| f())
    }
}

/// A log-normal duration with this median and σ 0.5 (Box-Muller from two uniforms).
fn log_normal(median: std::time::Duration) -> std::time::Duration {
    let (u1, u2) = (fastrand::f64().max(f64::MIN_POSITIVE), fastrand::f64());
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    median.mul_f64((0.5 * z).exp().min(100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_their_templates() {
        let r = |m: Method, p: &str| route_of(&m, p);
        assert_eq!(
            r(Method::GET, "/api/v1/products/SKU-1"),
            "GET /api/v1/products/{sku}"
        );
        assert_eq!(r(Method::GET, "/api/v1/products/"), "GET /api/v1/products");
        assert_eq!(
            r(Method::POST, "/api/v1/carts/17/items"),
            "POST /api/v1/carts/{id}/items"
        );
        assert_eq!(
            r(Method::GET, "/api/v1/imports/9/status"),
            "GET /api/v1/imports/{jobId}/status"
        );
        assert_eq!(r(Method::DELETE, "/api/v1/carts"), "DELETE /api/v1/carts");
        assert_eq!(r(Method::GET, "/nope/x"), "GET /nope/x");
    }
}
