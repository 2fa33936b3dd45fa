//! `kiln delete`: remove everything kiln's inventory owns on a cluster, dependents first (the
//! prune of an empty desired state, through the same plan and apply engine), then the
//! inventory's parent. Shown and confirmed first, as `kiln apply` does.

use super::args::{ClusterArgs, ClusterSettings};
use super::{Failure, err, out};
use crate::cluster::{Cluster, DeleteOptions};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Show what would be deleted and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Delete without asking (for CI).
    #[arg(long, short = 'y')]
    yes: bool,
}

pub struct Settings {
    cluster: ClusterSettings,
    dry_run: bool,
    yes: bool,
}

pub fn settings(a: Args) -> Result<Settings, Failure> {
    Ok(Settings {
        cluster: a.cluster.settings()?,
        dry_run: a.dry_run,
        yes: a.yes,
    })
}

pub fn run(s: Settings) -> ExitCode {
    let inventory = &s.cluster.inventory;
    let mut cluster = match s.cluster.connect() {
        Ok(c) => c,
        Err(e) => {
            err(&format!("kiln delete: {e}\n"));
            return ExitCode::from(2);
        }
    };
    match cluster.get(&inventory.key()) {
        Ok(Some(_)) => {}
        Ok(None) => {
            err(&format!(
                "kiln delete: no inventory {}/{} on {} ({}): nothing to delete\n",
                inventory.namespace, inventory.name, cluster.context, cluster.server
            ));
            return ExitCode::from(1);
        }
        Err(e) => {
            err(&format!(
                "kiln delete: the cluster at {} answered: {e}\n",
                cluster.server
            ));
            return ExitCode::from(2);
        }
    }
    let empty = crate::graph::DependencyGraph::default();
    let plan = match crate::plan::plan(&mut cluster, &[], &empty, inventory, &Default::default()) {
        Ok(p) => p,
        Err(e) => {
            err(&format!(
                "kiln delete: the cluster at {} refused the plan: {e}\n",
                cluster.server
            ));
            return ExitCode::from(1);
        }
    };
    out(&format!(
        "cluster: {} ({})\n{}",
        cluster.context,
        cluster.server,
        crate::plan::render_text(&plan)
    ));
    if s.dry_run {
        out("dry run: nothing changed\n");
        return ExitCode::SUCCESS;
    }
    if !s.yes {
        let question = format!(
            "delete everything inventory {}/{} owns on {} ({})",
            inventory.namespace, inventory.name, cluster.context, cluster.server
        );
        if let Err(code) = super::args::confirm("delete", "delete", "look", &question) {
            return code;
        }
    }
    let report = match crate::apply::apply(&mut cluster, &plan, &crate::apply::Settings::default())
    {
        Ok(r) => r,
        Err(e) => {
            err(&format!("kiln delete: {e}\n"));
            return ExitCode::from(1);
        }
    };
    let kept: Vec<&crate::apply::Pruned> = report.pruned.iter().filter(|p| !p.gone).collect();
    let mut text = format!(
        "deleted {} object{}, dependents first\n",
        report.pruned.len() - kept.len(),
        if report.pruned.len() - kept.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    for p in &kept {
        text.push_str(&format!(
            "  still there: {} (held by a finalizer?)\n",
            p.object
        ));
    }
    // The parent goes last, and only when everything it listed is gone: otherwise a later
    // run must still find what it owns.
    if kept.is_empty() {
        match cluster.delete(&inventory.key(), &DeleteOptions::default()) {
            Ok(_) => text.push_str(&format!(
                "deleted the inventory {}/{}\n",
                inventory.namespace, inventory.name
            )),
            Err(e) => {
                out(&text);
                err(&format!("kiln delete: the inventory's parent: {e}\n"));
                return ExitCode::from(1);
            }
        }
    }
    out(&text);
    super::exit_for(kept.len())
}
