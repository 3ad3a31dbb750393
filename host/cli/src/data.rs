//! `--data` and `data = "..."`: each scenario's test data directory, checked before
//! anything runs and shared by the scenarios that name the same one.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Result, bail};
use stampede::data::dir::{DEFAULT_MAX_FILE_BYTES, MAX_FILE_BYTES_LIMIT};
use stampede::data::{DataDir, DataSet, SharedArrays};
use stampede::run::RunConfig;

use crate::RunArgs;
use crate::config::FileConfig;

pub fn apply(cfgs: &mut [RunConfig], args: &RunArgs, file: &FileConfig) -> Result<()> {
    if let Some((name, _)) = file.scenarios.iter().find(|(_, s)| {
        s.limits
            .as_ref()
            .is_some_and(|l| l.max_data_file_mib.is_some())
    }) {
        bail!(
            "[scenarios.{name}.limits] max_data_file_mib: the data file cap is the run's; set it in the top-level [limits] or with --max-data-file-mib"
        );
    }
    let max = match args.max_data_file_mib.or(file.limits.max_data_file_mib) {
        Some(m) if m == 0 || m << 20 > MAX_FILE_BYTES_LIMIT => {
            bail!("--max-data-file-mib {m} (max_data_file_mib): choose between 1 and 4095")
        }
        Some(m) => m << 20,
        None => DEFAULT_MAX_FILE_BYTES,
    };
    // One set of shared arrays for the run: the scenarios of one k6 script share them.
    let arrays = Arc::new(SharedArrays::new(max));
    let mut opened: HashMap<PathBuf, Arc<DataSet>> = HashMap::new();
    for cfg in cfgs {
        cfg.shared_arrays = Some(arrays.clone());
        let own = cfg
            .name
            .as_ref()
            .and_then(|n| file.scenarios.get(n))
            .and_then(|s| s.data.clone());
        let (dir, given) = match (&args.data, own, &file.data) {
            (Some(d), _, _) => (d.clone(), "--data".to_string()),
            (None, Some(d), _) => (
                d,
                format!("[scenarios.{}] data", cfg.name.as_deref().unwrap_or("")),
            ),
            (None, None, Some(d)) => (d.clone(), "data".to_string()),
            (None, None, None) => continue,
        };
        let key = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
        let set = match opened.get(&key) {
            Some(s) => s.clone(),
            None => {
                let checked = DataDir::open(&dir, max, &given).map_err(anyhow::Error::msg)?;
                let s = Arc::new(DataSet::new(
                    checked,
                    cfg.segment.map(|s| (s.index, s.count)),
                ));
                opened.insert(key, s.clone());
                s
            }
        };
        cfg.data = Some(set);
    }
    Ok(())
}
