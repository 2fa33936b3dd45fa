//! `kiln completion SHELL`: a completion script for bash, zsh, fish, elvish or PowerShell,
//! generated from the command-line definition itself (so it never goes stale).

use super::out;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn run(a: Args) -> ExitCode {
    let mut cmd = super::command();
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "kiln", &mut buf);
    out(&String::from_utf8_lossy(&buf));
    ExitCode::SUCCESS
}
