//! The demo shop's routes and in-memory state.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::Knobs;

pub const DEMO_EMAIL: &str = "qa@example.com";
pub const DEMO_PASSWORD: &str = "demo-password";
const PRODUCTS: u32 = 300;
const CATEGORIES: [&str; 5] = ["electronics", "books", "home", "toys", "garden"];

/// What the target saw, so tests can check a scenario really did its steps.
#[derive(Debug, Default)]
pub struct DemoStats {
    pub requests: AtomicU64,
    pub logins: AtomicU64,
    pub failed_logins: AtomicU64,
    pub product_lists: AtomicU64,
    pub product_views: AtomicU64,
    pub me: AtomicU64,
    pub unauthorized: AtomicU64,
}

#[derive(Debug, Clone)]
struct Product {
    sku: String,
    name: String,
    category: &'static str,
    price_cents: u64,
    stock: u32,
}

pub struct Shop {
    pub stats: DemoStats,
    knobs: Knobs,
    products: Vec<Product>,
    /// access token → email
    tokens: Mutex<HashMap<String, String>>,
    next_token: AtomicU64,
}

type Resp = Response<Full<Bytes>>;

fn json_resp(status: StatusCode, v: &Value) -> Resp {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(v.to_string())))
        .expect("valid response")
}

fn error(status: StatusCode, msg: &str) -> Resp {
    json_resp(status, &json!({ "error": msg }))
}

fn query(uri: &http::Uri) -> HashMap<String, String> {
    uri.query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

impl Shop {
    pub fn new(knobs: Knobs) -> Self {
        let products = (0..PRODUCTS)
            .map(|i| Product {
                sku: format!("SKU-{}", 104_400 + i),
                name: format!("Demo product {i}"),
                category: CATEGORIES[(i as usize) % CATEGORIES.len()],
                price_cents: 199 + (i as u64 * 7919) % 50_000,
                stock: (i * 37) % 120,
            })
            .collect();
        Shop {
            stats: DemoStats::default(),
            knobs,
            products,
            tokens: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(1),
        }
    }

    fn knob_applies(route: &str, knob: &str, method: &Method, path: &str) -> bool {
        knob == route
            || knob
                .split_once(' ')
                .is_some_and(|(m, p)| m == method.as_str() && p == path)
    }

    pub async fn handle(&self, req: Request<Incoming>) -> Resp {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let route = route_of(&method, &path);
        for (knob, delay) in &self.knobs.slow {
            if Self::knob_applies(&route, knob, &method, &path) {
                tokio::time::sleep(*delay).await;
            }
        }
        for (knob, rate) in &self.knobs.fail {
            if Self::knob_applies(&route, knob, &method, &path) && fastrand::f64() < *rate {
                return error(StatusCode::SERVICE_UNAVAILABLE, "injected failure (--fail)");
            }
        }
        let (parts, body) = req.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return error(StatusCode::BAD_REQUEST, "unreadable body"),
        };
        match route.as_str() {
            "GET /health" => json_resp(StatusCode::OK, &json!({"status": "ok"})),
            "POST /api/v1/auth/login" => self.login(&body),
            "GET /api/v1/users/me" => match self.user_of(&parts.headers) {
                Some(email) => {
                    self.stats.me.fetch_add(1, Ordering::Relaxed);
                    json_resp(
                        StatusCode::OK,
                        &json!({"email": email, "name": "QA Tester"}),
                    )
                }
                None => self.unauthorized(),
            },
            "GET /api/v1/products" => self.list_products(&parts.uri),
            "GET /api/v1/products/{sku}" => {
                let sku = &path["/api/v1/products/".len()..];
                self.stats.product_views.fetch_add(1, Ordering::Relaxed);
                match self.products.iter().find(|p| p.sku == sku) {
                    Some(p) => json_resp(StatusCode::OK, &product_json(p)),
                    None => error(StatusCode::NOT_FOUND, "no such product"),
                }
            }
            _ => error(StatusCode::NOT_FOUND, "no such route"),
        }
    }

    fn unauthorized(&self) -> Resp {
        self.stats.unauthorized.fetch_add(1, Ordering::Relaxed);
        error(StatusCode::UNAUTHORIZED, "missing or invalid bearer token")
    }

    fn user_of(&self, headers: &http::HeaderMap) -> Option<String> {
        let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let token = auth.strip_prefix("Bearer ")?;
        self.tokens.lock().ok()?.get(token).cloned()
    }

    fn login(&self, body: &[u8]) -> Resp {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return error(StatusCode::BAD_REQUEST, "expected a JSON body");
        };
        let email = v["email"].as_str().unwrap_or_default();
        let password = v["password"].as_str().unwrap_or_default();
        if email != DEMO_EMAIL || password != DEMO_PASSWORD {
            self.stats.failed_logins.fetch_add(1, Ordering::Relaxed);
            return error(StatusCode::UNAUTHORIZED, "wrong email or password");
        }
        self.stats.logins.fetch_add(1, Ordering::Relaxed);
        let n = self.next_token.fetch_add(1, Ordering::Relaxed);
        let token = format!("demo-{n:08}-{:016x}", fastrand::u64(..));
        if let Ok(mut t) = self.tokens.lock() {
            t.insert(token.clone(), email.to_string());
        }
        let remember = v["rememberMe"].as_bool().unwrap_or(false);
        json_resp(
            StatusCode::OK,
            &json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": if remember { 30 * 24 * 3600 } else { 3600 },
            }),
        )
    }

    fn list_products(&self, uri: &http::Uri) -> Resp {
        self.stats.product_lists.fetch_add(1, Ordering::Relaxed);
        let q = query(uri);
        let page: usize = q
            .get("page")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
            .max(1);
        let limit: usize = q
            .get("limit")
            .and_then(|v| v.parse().ok())
            .unwrap_or(20)
            .clamp(1, 100);
        let mut items: Vec<&Product> = self
            .products
            .iter()
            .filter(|p| {
                q.get("category")
                    .is_none_or(|c| c.is_empty() || p.category == c)
            })
            .collect();
        match q.get("sort").map(String::as_str) {
            Some("price") | Some("price_asc") => items.sort_by_key(|p| p.price_cents),
            Some("-price") | Some("price_desc") => {
                items.sort_by_key(|p| std::cmp::Reverse(p.price_cents))
            }
            Some("name") => items.sort_by(|a, b| a.name.cmp(&b.name)),
            _ => {}
        }
        let total = items.len();
        let page_items: Vec<Value> = items
            .into_iter()
            .skip((page - 1) * limit)
            .take(limit)
            .map(product_json)
            .collect();
        json_resp(
            StatusCode::OK,
            &json!({"items": page_items, "page": page, "limit": limit, "total": total}),
        )
    }
}

fn product_json(p: &Product) -> Value {
    json!({
        "sku": p.sku,
        "name": p.name,
        "category": p.category,
        "price": p.price_cents as f64 / 100.0,
        "stock": p.stock,
    })
}

/// The route template a request matches, e.g. `GET /api/v1/products/{sku}`.
pub fn route_of(method: &Method, path: &str) -> String {
    let path = path.trim_end_matches('/');
    let template = if let Some(rest) = path.strip_prefix("/api/v1/products/")
        && !rest.is_empty()
        && !rest.contains('/')
    {
        "/api/v1/products/{sku}"
    } else {
        path
    };
    format!("{} {}", method.as_str(), template)
}
