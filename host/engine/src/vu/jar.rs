//! The `http` interface's cookie-jar imports (`cookies-for`, `set-cookie`,
//! `clear-cookies`). The jar lives with the VU's client, in the VU's task, so each
//! operation is handed over the exchange as a request is.

use std::sync::Arc;

use wasmtime::StoreContextMut;
use wasmtime::component::{LinkerInstance, WasmStr};

use super::ctx::{VuState, to_wit_error};
use super::exchange::Exchange;
use crate::bindings::http::HttpError;
use crate::client::cookies::{JarAnswer, JarOp, MAX_COOKIE_BYTES};

/// The URL argument, read out of the guest and resolved as a request's.
fn url_of(store: &StoreContextMut<'_, VuState>, url: &WasmStr) -> Result<url::Url, HttpError> {
    let url = url
        .to_str(store)
        .map_err(|e| HttpError::InvalidUrl(e.to_string()))?;
    store.data().vu.parse_url(&url).map_err(to_wit_error)
}

fn post(store: &StoreContextMut<'_, VuState>, op: JarOp) -> Result<(), HttpError> {
    store.data().vu.exchange.post_jar(op).map_err(to_wit_error)
}

/// A string argument no cookie could be longer than, read out of the guest.
fn bounded(
    store: &StoreContextMut<'_, VuState>,
    s: &WasmStr,
    what: &str,
) -> Result<String, HttpError> {
    let s = s
        .to_str(store)
        .map_err(|e| HttpError::TooLarge(e.to_string()))?;
    if s.len() > MAX_COOKIE_BYTES {
        return Err(HttpError::TooLarge(format!(
            "a cookie {what} of {} bytes is over the jar's {MAX_COOKIE_BYTES}-byte limit",
            s.len()
        )));
    }
    Ok(s.into_owned())
}

/// The answer to the operation posted, if it was, as `take` finds it.
async fn answer<T>(
    exchange: Arc<Exchange>,
    posted: Result<(), HttpError>,
    take: fn(JarAnswer) -> Option<Result<T, HttpError>>,
) -> wasmtime::Result<(Result<T, HttpError>,)> {
    let r = match posted {
        Ok(()) => take(exchange.jar_answer().await).unwrap_or_else(|| {
            Err(HttpError::Protocol(
                "the cookie jar answered another operation".into(),
            ))
        }),
        Err(e) => Err(e),
    };
    Ok((r,))
}

pub(super) fn add(i: &mut LinkerInstance<'_, VuState>) -> wasmtime::Result<()> {
    i.func_wrap_async(
        "cookies-for",
        |store: StoreContextMut<'_, VuState>, (url,): (WasmStr,)| {
            let posted = url_of(&store, &url).and_then(|u| post(&store, JarOp::Get(u)));
            let exchange = store.data().vu.exchange.clone();
            Box::new(answer(exchange, posted, |a| match a {
                JarAnswer::Cookies(c) => Some(Ok(c)),
                _ => None,
            }))
        },
    )?;
    i.func_wrap_async(
        "set-cookie",
        |store: StoreContextMut<'_, VuState>, (url, value): (WasmStr, WasmStr)| {
            let posted = bounded(&store, &value, "value").and_then(|v| {
                let u = url_of(&store, &url)?;
                post(&store, JarOp::Set(u, v))
            });
            let exchange = store.data().vu.exchange.clone();
            Box::new(answer(exchange, posted, |a| match a {
                JarAnswer::Stored(r) => Some(r.map_err(HttpError::InvalidUrl)),
                _ => None,
            }))
        },
    )?;
    i.func_wrap_async(
        "clear-cookies",
        |store: StoreContextMut<'_, VuState>, (url, name): (Option<WasmStr>, Option<WasmStr>)| {
            let posted = (|| {
                let name = name.map(|n| bounded(&store, &n, "name")).transpose()?;
                let url = url.map(|u| url_of(&store, &u)).transpose()?;
                post(&store, JarOp::Clear(url, name))
            })();
            let exchange = store.data().vu.exchange.clone();
            Box::new(answer(exchange, posted, |a| match a {
                JarAnswer::Cleared(n) => Some(Ok(n)),
                _ => None,
            }))
        },
    )?;
    Ok(())
}
