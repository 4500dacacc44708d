//! The README and docs/ are tests: every command and output they show runs
//! here, against the built binary and real Pushgateways on loopback
//! (docs/development.md, "The docs are tests").
//!
//! - ```` ```console ```` blocks run through trycmd. A command that names
//!   `http://pushgateway:9091` reaches a real gateway this test starts,
//!   through `http_proxy` (tests/integration/common/proxy.rs, which a gateway answers
//!   in absolute form as any proxied request), so the docs show the URL a
//!   reader types.
//! - Recipes (` ```sh `, ` ```crontab `) carry `<!-- test: NAME -->` and run
//!   with bash in a temporary root: absolute paths under /etc, /var and
//!   /usr/local move into it, and `sudo`, `useradd`, `systemctl` and
//!   `systemd-run` are stand-ins on PATH that do what this test can do
//!   without root or systemd (`sudo` runs its command, `systemd-run` loads
//!   the EnvironmentFile= and runs the command, the others record).
//! - Anything else says `<!-- not run: why -->`; a block with none of these
//!   fails `every_command_block_is_run_or_says_why`.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::proxy::{Proxy, Rules};
use common::Pushgateway;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn janitor_bin() -> &'static str {
    env!("CARGO_BIN_EXE_pushgateway-janitor")
}

/// README.md and every page of docs/.
fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// One fenced block of a Markdown file.
#[derive(Debug)]
struct Block {
    file: PathBuf,
    line: usize,
    lang: String,
    /// The `<!-- ... -->` line right before the fence, if any.
    marker: Option<String>,
    body: String,
}

/// Every fenced block, as trycmd sees them: a fence is a line that starts
/// with three backticks.
fn blocks(file: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(info) = lines[i].strip_prefix("```") else {
            i += 1;
            continue;
        };
        let marker = lines[..i]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| l.trim().strip_prefix("<!--"))
            .and_then(|l| l.strip_suffix("-->"))
            .map(|m| m.trim().to_owned());
        let start = i;
        i += 1;
        let mut body = String::new();
        while i < lines.len() && !lines[i].starts_with("```") {
            body.push_str(lines[i]);
            body.push('\n');
            i += 1;
        }
        out.push(Block {
            file: file.to_owned(),
            line: start + 1,
            lang: info.trim().to_owned(),
            marker,
            body,
        });
        i += 1;
    }
    out
}

/// The recipe marked `<!-- test: NAME -->`, in whichever doc it is.
fn recipe(name: &str) -> Block {
    let mut found: Vec<Block> = doc_files()
        .iter()
        .flat_map(|f| blocks(f))
        .filter(|b| marker_name(b, "test:") == Some(name))
        .collect();
    assert_eq!(found.len(), 1, "one block marked `test: {name}`");
    found.remove(0)
}

/// A marker's first word after `kind` (`test:`, `output:`).
fn marker_name<'a>(block: &'a Block, kind: &str) -> Option<&'a str> {
    block
        .marker
        .as_deref()?
        .strip_prefix(kind)?
        .split_whitespace()
        .next()
}

/// The recipes this file runs, by marker name.
const RECIPES: &[&str] = &[
    "install-tarball",
    "demo",
    "crontab",
    "systemd",
    "kubectl",
    "completions",
    "by-hand",
    "policy-example",
    "textfile-example",
    // Run by tests/integration/restore.rs, against a gateway it starts.
    "undo",
    // Run by tests/integration/lifecycle.rs, against gateways it starts.
    "ttl-example",
    "grace-example",
];

/// Languages whose blocks are commands a reader runs.
const COMMANDS: &[&str] = &["sh", "bash", "shell", "console", "crontab"];

#[test]
fn every_command_block_is_run_or_says_why() {
    let mut marked = BTreeSet::new();
    for file in doc_files() {
        for b in blocks(&file) {
            let at = format!("{}:{}", b.file.display(), b.line);
            // trycmd reads a fence without a language as its own.
            assert!(!b.lang.is_empty(), "{at}: a fence without a language");
            if b.lang == "console" {
                for line in b.body.lines().filter(|l| l.starts_with("$ ")) {
                    // trycmd skips, silently, a program it does not know.
                    let program = line[2..]
                        .split_whitespace()
                        .find(|w| !w.contains('='))
                        .unwrap_or_default();
                    assert_eq!(program, "pushgateway-janitor", "{at}: {line}");
                }
                continue;
            }
            if !COMMANDS.contains(&b.lang.as_str()) {
                continue;
            }
            match b.marker.as_deref() {
                Some(m) if m.starts_with("not run:") && m.len() > "not run: ".len() + 10 => {}
                Some(m) if m.starts_with("test:") => {
                    let name = marker_name(&b, "test:").unwrap();
                    assert!(RECIPES.contains(&name), "{at}: no test runs `{name}`");
                    assert!(marked.insert(name.to_owned()), "{at}: `{name}` twice");
                }
                other => panic!(
                    "{at}: a {} block that is neither run (<!-- test: NAME -->) nor says why not (<!-- not run: ... -->): {other:?}",
                    b.lang
                ),
            }
        }
    }
    let expected: BTreeSet<String> = RECIPES.iter().map(|s| s.to_string()).collect();
    assert_eq!(marked, expected, "every recipe test has its block");
}

/// Every line that starts with `|` outside a code block is a row of a
/// table as a Markdown renderer (pulldown-cmark, GitHub's table extension)
/// reads it: a blank line inside a table ends it there, and the rows after
/// it render as one paragraph of pipes. Before: docs/usage.md's flags table
/// stopped after `--bearer-token-file`, its last 12 rows shown as text.
#[test]
fn every_table_renders_as_one_table() {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let mut broken = Vec::new();
    let mut found = 0;
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut tables = Vec::new();
        let mut code = Vec::new();
        for (event, range) in Parser::new_ext(&text, Options::ENABLE_TABLES).into_offset_iter() {
            match event {
                Event::Start(Tag::Table(_)) => tables.push(range),
                Event::Start(Tag::CodeBlock(_) | Tag::HtmlBlock) => code.push(range),
                _ => {}
            }
        }
        let within =
            |ranges: &[std::ops::Range<usize>], at: usize| ranges.iter().any(|r| r.contains(&at));
        let mut at = 0;
        for (n, line) in text.split_inclusive('\n').enumerate() {
            let start = at + (line.len() - line.trim_start().len());
            at += line.len();
            if !line.trim_start().starts_with('|') || within(&code, start) {
                continue;
            }
            if !within(&tables, start) {
                broken.push(format!(
                    "{}:{}: a table row that renders as text (a blank line before it ends its table?): {}",
                    file.display(),
                    n + 1,
                    line.trim_end()
                ));
            }
        }
        found += tables.len();
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    // The parser reads tables at all (the README's exit codes are one).
    assert!(found > 10, "only {found} tables");
}

/// A real gateway, and the proxy through which `http://pushgateway:9091`
/// (any URL, in absolute form) reaches it.
struct Docs {
    pg: Pushgateway,
    proxy: Proxy,
}

/// A stale Flink ghost (pushed, then aged 2h) and a fresh batch job: what
/// the README's dry run and the report example show.
fn gateway_with_a_ghost() -> Docs {
    let mut pg = Pushgateway::start();
    pg.push_ok(
        &[
            ("job", "flink-metrics0a1b2c3d4e5f60718293a4b5c6d7e8f9"),
            ("cluster", "demo"),
        ],
        "flink_taskmanager_Status_JVM_CPU_Load",
    );
    // Two seconds more: the gateway's Date header counts whole seconds,
    // and the age reads at least 2h.
    pg.age(Duration::from_secs(2 * 3600 + 2));
    pg.push_ok(
        &[("job", "backup"), ("instance", "db-1")],
        "backup_last_success",
    );
    let proxy = Proxy::new(&pg.url, Rules::default());
    Docs { pg, proxy }
}

/// trycmd over `file`'s console blocks, the binary as `pushgateway-janitor`.
fn console(file: &str, docs: Option<&Docs>) {
    let home = tempfile::tempdir().unwrap();
    let cases = trycmd::TestCases::new();
    cases
        .register_bin("pushgateway-janitor", Path::new(janitor_bin()))
        .timeout(Duration::from_secs(60))
        .env("HOME", home.path().to_str().unwrap())
        .env("NO_COLOR", "1")
        .case(root().join(file));
    if let Some(docs) = docs {
        cases
            .env("http_proxy", &docs.proxy.url)
            .env("HTTP_PROXY", &docs.proxy.url)
            .env("no_proxy", "")
            .env("NO_PROXY", "");
    } else {
        // Nothing here may reach a gateway: a proxy that refuses.
        let closed = format!("http://127.0.0.1:{}", common::refused_port());
        cases.env("http_proxy", &closed).env("HTTP_PROXY", &closed);
    }
    cases.run();
}

#[test]
fn readme_console_examples() {
    let docs = gateway_with_a_ghost();
    console("README.md", Some(&docs));
    // A dry run: the ghost is still there.
    assert_eq!(docs.pg.groups().len(), 2);
}

#[test]
fn report_example_is_a_real_report() {
    let docs = gateway_with_a_ghost();
    // A dry run first: report.md's run deletes the ghost.
    console("docs/health.md", Some(&docs));
    console("docs/report.md", Some(&docs));
    docs.pg
        .wait_for_groups(&[&[("job", "backup"), ("instance", "db-1")]]);
}

/// The pages whose console blocks are usage errors: nothing is sent.
#[test]
fn console_examples_that_need_no_gateway() {
    for file in [
        "docs/usage.md",
        "docs/errors.md",
        "docs/policy.md",
        "docs/auth-tls.md",
        "docs/rhythms.md",
    ] {
        console(file, None);
    }
}

/// Where a recipe runs: a temporary root for its absolute paths, a home, a
/// bin directory with the janitor, the gateway and the stand-ins.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let sandbox = Sandbox {
            dir: tempfile::tempdir().unwrap(),
        };
        // What exists on a Debian machine with cron and systemd.
        for d in [
            "root/usr/local/bin",
            "root/etc/cron.d",
            "root/etc/systemd/system",
            "home",
            "bin",
        ] {
            std::fs::create_dir_all(sandbox.path(d)).unwrap();
        }
        let bin = sandbox.path("bin");
        std::os::unix::fs::symlink(janitor_bin(), bin.join("pushgateway-janitor")).unwrap();
        std::os::unix::fs::symlink(
            common::pushgateway_bin(),
            bin.join("prometheus-pushgateway"),
        )
        .unwrap();
        let log = sandbox.path("stand-ins.log");
        let stand_in = |name: &str, script: &str| {
            let path = bin.join(name);
            std::fs::write(&path, format!("#!/bin/bash\nset -euo pipefail\n{script}\n")).unwrap();
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        let record = format!("echo \"$(basename \"$0\") $*\" >>{}", log.display());
        // sudo runs its command as this user; -u USER is the user it would be.
        stand_in(
            "sudo",
            &format!(
                "{record}\nwhile [ $# -gt 0 ]; do case \"$1\" in -u) shift 2 ;; -*) shift ;; *) break ;; esac; done\nexec \"$@\""
            ),
        );
        stand_in("useradd", &record);
        stand_in("systemctl", &record);
        // install's -o/-g need the user useradd would have made.
        stand_in(
            "install",
            &format!(
                "{record}\nargs=()\nwhile [ $# -gt 0 ]; do case \"$1\" in -o|-g) shift 2 ;; *) args+=(\"$1\"); shift ;; esac; done\nexec /usr/bin/install \"${{args[@]}}\""
            ),
        );
        // systemd-run --wait --pipe -p EnvironmentFile=F CMD...: CMD with F's
        // variables, as the unit's process would have them.
        stand_in(
            "systemd-run",
            &format!(
                "{record}\nenv_file=\nwhile [ $# -gt 0 ]; do case \"$1\" in -p) case \"$2\" in EnvironmentFile=*) env_file=\"${{2#EnvironmentFile=}}\" ;; esac; shift 2 ;; -*) shift ;; *) break ;; esac; done\n[ -z \"$env_file\" ] || {{ set -a; . \"$env_file\"; set +a; }}\nexec \"$@\""
            ),
        );
        sandbox
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `text` with its absolute paths moved under the sandbox's root.
    fn map(&self, text: &str) -> String {
        let root = self.path("root");
        let mut out = text.to_owned();
        for prefix in ["/etc/", "/var/", "/usr/local/", "/usr/share/"] {
            for lead in [" ", "=", "'", "\"", ":", "\n", ">", "<"] {
                out = out.replace(
                    &format!("{lead}{prefix}"),
                    &format!("{lead}{}{prefix}", root.display()),
                );
            }
        }
        out
    }

    /// Runs `script` with bash (`-e`, `pipefail`) in `cwd`.
    fn run(&self, script: &str, cwd: &Path, docs: Option<&Docs>) -> Output {
        let path = format!(
            "{}:{}:/usr/bin:/bin",
            self.path("bin").display(),
            self.path("root/usr/local/bin").display()
        );
        let mut cmd = Command::new("bash");
        cmd.args(["-eo", "pipefail", "-c", script])
            .current_dir(cwd)
            .env("PATH", path)
            .env("HOME", self.path("home"))
            .env("NO_COLOR", "1")
            .env_remove("PUSHGATEWAY_URL")
            .env_remove("PUSHGATEWAY_JANITOR_LOG")
            .env_remove("no_proxy")
            .env_remove("NO_PROXY")
            .stdin(std::process::Stdio::null());
        match docs {
            Some(docs) => cmd
                .env("http_proxy", &docs.proxy.url)
                .env("HTTP_PROXY", &docs.proxy.url),
            None => cmd.env_remove("http_proxy").env_remove("HTTP_PROXY"),
        };
        common::checked(cmd.output().unwrap())
    }

    /// The janitor where the Install section puts it, /usr/local/bin (the
    /// sandbox's).
    fn install_janitor(&self) {
        std::os::unix::fs::symlink(
            janitor_bin(),
            self.path("root/usr/local/bin/pushgateway-janitor"),
        )
        .unwrap();
    }

    /// `command` as cron runs it: with /bin/sh, none of the test's
    /// environment but cron's PATH (the sandbox's /usr/local/bin first)
    /// and the proxy to `docs`' gateway.
    fn cron(&self, command: &str, docs: &Docs) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", command])
            .env_clear()
            .env(
                "PATH",
                format!(
                    "{}/root/usr/local/bin:/usr/bin:/bin",
                    self.dir.path().display()
                ),
            )
            .env("http_proxy", &docs.proxy.url);
        cmd
    }

    fn stand_ins(&self) -> String {
        std::fs::read_to_string(self.path("stand-ins.log")).unwrap_or_default()
    }
}

fn ok(out: &Output, what: &str) -> String {
    common::assert_no_panic(&String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what}: {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

const FRESH: &[(&str, &str)] = &[("job", "backup"), ("instance", "db-1")];

/// Issue 18 items 1 and 3: the by-hand try-out, as written, on a port it
/// checked and a data file of its own, stopped at the end; what it prints
/// is the output block below it. Before: it started its gateway on :9091,
/// where Debian's package runs the system gateway, and its last command
/// (not a dry run) then cleaned that one.
#[test]
fn the_by_hand_recipe_runs_on_a_gateway_of_its_own() {
    let block = recipe("by-hand");
    let commands = block
        .body
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'));
    for line in commands {
        assert!(!line.contains("9091"), "a fixed port: {line}");
    }
    let sandbox = Sandbox::new();
    // A gateway already on the port the recipe might have used is left
    // alone: the janitor's runs go to the recipe's own.
    let bystander = gateway_with_a_ghost();
    let out = sandbox.run(&block.body, sandbox.dir.path(), None);
    let stdout = ok(&out, "by-hand");
    let expected = doc_files()
        .iter()
        .flat_map(|f| blocks(f))
        .find(|b| marker_name(b, "output:") == Some("by-hand"))
        .expect("an output block for by-hand");
    snapbox::Assert::new().eq(stdout.clone(), expected.body);
    assert_eq!(bystander.pg.groups().len(), 2);
    // Its gateway is stopped: nothing the recipe started is left.
    let port = stdout
        .lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .unwrap()
        .to_owned();
    assert!(
        std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err(),
        "the recipe's gateway still listens on {port}"
    );
}

/// The README's crontab line, run as cron runs it (`sh -c`, cron's PATH
/// from the line above it, the user's HOME) against a real gateway.
#[test]
fn the_crontab_line_runs_as_cron_runs_it() {
    let block = recipe("crontab");
    let docs = gateway_with_a_ghost();
    let sandbox = Sandbox::new();
    let mut lines = block.body.lines();
    let path = lines.next().unwrap().strip_prefix("PATH=").unwrap();
    assert_eq!(path, "/usr/local/bin:/usr/bin:/bin");
    let entry = lines.next().unwrap();
    let fields: Vec<&str> = entry.splitn(6, ' ').collect();
    assert_eq!(fields[..5], ["*/5", "*", "*", "*", "*"]);
    // cron runs the command with /bin/sh; the janitor is where the
    // Install section puts it, /usr/local/bin (here, the sandbox's).
    sandbox.install_janitor();
    let out = sandbox
        .cron(fields[5], &docs)
        .env("HOME", sandbox.path("home"))
        .output()
        .unwrap();
    ok(&out, "the crontab line");
    let log = std::fs::read_to_string(sandbox.path("home/pushgateway-janitor.log")).unwrap();
    assert!(
        log.contains("http://pushgateway:9091: 2 groups, 1 stale: 1 deleted, 0 failed"),
        "{log}"
    );
    assert!(sandbox.path("home/.pushgateway-janitor.lock").exists());
    docs.pg.wait_for_groups(&[FRESH]);
}

/// The README's systemd lines, then the installed service's ExecStart= as
/// systemd would start it (EnvironmentFile=, StateDirectory=), against a
/// real gateway. Before: the README's lines created no env file, and the
/// unit's --textfile made every run on a host without node_exporter exit 2.
#[test]
fn the_systemd_recipe_installs_what_the_service_needs() {
    let block = recipe("systemd");
    let docs = gateway_with_a_ghost();
    let sandbox = Sandbox::new();
    sandbox.install_janitor();
    let out = sandbox.run(&sandbox.map(&block.body), &root(), Some(&docs));
    let stdout = ok(&out, "the systemd lines");
    // The dry run, through systemd-run with the env file.
    assert!(
        stdout.contains("would delete   {job=\"flink-metrics0a1b2c3d4e5f60718293a4b5c6d7e8f9\",cluster=\"demo\"}"),
        "{stdout}"
    );
    assert!(sandbox
        .stand_ins()
        .contains("systemctl enable --now pushgateway-janitor.timer"));
    let units = sandbox.path("root/etc/systemd/system");
    assert!(units.join("pushgateway-janitor.timer").is_file());
    let unit = std::fs::read_to_string(units.join("pushgateway-janitor.service")).unwrap();
    let env_file = unit
        .lines()
        .find_map(|l| l.strip_prefix("EnvironmentFile="))
        .unwrap();
    let state = unit
        .lines()
        .find_map(|l| l.strip_prefix("StateDirectory="))
        .unwrap();
    std::fs::create_dir_all(sandbox.path("root/var/lib").join(state)).unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    let script = format!(
        "set -a; . {}; set +a; exec {}",
        sandbox.map(&format!(" {env_file}")),
        sandbox.map(&format!(" {exec}"))
    );
    let out = sandbox.run(&script, sandbox.dir.path(), Some(&docs));
    ok(&out, "the service's ExecStart=");
    assert!(sandbox
        .path("root/var/lib/pushgateway-janitor/report.json")
        .is_file());
    docs.pg.wait_for_groups(&[FRESH]);
}

/// deploy/cron's install lines (its header) and its entry, run as cron
/// runs it. Before: nothing created /var/log/pushgateway-janitor, and the
/// entry's --textfile made every run exit 2 without node_exporter.
#[test]
fn the_cron_d_recipe_installs_what_its_entry_needs() {
    let text =
        std::fs::read_to_string(root().join("deploy/cron/pushgateway-janitor.cron")).unwrap();
    let install: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("# Install"))
        .skip_while(|l| !l.starts_with("#   "))
        .take_while(|l| l.starts_with("#   "))
        .map(|l| &l[4..])
        .collect();
    assert!(install.len() >= 5, "{install:?}");
    let docs = gateway_with_a_ghost();
    let sandbox = Sandbox::new();
    sandbox.install_janitor();
    let script = sandbox.map(&format!("\n{}", install.join("\n")));
    let out = sandbox.run(&script, &root(), Some(&docs));
    let stdout = ok(&out, "deploy/cron's install lines");
    assert!(stdout.contains("1 would be deleted"), "{stdout}");
    assert!(sandbox.stand_ins().contains("useradd --system"));
    assert!(sandbox
        .path("root/etc/cron.d/pushgateway-janitor")
        .is_file());
    // The entry, with the file's own PATH and SHELL.
    let entry = text
        .lines()
        .find(|l| l.starts_with("*/5"))
        .expect("an entry");
    assert_eq!(
        entry.split_whitespace().nth(5),
        Some("pushgateway-janitor"),
        "the user field"
    );
    let command = entry
        .split_once(" pushgateway-janitor ")
        .map(|(_, rest)| rest)
        .unwrap();
    let out = sandbox
        .cron(&sandbox.map(&format!(" {command}")), &docs)
        .output()
        .unwrap();
    ok(&out, "the cron entry");
    let log = std::fs::read_to_string(sandbox.path("root/var/log/pushgateway-janitor/janitor.log"))
        .unwrap();
    assert!(log.contains("1 deleted, 0 failed"), "{log}");
    assert!(sandbox
        .path("root/var/lib/pushgateway-janitor/report.json")
        .is_file());
    docs.pg.wait_for_groups(&[FRESH]);
}

/// The Install section's tarball line against a tarball made by
/// release.yml's own Archive step (the URL moved to a local file).
/// Before: `OWNER` in the URL, and the binary unpacked into the current
/// directory while every recipe expects /usr/local/bin.
#[test]
fn the_install_line_unpacks_the_release_tarball_into_usr_local_bin() {
    let block = recipe("install-tarball");
    let sandbox = Sandbox::new();
    // The release job's Archive step, as the workflow runs it.
    let workflow: serde_norway::Value = serde_norway::from_str(
        &std::fs::read_to_string(root().join(".github/workflows/release.yml")).unwrap(),
    )
    .unwrap();
    let archive = workflow["jobs"]["binaries"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str() == Some("Archive"))
        .expect("an Archive step");
    let build = sandbox.path("build");
    let target = "x86_64-unknown-linux-musl";
    std::fs::create_dir_all(build.join(format!("target/{target}/release"))).unwrap();
    std::fs::copy(
        janitor_bin(),
        build.join(format!("target/{target}/release/pushgateway-janitor")),
    )
    .unwrap();
    for f in ["README.md", "CHANGELOG.md"] {
        std::fs::copy(root().join(f), build.join(f)).unwrap();
    }
    let out = Command::new("bash")
        .args(["-eo", "pipefail", "-c", archive["run"].as_str().unwrap()])
        .current_dir(&build)
        .env("TARGET", target)
        .env("ARCH", "amd64")
        .env("VERSION", env!("CARGO_PKG_VERSION"))
        .output()
        .unwrap();
    ok(&out, "release.yml's Archive step");
    let releases = format!("{}/releases/download/", env!("CARGO_PKG_REPOSITORY"));
    let download = sandbox.path(&format!("download/v{}", env!("CARGO_PKG_VERSION")));
    std::fs::create_dir_all(&download).unwrap();
    for entry in std::fs::read_dir(build.join("dist")).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, download.join(p.file_name().unwrap())).unwrap();
        }
    }
    assert!(block.body.contains(&releases), "{}", block.body);
    let script = sandbox.map(&block.body).replace(
        &releases,
        &format!("file://{}/", sandbox.path("download").display()),
    );
    let out = sandbox.run(&script, sandbox.dir.path(), None);
    ok(&out, "the install line");
    let installed = sandbox.path("root/usr/local/bin/pushgateway-janitor");
    let version = Command::new(&installed).arg("--version").output().unwrap();
    assert_eq!(
        ok(&version, "the installed binary"),
        format!("pushgateway-janitor {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// `bash examples/demo.sh`, as the quick start says, with this build.
#[test]
fn the_demo_runs() {
    let block = recipe("demo");
    let sandbox = Sandbox::new();
    let out = Command::new("bash")
        .args(["-c", block.body.trim()])
        .current_dir(root())
        .env("JANITOR", janitor_bin())
        .env("PUSHGATEWAY", common::pushgateway_bin())
        .env("NO_COLOR", "1")
        .env("HOME", sandbox.path("home"))
        .env_remove("PUSHGATEWAY_JANITOR_LOG")
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .output()
        .unwrap();
    ok(&out, "the demo");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("== done: 3 stale groups deleted"), "{err}");
}

/// The README's kubectl lines name the Secret, keys and Job the manifests
/// use (no cluster runs here; tests/integration/deploy.rs and kubernetes-validate
/// check the manifests themselves).
#[test]
fn the_kubectl_lines_match_the_manifests() {
    let block = recipe("kubectl");
    let doc = |rel: &str| -> serde_norway::Value {
        serde_norway::from_str(&std::fs::read_to_string(root().join(rel)).unwrap()).unwrap()
    };
    let cronjob = doc("deploy/kubernetes/cronjob.yaml");
    let job = doc("deploy/kubernetes/dry-run-job.yaml");
    let env = &cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]
        [0]["valueFrom"]["secretKeyRef"];
    let namespace = cronjob["metadata"]["namespace"].as_str().unwrap();
    let secret = format!(
        "kubectl -n {namespace} create secret generic {} --from-literal={}=http://pushgateway:9091",
        env["name"].as_str().unwrap(),
        env["key"].as_str().unwrap()
    );
    let lines: Vec<&str> = block.body.lines().collect();
    assert_eq!(lines[0], secret);
    assert_eq!(
        lines[1],
        format!("kubectl -n {namespace} apply -f deploy/kubernetes/dry-run-job.yaml")
    );
    assert_eq!(
        lines[2],
        format!(
            "kubectl -n {namespace} logs -f job/{}",
            job["metadata"]["name"].as_str().unwrap()
        )
    );
    assert_eq!(
        lines[3],
        format!("kubectl -n {namespace} apply -f deploy/kubernetes/cronjob.yaml")
    );
    assert_eq!(
        job["metadata"]["namespace"],
        cronjob["metadata"]["namespace"]
    );
}

/// The completion and man page lines (with sudo): each file is written
/// where the line says, and is what --generate makes. Before: the README's
/// line wrote into /usr/local/share/man without sudo.
#[test]
fn the_completion_lines_install_each_file() {
    let block = recipe("completions");
    let sandbox = Sandbox::new();
    let out = sandbox.run(&sandbox.map(&block.body), sandbox.dir.path(), None);
    ok(&out, "the completion lines");
    for (path, what) in [
        (
            "usr/share/bash-completion/completions/pushgateway-janitor",
            "completions-bash",
        ),
        (
            "usr/local/share/zsh/site-functions/_pushgateway-janitor",
            "completions-zsh",
        ),
        (
            "usr/share/fish/vendor_completions.d/pushgateway-janitor.fish",
            "completions-fish",
        ),
        ("usr/local/share/man/man1/pushgateway-janitor.1", "man"),
        (
            "usr/local/share/man/man1/pushgateway-janitor-restore.1",
            "man-restore",
        ),
    ] {
        let written = std::fs::read(sandbox.path(&format!("root/{path}"))).unwrap();
        let made = Command::new(janitor_bin())
            .args(["--generate", what])
            .output()
            .unwrap();
        assert_eq!(written, made.stdout, "{path}");
    }
    assert_eq!(sandbox.stand_ins().matches("sudo install -D").count(), 5);
}

/// docs/policy.md's example command, against a gateway with the groups it
/// is about: the Flink ghost goes, the nightly backup and the kept jobs stay.
#[test]
fn the_policy_example_does_what_the_page_says() {
    let block = recipe("policy-example");
    let mut pg = Pushgateway::start();
    for key in [
        &[("job", "flinkjob0a1b")][..],
        &[("job", "backup")],
        &[("job", "audit")],
        &[("job", "billing"), ("env", "prod")],
    ] {
        pg.push_ok(key, "x");
    }
    pg.age(Duration::from_secs(2 * 3600));
    pg.push_ok(&[("job", "flinkjob9f8e")], "x");
    let docs = Docs {
        proxy: Proxy::new(&pg.url, Rules::default()),
        pg,
    };
    let sandbox = Sandbox::new();
    let out = sandbox.run(&block.body, sandbox.dir.path(), Some(&docs));
    let stdout = ok(&out, "the policy example");
    assert!(
        stdout.contains("5 groups, 1 stale: 1 deleted, 0 failed; 2 active, 2 kept"),
        "{stdout}"
    );
    docs.pg.wait_for_groups(&[
        &[("job", "backup")],
        &[("job", "audit")],
        &[("job", "billing"), ("env", "prod")],
        &[("job", "flinkjob9f8e")],
    ]);
}

/// docs/monitoring.md's textfile example writes node_exporter's file.
#[test]
fn the_textfile_example_writes_the_collectors_file() {
    let block = recipe("textfile-example");
    let docs = gateway_with_a_ghost();
    let sandbox = Sandbox::new();
    // node_exporter's directory, as Debian's prometheus-node-exporter makes it.
    std::fs::create_dir_all(sandbox.path("root/var/lib/prometheus/node-exporter")).unwrap();
    let out = sandbox.run(&sandbox.map(&block.body), sandbox.dir.path(), Some(&docs));
    ok(&out, "the textfile example");
    let prom = std::fs::read_to_string(
        sandbox.path("root/var/lib/prometheus/node-exporter/pushgateway_janitor.prom"),
    )
    .unwrap();
    assert!(
        prom.contains("pushgateway_janitor_last_run_success 1"),
        "{prom}"
    );
}
