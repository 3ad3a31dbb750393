//! The `http.send-batch` import: a batch's requests are read and prepared one by one as
//! `send` prepares one, handed to the VU's task at once, and each recorded as it was sent.

use wasmtime::StoreContextMut;
use wasmtime::component::{ComponentType, Lift, LinkerInstance, WasmList, WasmStr};

use super::calls::{RequestArg, packed, prepare};
use super::ctx::{Prepared, VuState};
use crate::bindings::http;
use crate::bindings::metrics::Host as _;
use crate::client::{BatchLimits, ClientError, ErrorKind, Measured, Request};

/// Requests one batch may hold: past it the call is refused (its outcomes are held by
/// the host until the last one is in).
const MAX_BATCH: usize = 1000;

/// Tag pairs one batch item may name (`set-tags` refuses more than 256 bytes anyway).
const MAX_ITEM_TAGS: usize = 128;

#[derive(ComponentType, Lift)]
#[component(record)]
struct BatchItemArg {
    request: RequestArg,
    deferred: bool,
    #[component(name = "follow-redirects")]
    follow_redirects: bool,
    tags: Option<WasmList<(WasmStr, WasmStr)>>,
}

#[derive(ComponentType, Lift, Clone, Copy)]
#[component(record)]
struct LimitsArg {
    parallel: u32,
    #[component(name = "per-host")]
    per_host: u32,
}

type Answer = Result<Vec<Result<http::PackedResponse, http::HttpError>>, String>;

pub(super) fn add(i: &mut LinkerInstance<'_, VuState>) -> wasmtime::Result<()> {
    i.func_wrap_async(
        "send-batch",
        |mut store: StoreContextMut<'_, VuState>,
         (items, limits): (WasmList<BatchItemArg>, LimitsArg)| {
            let posted = post(&mut store, &items, limits);
            Box::new(async move { Ok((answer(&mut store, posted).await?,)) })
        },
    )
}

/// One item as prepared: what is recorded of it, whether it is deferred, and why it
/// was not sent if it was not.
struct Item {
    prepared: Prepared,
    deferred: bool,
    unsent: Option<ClientError>,
}

/// Reads and prepares every item, then posts those that can go out; the items, or why
/// the batch is refused whole.
fn post(
    store: &mut StoreContextMut<'_, VuState>,
    items: &WasmList<BatchItemArg>,
    limits: LimitsArg,
) -> wasmtime::Result<Result<Vec<Item>, String>> {
    if items.len() > MAX_BATCH {
        return Ok(Err(format!(
            "{} requests in one batch, more than {MAX_BATCH}: split it",
            items.len()
        )));
    }
    let args: Vec<BatchItemArg> = items.iter(&mut *store)?.collect::<wasmtime::Result<_>>()?;
    // Each item's own redirects and tags are set for its preparing, then the VU's put back.
    let vu = &store.data().vu;
    let (tags, no_redirects) = (vu.tags, vu.no_redirects);
    let now = std::time::Instant::now();
    let mut out = Vec::with_capacity(args.len());
    let mut requests: Vec<Request> = Vec::with_capacity(args.len());
    let mut refused = None;
    for (n, item) in args.iter().enumerate() {
        if let Some(list) = &item.tags
            && let Err(why) = set_tags(store, list)?
        {
            refused = Some(format!("request {}: tags: {why}", n + 1));
            break;
        }
        store.data_mut().vu.no_redirects = !item.follow_redirects;
        let (prepared, request) = prepare(store, &item.request, now)?;
        store.data_mut().vu.tags = tags;
        let unsent = match request {
            Ok(r) => {
                requests.push(r);
                None
            }
            Err(e) => Some(e),
        };
        out.push(Item {
            prepared,
            deferred: item.deferred,
            unsent,
        });
    }
    let vu = &mut store.data_mut().vu;
    (vu.tags, vu.no_redirects) = (tags, no_redirects);
    if let Some(why) = refused {
        return Ok(Err(why));
    }
    if !requests.is_empty() {
        let limits = BatchLimits {
            parallel: limits.parallel,
            per_host: limits.per_host,
        };
        if let Err(e) = vu.exchange.post_batch(requests, limits) {
            for item in &mut out {
                item.unsent.get_or_insert_with(|| e.clone());
            }
        }
    }
    Ok(Ok(out))
}

/// An item's tags, read out of the guest and set as the VU's for its preparing.
fn set_tags(
    store: &mut StoreContextMut<'_, VuState>,
    list: &WasmList<(WasmStr, WasmStr)>,
) -> wasmtime::Result<Result<(), String>> {
    if list.len() > MAX_ITEM_TAGS {
        return Ok(Err(format!(
            "{} tags, more than {MAX_ITEM_TAGS}",
            list.len()
        )));
    }
    let pairs: Vec<(WasmStr, WasmStr)> =
        list.iter(&mut *store)?.collect::<wasmtime::Result<_>>()?;
    let mut tags = Vec::with_capacity(pairs.len());
    for (k, v) in &pairs {
        tags.push((
            k.to_str(&mut *store)?.into_owned(),
            v.to_str(&mut *store)?.into_owned(),
        ));
    }
    Ok(store.data_mut().vu.set_tags(tags))
}

/// Waits for the batch's outcomes and records each item in its order; a batch whose
/// kept bodies would pass half the VU's memory limit has its later responses failed.
async fn answer(
    store: &mut StoreContextMut<'_, VuState>,
    posted: wasmtime::Result<Result<Vec<Item>, String>>,
) -> wasmtime::Result<Answer> {
    let items = match posted? {
        Ok(items) => items,
        Err(why) => return Ok(Err(why)),
    };
    let vu = &mut store.data_mut().vu;
    let mut outcomes = if items.iter().any(|i| i.unsent.is_none()) {
        vu.exchange.batch_outcomes().await.into_iter()
    } else {
        Vec::new().into_iter()
    };
    let budget = vu.body_budget;
    let mut kept = 0usize;
    let mut answers = Vec::with_capacity(items.len());
    for item in items {
        let (mut result, measured) = match item.unsent {
            Some(e) => (Err(e), Measured::default()),
            None => outcomes.next().expect("one outcome per request sent"),
        };
        if let Ok(r) = &result {
            kept += r.body.len();
            if kept > budget {
                result = Err(ClientError::new(
                    ErrorKind::TooLarge,
                    format!(
                        "the batch's response bodies pass half the VU's {} MiB memory limit: read fewer at once",
                        budget >> 19
                    ),
                ));
            }
        }
        // A request that got no response is failed whatever a callback would say: not
        // left for `settle`, which the scenario calls only for responses.
        let deferred = item.deferred && result.is_ok();
        let answer = vu.finish(&item.prepared, result, measured, deferred);
        answers.push(answer.map(packed));
    }
    Ok(Ok(answers))
}
