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
    /// The man page of `restore`, pushgateway-janitor-restore(1).
    ManRestore,
}

/// Renders `what` for `cmd` (the janitor's own, from `cli`). The command
/// is passed in, so this module knows nothing of the arguments.
pub fn write(what: Generate, mut cmd: clap::Command, out: &mut dyn Write) -> io::Result<()> {
    let name = cmd.get_name().to_owned();
    let shell = match what {
        Generate::Man => {
            // Each command has a page of its own.
            let pages = cmd
                .get_subcommands()
                .map(|sub| format!("{name}-{}", sub.get_name()))
                .collect();
            return man(cmd, pages, out);
        }
        Generate::ManRestore => {
            return man(subcommand_page(cmd, "restore")?, vec![name], out);
        }
        Generate::CompletionsBash => return bash(cmd, out),
        Generate::CompletionsZsh => return zsh(cmd, out),
        Generate::CompletionsFish => Shell::Fish,
        Generate::CompletionsElvish => Shell::Elvish,
        Generate::CompletionsPowershell => Shell::PowerShell,
    };
    clap_complete::generate(shell, &mut cmd, name, out);
    Ok(())
}

/// The command `name` under `cmd`, as its own page names it: built first,
/// so it is `pushgateway-janitor-restore` with the synopsis
/// `pushgateway-janitor restore` (clap_mangen's convention for a
/// subcommand's page).
fn subcommand_page(mut cmd: clap::Command, name: &str) -> io::Result<clap::Command> {
    cmd.build();
    let sub = cmd
        .find_subcommand(name)
        .cloned()
        .ok_or_else(|| io::Error::other(format!("no command {name}")))?;
    // The page's source line names the program and its version, as the
    // main page's does; clap keeps names as `'static` strings, and this
    // runs once before the process exits.
    let page: &'static str = format!("{}-{name}", cmd.get_name()).leak();
    Ok(sub.name(page).version(env!("CARGO_PKG_VERSION")))
}

/// clap_complete's bash script, with its one slip for a program whose name
/// has a `-` mended: it sets `cmd` to `pushgateway__janitor__subcmd__restore`
/// once `restore` is typed, but labels that case
/// `pushgateway__subcmd__janitor__subcmd__restore` (the program's `-`
/// replaced by the subcommand separator), so nothing after `restore` was
/// completed.
fn bash(mut cmd: clap::Command, out: &mut dyn Write) -> io::Result<()> {
    const SEPARATOR: &str = "__subcmd__";
    let name = cmd.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(Shell::Bash, &mut cmd, name.clone(), &mut script);
    let mut script = String::from_utf8_lossy(&script).into_owned();
    for sub in cmd.get_subcommands() {
        let label = format!(
            "{}{SEPARATOR}{}",
            name.replace('-', SEPARATOR),
            sub.get_name()
        );
        let set = format!("{}{SEPARATOR}{}", name.replace('-', "__"), sub.get_name());
        script = script.replace(&format!("        {label})\n"), &format!("        {set})\n"));
    }
    out.write_all(script.as_bytes())
}

/// clap_complete's zsh script, with the rest-arguments spec of a
/// command's positional values (`restore`'s FILE...) written `*:` rather
/// than `*::`: with `*::`, zsh hands the rest of the line to the FILE
/// completion alone, so no flag was completed after a file
/// (`restore a.jsonl --rep`).
fn zsh(mut cmd: clap::Command, out: &mut dyn Write) -> io::Result<()> {
    let name = cmd.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(Shell::Zsh, &mut cmd, name, &mut script);
    let mut script = String::from_utf8_lossy(&script).into_owned();
    let commands = std::iter::once(&cmd).chain(cmd.get_subcommands());
    for positional in commands.flat_map(|c| c.get_positionals()) {
        let id = positional.get_id().as_str();
        script = script.replace(&format!("\n'*::{id} -- "), &format!("\n'*:{id} -- "));
    }
    out.write_all(script.as_bytes())
}

/// A man page, its sections in man-pages(7) order: NAME, SYNOPSIS,
/// DESCRIPTION, OPTIONS (the help headings as subsections), EXIT STATUS,
/// ENVIRONMENT, EXAMPLES, SEE ALSO. The last three come from the blocks of
/// the long help's epilogue (`Examples:`, `Environment:`, `Exit codes:`),
/// so they say what `--help` says; examples are set without filling, each
/// command on its lines as written.
fn man(cmd: clap::Command, see_also: Vec<String>, out: &mut dyn Write) -> io::Result<()> {
    let mut page = Vec::new();
    man_sections(cmd, &see_also, &mut page)?;
    // Each part comes with roff's definition of the apostrophe string:
    // once is enough.
    let mut seen = Vec::new();
    for line in String::from_utf8_lossy(&page).lines() {
        if line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq") {
            if seen.contains(&line) {
                continue;
            }
            seen.push(line);
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn man_sections(
    mut cmd: clap::Command,
    see_also: &[String],
    out: &mut dyn Write,
) -> io::Result<()> {
    use roff::{bold, roman, Roff};
    cmd.build();
    let epilogue = cmd
        .get_after_long_help()
        .map(ToString::to_string)
        .unwrap_or_default();
    let headings: Vec<String> = cmd
        .get_arguments()
        .filter_map(|a| a.get_help_heading())
        .map(str::to_owned)
        .collect();
    let page = clap_mangen::Man::new(cmd);
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    let mut options = Vec::new();
    page.render_options_section(&mut options)?;
    // clap_mangen makes each help heading a section of its own; here they
    // are subsections of OPTIONS.
    for line in String::from_utf8_lossy(&options).lines() {
        match line.strip_prefix(".SH ") {
            Some(h) if h != "OPTIONS" => {
                let heading = headings
                    .iter()
                    .find(|x| x.to_uppercase() == h.trim_matches('"'))
                    .map_or(h, String::as_str);
                writeln!(out, ".SS {heading}")?;
            }
            _ => writeln!(out, "{line}")?,
        }
    }

    let block = |title: &str| -> Vec<String> {
        let mut lines = epilogue
            .lines()
            .skip_while(|l| *l != title)
            .skip(1)
            .take_while(|l| l.is_empty() || l.starts_with(' '))
            .map(|l| l.strip_prefix("  ").unwrap_or(l).to_owned())
            .collect::<Vec<_>>();
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        lines
    };
    // `NAME  text` rows (two spaces or more between) as tagged paragraphs.
    let rows = |roff: &mut Roff, lines: Vec<String>| {
        for line in lines {
            let (tag, text) = line.split_once("  ").unwrap_or((line.as_str(), ""));
            roff.control("TP", [])
                .text([bold(tag)])
                .text([roman(text.trim())]);
        }
    };
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    rows(&mut roff, block("Exit codes:"));
    roff.control("SH", ["ENVIRONMENT"]);
    rows(&mut roff, block("Environment:"));
    roff.control("SH", ["EXAMPLES"]);
    // Comment lines (the prose, however many), then the command's lines
    // until the next blank.
    for example in block("Examples:").split(|l| l.is_empty()) {
        let prose = example.iter().take_while(|l| l.starts_with('#')).count();
        let (comment, command) = example.split_at(prose);
        if command.is_empty() {
            continue;
        }
        let comment: Vec<&str> = comment
            .iter()
            .map(|l| l.trim_start_matches('#').trim())
            .collect();
        roff.control("PP", []).text([roman(comment.join(" "))]);
        roff.control("PP", [])
            .control("RS", ["4"])
            .control("nf", []);
        for line in command {
            roff.text([roman(line.as_str())]);
        }
        roff.control("fi", []).control("RE", []);
    }
    roff.control("SH", ["SEE ALSO"]);
    let mut refs = Vec::new();
    for page in see_also
        .iter()
        .map(String::as_str)
        .chain(["prometheus-pushgateway"])
    {
        refs.extend([bold(page), roman("(1), ")]);
    }
    refs.pop();
    refs.push(roman(
        "(1); the README and docs/ at /usr/share/doc/pushgateway-janitor/ or in the source.",
    ));
    roff.text(refs);
    roff.to_writer(out)
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
            let text = page(*what);
            assert!(text.contains("pushgateway-janitor"), "{what:?}");
            let flag = match what {
                Generate::ManRestore => "replace",
                _ => "threshold",
            };
            assert!(text.contains(flag), "{what:?}");
        }
    }

    /// Issue 24 item 8. Before: the script set `cmd` to
    /// `pushgateway__janitor__subcmd__restore` after `restore` but labelled
    /// its case `pushgateway__subcmd__janitor__subcmd__restore`.
    #[test]
    fn the_bash_script_labels_each_command_as_it_sets_it() {
        let script = page(Generate::CompletionsBash);
        let set: Vec<&str> = script
            .lines()
            .filter_map(|l| l.trim().strip_prefix("cmd=\""))
            .map(|l| l.trim_end_matches('"'))
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(
            set,
            [
                "pushgateway__janitor",
                "pushgateway__janitor__subcmd__restore"
            ]
        );
        for cmd in set {
            assert!(script.contains(&format!("\n        {cmd})\n")), "{cmd}");
        }
    }

    /// What `--generate WHAT` writes.
    fn page(what: Generate) -> String {
        let mut out = Vec::new();
        write(what, cmd(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// A man page's section headings, in order.
    fn sections(text: &str) -> Vec<&str> {
        text.lines()
            .filter_map(|l| l.strip_prefix(".SH "))
            .collect()
    }

    /// Issue 24 item 7. Before: `--generate man` only; restore had no page.
    #[test]
    fn restore_has_a_page_of_its_own() {
        let text = page(Generate::ManRestore);
        assert!(
            text.contains("\n.TH pushgateway-janitor-restore 1 "),
            "{text}"
        );
        assert_eq!(
            sections(&text),
            [
                "NAME",
                "SYNOPSIS",
                "DESCRIPTION",
                "OPTIONS",
                "\"EXIT STATUS\"",
                "ENVIRONMENT",
                "EXAMPLES",
                "\"SEE ALSO\""
            ],
            "{text}"
        );
        assert!(text.contains("pushgateway\\-janitor restore\\fR FILE..."));
        for code in ["0", "1", "2", "4"] {
            assert!(text.contains(&format!(".TP\n\\fB{code}\\fR\n")), "{code}");
        }
        for flag in ["replace", "basic\\-auth\\-user", "retries", "ca\\-cert"] {
            assert!(text.contains(&format!("\\fB\\-\\-{flag}\\fR")), "{flag}");
        }
        assert!(text.contains(".TP\n\\fBPUSHGATEWAY_URL\\fR\n"));
        assert!(text.contains("\\fBpushgateway\\-janitor\\fR(1)"));
        // The main page names it.
        let main = page(Generate::Man);
        assert!(main.contains("\\fBpushgateway\\-janitor\\-restore\\fR(1)"));
    }

    /// Issue 18 item 7. Before: clap_mangen's default page, with the
    /// examples and exit codes filled into one "EXTRA" section (commands
    /// wrapped mid-line), and no EXIT STATUS or ENVIRONMENT.
    #[test]
    fn man_page_sections_follow_man_pages_7() {
        let text = page(Generate::Man);
        assert!(text.contains("\n.TH pushgateway-janitor 1 "), "{text}");
        assert_eq!(text.matches(".ds Aq").count(), 2, "{text}");
        assert_eq!(
            sections(&text),
            [
                "NAME",
                "SYNOPSIS",
                "DESCRIPTION",
                "OPTIONS",
                "\"EXIT STATUS\"",
                "ENVIRONMENT",
                "EXAMPLES",
                "\"SEE ALSO\""
            ],
            "{text}"
        );
        assert!(text.contains(".SS Authentication\n") && text.contains(".SS TLS\n"));
        // Every exit code and variable, as a tagged paragraph.
        for code in crate::exit::ExitStatus::ALL {
            assert!(
                text.contains(&format!(".TP\n\\fB{}\\fR\n", code.code())),
                "{code:?}"
            );
        }
        for var in ["PUSHGATEWAY_URL", "PUSHGATEWAY_JANITOR_LOG", "NO_COLOR"] {
            assert!(text.contains(&format!(".TP\n\\fB{var}\\fR\n")), "{var}");
        }
        // Each example command unfilled, continuation lines kept as lines.
        let examples = &text[text.find(".SH EXAMPLES").unwrap()..];
        assert!(examples.contains(".nf\npushgateway\\-janitor \\-\\-url http://pushgateway:9091 \\-\\-dry\\-run\n.fi\n"), "{examples}");
        assert!(
            examples.contains("\\-\\-max\\-deletes 50\n.fi\n"),
            "{examples}"
        );
    }

    /// Issue 29 items 4 and 6. Before: an example whose comment took two
    /// lines had its second line in the code block (`# waits an hour as
    /// pending, ...` set as a command), and no example showed a size
    /// bound or `restore` after `--archive`.
    #[test]
    fn each_example_is_its_prose_then_only_commands() {
        let text = page(Generate::Man);
        let examples =
            &text[text.find(".SH EXAMPLES").unwrap()..text.find(".SH \"SEE ALSO\"").unwrap()];
        let mut blocks = 0;
        for block in examples.split(".nf\n").skip(1) {
            let code = &block[..block.find(".fi\n").unwrap()];
            for line in code.lines() {
                assert!(
                    line.starts_with("pushgateway\\-janitor ") || line.starts_with("    \\-"),
                    "not a command line in an example: {line:?}\n{examples}"
                );
            }
            blocks += 1;
        }
        assert!(blocks >= 10, "{examples}");
        assert!(examples.contains("\n.PP\nPushers declare their own TTL (ttl=\"30m\" in the grouping key); a stale group waits an hour as pending, announced to a Slack or Mattermost webhook:\n"), "{examples}");
        assert!(
            examples.contains("\\-\\-max\\-series 50000 \\-\\-evict\\-after 1h"),
            "{examples}"
        );
        assert!(
            examples.contains("\\-\\-archive /var/lib/pgj/archive\npushgateway\\-janitor restore "),
            "{examples}"
        );
    }
}
