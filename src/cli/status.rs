//! `kiln status`: what kiln's inventory owns on a cluster and where each object stands by
//! kstatus' rules, as the apply engine reads readiness. Exit 0 when every member is Current.

use super::args::{ClusterArgs, ClusterSettings};
use super::{Failure, err, out};
use crate::cluster::Cluster;
use clap::ValueEnum;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Human, alias = "format")]
    output: Format,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    #[value(alias = "text")]
    Human,
    Json,
}

pub struct Settings {
    cluster: ClusterSettings,
    format: Format,
}

pub fn settings(a: Args) -> Result<Settings, Failure> {
    Ok(Settings {
        cluster: a.cluster.settings()?,
        format: a.output,
    })
}

pub fn run(s: Settings) -> ExitCode {
    let inventory = &s.cluster.inventory;
    let mut cluster = match s.cluster.connect() {
        Ok(c) => c,
        Err(e) => {
            err(&format!("kiln status: {e}\n"));
            return ExitCode::from(2);
        }
    };
    let parent = match cluster.get(&inventory.key()) {
        Ok(p) => p,
        Err(e) => {
            err(&format!(
                "kiln status: the cluster at {} answered: {e}\n",
                cluster.server
            ));
            return ExitCode::from(2);
        }
    };
    if parent.is_none() {
        err(&format!(
            "kiln status: no inventory {}/{} on {} ({}): kiln has applied nothing there with this inventory\n",
            inventory.namespace, inventory.name, cluster.context, cluster.server
        ));
        return ExitCode::from(1);
    }
    let members = match crate::plan::members(&mut cluster, inventory) {
        Ok(m) => m,
        Err(e) => {
            err(&format!("kiln status: {e}\n"));
            return ExitCode::from(2);
        }
    };
    let rows: Vec<(String, crate::status::Result)> = members
        .iter()
        .map(|v| {
            (
                crate::cluster::key_of(v).to_string(),
                crate::status::compute(Some(v)),
            )
        })
        .collect();
    let not_current = rows
        .iter()
        .filter(|(_, r)| r.status != crate::status::Status::Current)
        .count();
    match s.format {
        Format::Json => {
            let v = serde_json::json!({
                "inventory": format!("{}/{}", inventory.namespace, inventory.name),
                "objects": rows.iter().map(|(o, r)| serde_json::json!({"object": o, "status": r.status, "message": r.message})).collect::<Vec<_>>(),
                "notCurrent": not_current,
            });
            out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&v).unwrap_or_default()
            ));
        }
        Format::Human => {
            let width = rows.iter().map(|(o, _)| o.len()).max().unwrap_or(6).max(6);
            let mut t = format!(
                "inventory {}/{} on {} ({}): {} object{}, {} not Current\n",
                inventory.namespace,
                inventory.name,
                cluster.context,
                cluster.server,
                rows.len(),
                if rows.len() == 1 { "" } else { "s" },
                not_current
            );
            for (o, r) in &rows {
                t.push_str(&format!(
                    "  {o:width$}  {:<11} {}\n",
                    r.status.to_string(),
                    r.message
                ));
            }
            out(&t);
        }
    }
    super::exit_for(not_current)
}
