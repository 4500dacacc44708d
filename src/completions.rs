//! Shell completions and the man page, generated from the clap definition
//! by the hidden `--generate WHAT` flag, so they never drift from `--help`.

use std::io::{self, Write};

use clap::ValueEnum;
use clap_complete::Shell;

/// What `--generate` writes to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generate {
    CompletionsBash,
    CompletionsZsh,
    CompletionsFish,
    CompletionsElvish,
    CompletionsPowershell,
    /// The man page, roff (`man -l`).
    Man,
}

/// Renders `what` for `cmd` (the janitor's own, from `cli`). The command
/// is passed in, so this module knows nothing of the arguments.
pub fn write(what: Generate, mut cmd: clap::Command, out: &mut dyn Write) -> io::Result<()> {
    let name = cmd.get_name().to_owned();
    let shell = match what {
        Generate::Man => return clap_mangen::Man::new(cmd).render(out),
        Generate::CompletionsBash => Shell::Bash,
        Generate::CompletionsZsh => Shell::Zsh,
        Generate::CompletionsFish => Shell::Fish,
        Generate::CompletionsElvish => Shell::Elvish,
        Generate::CompletionsPowershell => Shell::PowerShell,
    };
    clap_complete::generate(shell, &mut cmd, name, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    fn cmd() -> clap::Command {
        crate::cli::Args::command()
    }

    #[test]
    fn every_target_renders() {
        for what in Generate::value_variants() {
            let mut out = Vec::new();
            write(*what, cmd(), &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(text.contains("pushgateway-janitor"), "{what:?}");
            assert!(text.contains("threshold"), "{what:?}");
        }
    }

    #[test]
    fn man_page_has_the_exit_codes() {
        let mut out = Vec::new();
        write(Generate::Man, cmd(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(".TH pushgateway-janitor"));
        assert!(text.contains("Exit codes"), "the after_help block");
    }
}
