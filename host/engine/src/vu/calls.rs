//! The imports every iteration makes, `http.send` (and its deferred twin, with `settle`)
//! and `checks.check`, linked by hand:
//! their strings are read in place from the guest's memory into one reused buffer, where
//! the generated bindings would lift each into a fresh `String` per call.

use std::ops::Range;

use bytes::Bytes;
use wasmtime::StoreContextMut;
use wasmtime::component::{ComponentType, Lift, Linker, WasmList, WasmStr};

use super::WIT_VERSION;
use super::ctx::{Outbound, VuState};
use crate::bindings::http;
use crate::client::Measured;

/// Header fields a request may carry, and bytes of them in all (as a response head).
const MAX_REQUEST_HEADERS: usize = 256;
const MAX_REQUEST_HEAD: usize = 256 << 10;

/// `http-request` as the guest passes it, its strings and lists still in its memory.
#[derive(ComponentType, Lift)]
#[component(record)]
pub(super) struct RequestArg {
    method: WasmStr,
    url: WasmStr,
    headers: WasmList<(WasmStr, WasmStr)>,
    body: WasmList<u8>,
    name: Option<WasmStr>,
    #[component(name = "timeout-ms")]
    timeout_ms: Option<u32>,
    read: http::ReadFlags,
}

pub fn add_to_linker(linker: &mut Linker<VuState>) -> wasmtime::Result<()> {
    let mut i = linker.instance(&format!("stampede:scenario/http@{WIT_VERSION}"))?;
    // Each request is read and posted before the call's future is built, which then
    // holds only what the response needs: wasmtime copies it into a box and polls it
    // on the fiber.
    for (name, deferred) in [("send", false), ("send-deferred", true)] {
        i.func_wrap_async(
            name,
            move |mut store: StoreContextMut<'_, VuState>, (req,): (RequestArg,)| {
                let posted = post(&mut store, &req);
                Box::new(async move { Ok((answer(&mut store, posted, deferred).await?,)) })
            },
        )?;
    }
    i.func_wrap_async(
        "send-packed",
        move |mut store: StoreContextMut<'_, VuState>, (req, deferred): (RequestArg, bool)| {
            let posted = post(&mut store, &req);
            Box::new(async move { Ok((answer(&mut store, posted, deferred).await?.map(packed),)) })
        },
    )?;
    i.func_wrap(
        "follow-redirects",
        |mut store: StoreContextMut<'_, VuState>, (follow,): (bool,)| {
            store.data_mut().vu.follow_redirects(follow);
            Ok(())
        },
    )?;
    i.func_wrap(
        "trace-context",
        |mut store: StoreContextMut<'_, VuState>, (mode,): (http::TraceMode,)| {
            store.data_mut().vu.trace_context(mode);
            Ok(())
        },
    )?;
    i.func_wrap(
        "settle",
        |mut store: StoreContextMut<'_, VuState>, (ok, message): (bool, Option<WasmStr>)| {
            let mut text = std::mem::take(&mut store.data_mut().vu.text);
            text.clear();
            if let Some(m) = &message {
                let m = m.to_str(&store)?;
                text.push_str(&crate::metrics::names::clip(
                    &m,
                    crate::metrics::names::MAX_MESSAGE_BYTES,
                ));
            }
            let vu = &mut store.data_mut().vu;
            let settled = vu.settle(ok, message.is_some().then_some(text.as_str()));
            vu.text = text;
            Ok((settled,))
        },
    )?;
    super::batch::add(&mut i)?;
    super::jar::add(&mut i)?;
    let mut i = linker.instance(&format!("stampede:scenario/checks@{WIT_VERSION}"))?;
    i.func_wrap(
        "check",
        |mut store: StoreContextMut<'_, VuState>, (name, ok): (WasmStr, bool)| {
            let mut text = std::mem::take(&mut store.data_mut().vu.text);
            text.clear();
            text.push_str(&name.to_str(&mut store)?);
            let vu = &mut store.data_mut().vu;
            vu.check(&text, ok);
            vu.text = text;
            Ok(())
        },
    )?;
    Ok(())
}

/// Reads the request and hands it to the VU's task; what the answer needs, and the
/// error that kept the request from going out, if one did.
fn post(
    store: &mut StoreContextMut<'_, VuState>,
    req: &RequestArg,
) -> wasmtime::Result<(super::ctx::Prepared, Option<crate::client::ClientError>)> {
    let now = std::time::Instant::now();
    prepare(store, req, now).map(|(p, request)| {
        let failed = request.and_then(|r| store.data().vu.exchange.post(r, now));
        (p, failed.err())
    })
}

/// Waits for the posted request's outcome (none when it could not go out), records it
/// and makes the scenario's answer.
async fn answer(
    store: &mut StoreContextMut<'_, VuState>,
    posted: wasmtime::Result<(super::ctx::Prepared, Option<crate::client::ClientError>)>,
    deferred: bool,
) -> wasmtime::Result<Result<http::HttpResponse, http::HttpError>> {
    let (p, failed) = posted?;
    let vu = &mut store.data_mut().vu;
    let (result, measured) = match failed {
        None => vu.exchange.outcome().await,
        Some(e) => (Err(e), Measured::default()),
    };
    Ok(vu.finish(&p, result, measured, deferred))
}

/// A response as `packed-response` (see the WIT): the header fields as one string of
/// `name\nvalue\n` lines, the timings as six numbers.
pub(super) fn packed(r: http::HttpResponse) -> http::PackedResponse {
    let head = r.headers.map(|fields| {
        let len = fields.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        let mut head = String::with_capacity(len);
        for (k, v) in &fields {
            head.push_str(k);
            head.push('\n');
            // HTTP allows no line feed in a field value; should one come, it must not
            // shift the guest's reading of every field after it.
            if v.as_bytes().contains(&b'\n') {
                head.push_str(&v.replace('\n', " "));
            } else {
                head.push_str(v);
            }
            head.push('\n');
        }
        head
    });
    let t = &r.timings;
    let us = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    http::PackedResponse {
        status: r.status,
        head,
        body: r.body,
        body_size: r.body_size,
        final_url: r.final_url,
        timings: vec![
            us(t.connect_us),
            us(t.tls_us),
            us(t.send_us),
            us(t.wait_us),
            us(t.receive_us),
            us(t.total_us),
        ],
    }
}

/// Copies `s` to the end of `text`; where it landed.
fn push(text: &mut String, s: &str) -> Range<usize> {
    let at = text.len();
    text.push_str(s);
    at..text.len()
}

/// Reads the request out of the guest's memory and prepares it (see `VuCtx::prepare`).
pub(super) fn prepare(
    store: &mut StoreContextMut<'_, VuState>,
    req: &RequestArg,
    now: std::time::Instant,
) -> wasmtime::Result<super::ctx::PreparedRequest> {
    let mut text = std::mem::take(&mut store.data_mut().vu.text);
    text.clear();
    let method = push(&mut text, &req.method.to_str(&mut *store)?);
    let url = push(&mut text, &req.url.to_str(&mut *store)?);
    let name = match &req.name {
        Some(n) => Some(push(&mut text, &n.to_str(&mut *store)?)),
        None => None,
    };
    // Header fields outlive the call (the exchange awaits): owned, as the client takes
    // them. Their count and size, and the body's, are checked before anything is copied
    // out of the guest: its memory is capped, the host's is not.
    let mut refused = None;
    let headers = if req.headers.len() == 0 {
        Vec::new()
    } else if req.headers.len() > MAX_REQUEST_HEADERS {
        refused = Some(format!(
            "{} request headers, more than {MAX_REQUEST_HEADERS}",
            req.headers.len()
        ));
        Vec::new()
    } else {
        let fields: Vec<(WasmStr, WasmStr)> = req
            .headers
            .iter(&mut *store)?
            .collect::<wasmtime::Result<_>>()?;
        let mut headers = Vec::with_capacity(fields.len());
        let mut total = 0;
        for (k, v) in &fields {
            // Sized in place (the guest's bytes, checked as UTF-8), then copied.
            total += k.to_str(&mut *store)?.len() + v.to_str(&mut *store)?.len() + 4;
            if total > MAX_REQUEST_HEAD {
                refused = Some(format!(
                    "request headers of more than {} KiB",
                    MAX_REQUEST_HEAD >> 10
                ));
                headers.clear();
                break;
            }
            let k = k.to_str(&mut *store)?.into_owned();
            headers.push((k, v.to_str(&mut *store)?.into_owned()));
        }
        headers
    };
    let max_body = store.data().vu.max_body();
    let body = if req.body.len() > max_body {
        Err(req.body.len())
    } else {
        Ok(Bytes::copy_from_slice(req.body.as_le_slice(&mut *store)))
    };
    let out = Outbound {
        method: &text[method],
        url: &text[url],
        name: name.map(|r| &text[r]),
        headers,
        body,
        refused,
        timeout_ms: req.timeout_ms,
        read: req.read,
    };
    let vu = &mut store.data_mut().vu;
    let prepared = vu.prepare(out, now);
    vu.text = text;
    Ok(prepared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_head_is_name_and_value_lines_whatever_a_value_holds() {
        let r = http::HttpResponse {
            status: 200,
            headers: Some(vec![
                ("content-type".into(), "text/plain".into()),
                ("x-odd".into(), "a\nb".into()),
                ("set-cookie".into(), String::new()),
            ]),
            body: None,
            body_size: 3,
            final_url: None,
            timings: http::Timings {
                connect_us: 1,
                tls_us: 2,
                send_us: 3,
                wait_us: 4,
                receive_us: 5,
                total_us: u64::MAX,
            },
        };
        let p = packed(r);
        assert_eq!(
            p.head.as_deref(),
            Some("content-type\ntext/plain\nx-odd\na b\nset-cookie\n\n")
        );
        assert_eq!(p.timings, [1, 2, 3, 4, 5, u32::MAX]);
        let none = packed(http::HttpResponse {
            status: 204,
            headers: None,
            body: None,
            body_size: 0,
            final_url: None,
            timings: http::Timings {
                connect_us: 0,
                tls_us: 0,
                send_us: 0,
                wait_us: 0,
                receive_us: 0,
                total_us: 0,
            },
        });
        assert_eq!((none.status, none.head), (204, None));
    }
}
