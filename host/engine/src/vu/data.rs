//! The `data` import: feeders, whole files and shared arrays, served from the run's
//! [`DataSet`] and [`SharedArrays`] to one VU.

use std::sync::Arc;

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, WasmList, WasmStr};

use super::WIT_VERSION;
use super::ctx::{VuCtx, VuState};
use crate::bindings::data::{self, DataError, Order, TableInfo};
use crate::data::shared::SharedArray;
use crate::data::{self as run_data, DataSet, SharedArrays};

/// What one VU reaches of the run's data.
#[derive(Default)]
pub struct DataAccess {
    pub set: Option<Arc<DataSet>>,
    pub arrays: Option<Arc<SharedArrays>>,
    /// Shared arrays this VU has looked up: later reads take no lock.
    seen: Vec<(Box<str>, Arc<SharedArray>)>,
}

impl DataAccess {
    fn set(&self) -> Result<&DataSet, DataError> {
        self.set.as_deref().ok_or_else(|| {
            DataError::Invalid(
                "no data directory: give the run one with --data DIR (data = \"DIR\" in stampede.toml)"
                    .into(),
            )
        })
    }

    fn array(&mut self, name: &str) -> Option<Arc<SharedArray>> {
        if let Some((_, a)) = self.seen.iter().find(|(n, _)| &**n == name) {
            return Some(a.clone());
        }
        let a = self.arrays.as_ref()?.get(name)?;
        self.remember(name, &a);
        Some(a)
    }

    fn remember(&mut self, name: &str, a: &Arc<SharedArray>) {
        if self.seen.len() < crate::data::shared::MAX_ARRAYS {
            self.seen.push((name.into(), a.clone()));
        }
    }
}

fn unavailable() -> DataError {
    DataError::Invalid("shared arrays are not available in this run".into())
}

/// Longest name a shared array may have.
const MAX_ARRAY_NAME: usize = 256;

/// `shared-publish`, linked by hand over the generated one: the items are measured in
/// the guest's memory before anything is copied (a guest cannot make the host copy more
/// than the bound allows), and a name already published is not copied at all.
pub(super) fn add_publish(linker: &mut Linker<VuState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut i = linker.instance(&format!("stampede:scenario/data@{WIT_VERSION}"))?;
    i.func_wrap(
        "shared-publish",
        |mut store: StoreContextMut<'_, VuState>, (name, items): (WasmStr, WasmList<WasmStr>)| {
            let name = name.to_str(&store)?;
            if name.len() > MAX_ARRAY_NAME {
                return Ok((Err(DataError::Invalid(format!(
                    "SharedArray names are at most {MAX_ARRAY_NAME} bytes"
                ))),));
            }
            let name = name.into_owned();
            let Some(arrays) = store.data().vu.data.arrays.clone() else {
                return Ok((Err(unavailable()),));
            };
            let published = match store.data_mut().vu.data.array(&name) {
                Some(a) => a,
                None => {
                    let mut bytes = 0u64;
                    for i in 0..items.len() {
                        let item = items.get(&mut store, i).expect("in bounds")?;
                        bytes += item.to_str(&store)?.len() as u64;
                    }
                    let kept = arrays.publish(&name, bytes, items.len(), |a| {
                        for i in 0..items.len() {
                            let item = items.get(&mut store, i).expect("in bounds")?;
                            a.push(&item.to_str(&store)?);
                        }
                        Ok::<(), wasmtime::Error>(())
                    })?;
                    match kept {
                        Ok(a) => a,
                        Err(e) => return Ok((Err(DataError::Invalid(e)),)),
                    }
                }
            };
            store.data_mut().vu.data.remember(&name, &published);
            Ok((Ok(published.len() as u32),))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

fn wit_error(e: run_data::DataError) -> DataError {
    match e {
        run_data::DataError::Invalid(m) => DataError::Invalid(m),
        run_data::DataError::Exhausted(m) => DataError::Exhausted(m),
    }
}

fn cells<'a>(cells: impl ExactSizeIterator<Item = &'a str>) -> Vec<String> {
    let mut out = Vec::with_capacity(cells.len());
    out.extend(cells.map(str::to_owned));
    out
}

impl data::Host for VuCtx {
    fn table(&mut self, file: String) -> Result<TableInfo, DataError> {
        let t = self.data.set()?.table(&file).map_err(wit_error)?;
        Ok(TableInfo {
            columns: t.columns.iter().map(|c| c.to_string()).collect(),
            rows: t.rows() as u64,
            json: t.json,
        })
    }

    fn next_row(&mut self, file: String, order: Order) -> Result<Vec<String>, DataError> {
        let order = match order {
            Order::Sequential => run_data::Order::Sequential,
            Order::Circular => run_data::Order::Circular,
            Order::Random => run_data::Order::Random,
            Order::Unique => run_data::Order::Unique,
        };
        let (t, r) = self
            .data
            .set()?
            .next_row(&file, order, self.id)
            .map_err(wit_error)?;
        Ok(cells(t.row(r)))
    }

    fn row(&mut self, file: String, index: u64) -> Result<Vec<String>, DataError> {
        let t = self.data.set()?.table(&file).map_err(wit_error)?;
        if index >= t.rows() as u64 {
            return Err(DataError::Invalid(format!(
                "{file}: no row {index}: it has {} (from 0)",
                t.rows()
            )));
        }
        Ok(cells(t.row(index as usize)))
    }

    fn read(&mut self, file: String) -> Result<Vec<u8>, DataError> {
        let bytes = self.data.set()?.bytes(&file).map_err(wit_error)?;
        Ok(bytes.to_vec())
    }

    fn shared_len(&mut self, name: String) -> Option<u32> {
        self.data.array(&name).map(|a| a.len() as u32)
    }

    fn shared_publish(&mut self, name: String, items: Vec<String>) -> Result<u32, DataError> {
        // Linked by hand instead (`add_publish`); kept for the trait, and right.
        let arrays = self.data.arrays.clone().ok_or_else(unavailable)?;
        let bytes = items.iter().map(|i| i.len() as u64).sum();
        let a = arrays
            .publish(&name, bytes, items.len(), |a| {
                items.iter().for_each(|i| a.push(i));
                Ok::<(), std::convert::Infallible>(())
            })
            .unwrap_or_else(|e| match e {})
            .map_err(DataError::Invalid)?;
        self.data.remember(&name, &a);
        Ok(a.len() as u32)
    }

    fn shared_get(&mut self, name: String, index: u32) -> Option<String> {
        self.data
            .array(&name)
            .and_then(|a| a.get(index as usize).map(str::to_owned))
    }
}
