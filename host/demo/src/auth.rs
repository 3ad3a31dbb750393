//! Who may call the shop: the v1 JSON login, the OAuth 2 token endpoint (password and
//! refresh-token grants, rotating refresh tokens) and the bearer tokens both issue,
//! which expire.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use http::{HeaderMap, StatusCode, header};
use serde_json::json;

use super::wire::{DemoStats, Refused, Resp, error, json_body, json_resp};
use super::{known_account, known_client};

struct Session {
    email: String,
    expires: Instant,
}

struct Refresh {
    email: String,
    /// The access token issued with it, revoked when it is rotated.
    access: String,
}

pub struct Auth {
    /// Lifetime of OAuth access tokens (`--token-ttl`).
    ttl: Duration,
    sessions: Mutex<HashMap<String, Session>>,
    refresh: Mutex<HashMap<String, Refresh>>,
    next: AtomicU64,
}

impl Auth {
    pub fn new(ttl: Duration) -> Self {
        Auth {
            ttl,
            sessions: Mutex::default(),
            refresh: Mutex::default(),
            next: AtomicU64::new(1),
        }
    }

    fn token(&self, kind: &str) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{kind}-{n:08}-{:016x}", fastrand::u64(..))
    }

    fn issue(&self, email: &str, ttl: Duration) -> String {
        let token = self.token("demo");
        let s = Session {
            email: email.to_string(),
            expires: Instant::now() + ttl,
        };
        self.sessions
            .lock()
            .expect("sessions")
            .insert(token.clone(), s);
        token
    }

    /// `POST /api/v1/auth/login` with `{email, password, rememberMe}`.
    pub fn login(&self, stats: &DemoStats, body: &[u8]) -> Resp {
        let v = match json_body(body) {
            Ok(v) => v,
            Err(r) => return *r,
        };
        let email = v["email"].as_str().unwrap_or_default();
        let password = v["password"].as_str().unwrap_or_default();
        if !known_account(email, password) {
            DemoStats::add(&stats.failed_logins);
            return error(StatusCode::UNAUTHORIZED, "wrong email or password");
        }
        DemoStats::add(&stats.logins);
        let remember = v["rememberMe"].as_bool().unwrap_or(false);
        let ttl = Duration::from_secs(if remember { 30 * 24 * 3600 } else { 3600 });
        let token = self.issue(email, ttl);
        json_resp(
            StatusCode::OK,
            &json!({"access_token": token, "token_type": "Bearer", "expires_in": ttl.as_secs()}),
        )
    }

    /// The email behind a live bearer token, or the 401 to answer with.
    pub fn user(&self, stats: &DemoStats, headers: &HeaderMap) -> Result<String, Refused> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let mut sessions = self.sessions.lock().expect("sessions");
        let found = token.and_then(|t| sessions.get(t).map(|s| (t, s)));
        let refusal = match found {
            Some((_, s)) if s.expires > Instant::now() => return Ok(s.email.clone()),
            Some((t, _)) => {
                let t = t.to_string();
                sessions.remove(&t);
                DemoStats::add(&stats.expired_tokens);
                "token expired"
            }
            None => "missing or invalid bearer token",
        };
        DemoStats::add(&stats.unauthorized);
        let mut r = error(StatusCode::UNAUTHORIZED, refusal);
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        Err(Box::new(r))
    }

    /// `POST /oauth/token`, form-encoded (RFC 6749): the client authenticates with
    /// `client_id`/`client_secret` fields or HTTP Basic.
    pub fn oauth_token(&self, stats: &DemoStats, headers: &HeaderMap, body: &[u8]) -> Resp {
        let reject = |status, code: &str, why: &str| {
            DemoStats::add(&stats.oauth_rejected);
            json_resp(status, &json!({"error": code, "error_description": why}))
        };
        let form_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form_type {
            return reject(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "expected an application/x-www-form-urlencoded body",
            );
        }
        let form: HashMap<String, String> = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
        let (id, secret) = basic_client(headers)
            .unwrap_or_else(|| (field("client_id").into(), field("client_secret").into()));
        if !known_client(&id, &secret) {
            return reject(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client or wrong secret",
            );
        }
        let email = match field("grant_type") {
            "password" => {
                if !known_account(field("username"), field("password")) {
                    return reject(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "wrong username or password",
                    );
                }
                DemoStats::add(&stats.oauth_grants);
                field("username").to_string()
            }
            "refresh_token" => {
                let Some(old) = self
                    .refresh
                    .lock()
                    .expect("refresh")
                    .remove(field("refresh_token"))
                else {
                    return reject(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "unknown or already used refresh token",
                    );
                };
                self.sessions.lock().expect("sessions").remove(&old.access);
                DemoStats::add(&stats.oauth_refreshes);
                old.email
            }
            "" => {
                return reject(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "grant_type is required",
                );
            }
            _ => {
                return reject(
                    StatusCode::BAD_REQUEST,
                    "unsupported_grant_type",
                    "use password or refresh_token",
                );
            }
        };
        let access = self.issue(&email, self.ttl);
        let refresh = self.token("refresh");
        self.refresh.lock().expect("refresh").insert(
            refresh.clone(),
            Refresh {
                email,
                access: access.clone(),
            },
        );
        json_resp(
            StatusCode::OK,
            &json!({
                "access_token": access,
                "token_type": "Bearer",
                // Whole seconds, rounded up, so a client never refreshes too late.
                "expires_in": self.ttl.as_millis().div_ceil(1000),
                "refresh_token": refresh,
                "scope": field("scope"),
            }),
        )
    }
}

fn basic_client(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v.strip_prefix("Basic ")?)
        .ok()?;
    let (id, secret) = std::str::from_utf8(&raw).ok()?.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}
