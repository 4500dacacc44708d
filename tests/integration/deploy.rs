//! The deploy recipes and examples: every YAML file parses, the Kubernetes
//! and compose files keep their safety settings, the alerts use only metric
//! names the janitor writes, the GitHub Actions smoke steps pass against a
//! real Pushgateway, and examples/report.json is a valid report.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser as _;
use serde::Deserialize;
use serde_norway::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

/// Every document of a (possibly multi-document) YAML file.
fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

fn one_document(rel: &str) -> Value {
    let mut docs = documents(&root().join(rel));
    assert_eq!(docs.len(), 1, "{rel}");
    docs.remove(0)
}

/// Follows a path of mapping keys and sequence indexes.
fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, key| {
        let next = match key.parse::<usize>() {
            Ok(i) => v.get(i),
            Err(_) => v.get(key),
        };
        next.unwrap_or_else(|| panic!("no {key} in {path}"))
    })
}

/// Runs `script` with `bash -c` in the repository's root, with `env`
/// added; it must succeed. Its stdout.
fn bash_in_root(script: &str, env: &[(&str, &Path)]) -> String {
    let out = Command::new("bash")
        .args(["-c", script])
        .current_dir(root())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// An `image:` that is upstream's Pushgateway image.
fn assert_pushgateway_image(image: &Value) {
    assert!(image.as_str().unwrap().starts_with("prom/pushgateway:"));
}

#[test]
fn every_yaml_file_parses() {
    let mut files = Vec::new();
    for dir in ["deploy", "examples"] {
        yaml_files(&root().join(dir), &mut files);
    }
    assert!(files.len() >= 7, "{files:?}");
    for f in &files {
        let docs = documents(f);
        assert!(!docs.is_empty(), "{}: empty", f.display());
        assert!(
            docs.iter().all(|d| d.is_mapping()),
            "{}: every document is a mapping",
            f.display()
        );
    }
}

/// Each boolean at `path` under `v` is set, to the value given.
fn assert_switches(v: &Value, expected: &[(&str, bool)]) {
    for (path, want) in expected {
        assert_eq!(at(v, path).as_bool(), Some(*want), "{path}");
    }
}

#[test]
fn cronjob_is_safe_and_sized() {
    let cj = one_document("deploy/kubernetes/cronjob.yaml");
    assert_eq!(at(&cj, "kind").as_str(), Some("CronJob"));
    assert_eq!(at(&cj, "apiVersion").as_str(), Some("batch/v1"));
    assert_eq!(at(&cj, "spec.concurrencyPolicy").as_str(), Some("Forbid"));
    assert!(at(&cj, "spec.startingDeadlineSeconds").as_u64().unwrap() > 0);
    let pod = at(&cj, "spec.jobTemplate.spec.template.spec");
    assert_switches(
        pod,
        &[
            ("automountServiceAccountToken", false),
            ("securityContext.runAsNonRoot", true),
        ],
    );
    assert!(at(pod, "securityContext.runAsUser").as_u64().unwrap() > 0);
    let c = at(pod, "containers.0");
    assert_switches(
        c,
        &[
            ("securityContext.readOnlyRootFilesystem", true),
            ("securityContext.allowPrivilegeEscalation", false),
        ],
    );
    assert!(at(c, "resources.requests.memory").as_str().is_some());
    assert!(at(c, "resources.limits.memory").as_str().is_some());
    // The Secret the CronJob reads is the one the example defines.
    let secret = one_document("deploy/kubernetes/secret.example.yaml");
    let env = at(c, "env.0.valueFrom.secretKeyRef");
    assert_eq!(at(&secret, "kind").as_str(), Some("Secret"));
    assert_eq!(at(env, "name"), at(&secret, "metadata.name"));
    assert!(at(&secret, "stringData")
        .get(at(env, "key").as_str().unwrap())
        .is_some());
    // The UID matches the Dockerfile's USER.
    let dockerfile = std::fs::read_to_string(root().join("deploy/docker/Dockerfile")).unwrap();
    let uid = at(pod, "securityContext.runAsUser").as_u64().unwrap();
    assert!(dockerfile.contains(&format!("\nUSER {uid}:")), "USER {uid}");
}

/// The container's args, parsed by the janitor's own command line (so a
/// renamed or removed flag fails here), with a URL when they have none.
fn janitor_args(container: &Value) -> pushgateway_janitor::config::Config {
    let mut args = vec!["pushgateway-janitor".to_owned()];
    for a in at(container, "args").as_sequence().unwrap() {
        args.push(a.as_str().unwrap().to_owned());
    }
    if !args.iter().any(|a| a.starts_with("--url")) {
        args.push("--url=http://pushgateway:9091".to_owned());
    }
    let parsed = pushgateway_janitor::cli::Args::try_parse_from(&args)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    parsed.into_config(&|_| None).unwrap()
}

/// The named port's number, and the probes' paths by kind.
fn probe_path(container: &Value, probe: &str) -> (String, String) {
    (
        at(container, &format!("{probe}.httpGet.path"))
            .as_str()
            .unwrap()
            .to_owned(),
        at(container, &format!("{probe}.httpGet.port"))
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

#[test]
fn deployment_loops_serves_its_metrics_and_probes_them() {
    let d = one_document("deploy/kubernetes/deployment.yaml");
    assert_eq!(at(&d, "kind").as_str(), Some("Deployment"));
    // Never two janitors on the same gateway, not even during a rollout.
    assert_eq!(at(&d, "spec.replicas").as_u64(), Some(1));
    assert_eq!(at(&d, "spec.strategy.type").as_str(), Some("Recreate"));
    let pod = at(&d, "spec.template.spec");
    assert_switches(pod, &[("securityContext.runAsNonRoot", true)]);
    let c = at(pod, "containers.0");
    assert_switches(c, &[("securityContext.readOnlyRootFilesystem", true)]);
    assert!(at(c, "resources.limits.memory").as_str().is_some());
    let config = janitor_args(c);
    assert!(config.every.is_some());
    let listen = config.listen_address.expect("--listen-address");
    let port = at(c, "ports.0");
    assert_eq!(
        at(port, "containerPort").as_u64(),
        Some(u64::from(listen.port()))
    );
    let name = at(port, "name").as_str().unwrap();
    assert_eq!(
        probe_path(c, "livenessProbe"),
        ("/-/healthy".into(), name.into())
    );
    assert_eq!(
        probe_path(c, "readinessProbe"),
        ("/-/ready".into(), name.into())
    );

    let pm = one_document("deploy/kubernetes/podmonitor.yaml");
    assert_eq!(at(&pm, "kind").as_str(), Some("PodMonitor"));
    assert_eq!(
        at(&pm, "spec.podMetricsEndpoints.0.port").as_str(),
        Some(name)
    );
    assert_eq!(
        at(&pm, "spec.podMetricsEndpoints.0.path").as_str(),
        Some("/metrics")
    );
    assert_eq!(
        at(&pm, "spec.selector.matchLabels"),
        at(&d, "spec.template.metadata.labels")
    );
}

#[test]
fn replicas_are_cleaned_through_the_headless_services_records() {
    let docs = documents(&root().join("deploy/kubernetes/replicas.yaml"));
    let kind = |k: &str| {
        docs.iter()
            .find(|d| at(d, "kind").as_str() == Some(k))
            .unwrap_or_else(|| panic!("no {k}"))
    };
    let (svc, sts, cj) = (kind("Service"), kind("StatefulSet"), kind("CronJob"));
    // Headless: one A record per ready pod, not one load-balanced address.
    assert_eq!(at(svc, "spec.clusterIP").as_str(), Some("None"));
    assert_eq!(at(sts, "spec.serviceName"), at(svc, "metadata.name"));
    assert!(at(sts, "spec.replicas").as_u64().unwrap() > 1);
    assert_eq!(
        at(svc, "spec.selector"),
        at(sts, "spec.template.metadata.labels")
    );
    let c = at(cj, "spec.jobTemplate.spec.template.spec.containers.0");
    let config = janitor_args(c);
    let name = at(svc, "metadata.name").as_str().unwrap();
    let namespace = at(svc, "metadata.namespace").as_str().unwrap();
    let port = at(svc, "spec.ports.0.port").as_u64().unwrap();
    assert_eq!(
        config.urls,
        vec![format!(
            "dns+http://{name}.{namespace}.svc.cluster.local.:{port}"
        )]
    );
    assert_eq!(at(cj, "spec.concurrencyPolicy").as_str(), Some("Forbid"));
    // The gateway keeps its groups across restarts, in a file of its own.
    let gw = at(sts, "spec.template.spec.containers.0");
    assert!(at(gw, "args")
        .as_sequence()
        .unwrap()
        .iter()
        .any(|a| a.as_str().unwrap().starts_with("--persistence.file=/data/")));
}

#[test]
fn helm_sidecar_cleans_its_own_pods_gateway() {
    let v = one_document("deploy/helm/prometheus-pushgateway-values.yaml");
    let c = at(&v, "extraContainers.0");
    let config = janitor_args(c);
    assert_eq!(config.urls, ["http://localhost:9091"]);
    assert!(config.every.is_some());
    let listen = config.listen_address.expect("--listen-address");
    assert_eq!(
        at(c, "ports.0.containerPort").as_u64(),
        Some(u64::from(listen.port()))
    );
    assert_eq!(probe_path(c, "livenessProbe").0, "/-/healthy");
    // A sidecar's readiness would gate the Pushgateway's own traffic.
    assert!(c.get("readinessProbe").is_none());
    assert_switches(
        c,
        &[
            ("securityContext.runAsNonRoot", true),
            ("securityContext.readOnlyRootFilesystem", true),
        ],
    );
}

#[test]
fn compose_runs_a_pushgateway_and_a_one_shot_janitor() {
    let c = one_document("deploy/docker/compose.yaml");
    let services = at(&c, "services");
    assert_pushgateway_image(at(services, "pushgateway.image"));
    let janitor = at(services, "janitor");
    assert_eq!(at(janitor, "read_only").as_bool(), Some(true));
    assert!(janitor.get("restart").is_none(), "one-shot");
    let cmd: Vec<&str> = at(janitor, "command")
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!cmd.iter().any(|a| a.starts_with("--every")), "one-shot");
}

#[test]
fn alerts_use_only_metric_names_the_janitor_writes() {
    use pushgateway_janitor::metrics::{render, History};
    use pushgateway_janitor::report::{GatewayHealth, GatewayReport, Report, Summary};

    let report = Report::new(
        false,
        0.0,
        1.0,
        Some(600.0),
        vec![GatewayReport {
            url: "http://a".into(),
            discovered_from: None,
            address: None,
            now: pushgateway_janitor::report::Time(1.0),
            clock: "local",
            clock_skew_seconds: None,
            error: None,
            refused: None,
            version: None,
            utf8_names: None,
            label_names: None,
            interrupted: false,
            groups: Vec::new(),
            summary: Summary::default(),
            health: GatewayHealth::of(&[], false, None),
            id: Some(pushgateway_janitor::identity::GatewayId::url("http://a")),
        }],
    );
    let mut history = History::default();
    history.record(&report, report.exit_status());
    let written = render(&report, report.exit_status(), &history);

    let alerts = std::fs::read_to_string(root().join("deploy/prometheus/alerts.yml")).unwrap();
    let doc = one_document("deploy/prometheus/alerts.yml");
    let mut used = 0;
    for group in at(&doc, "groups").as_sequence().unwrap() {
        for rule in at(group, "rules").as_sequence().unwrap() {
            let expr = at(rule, "expr").as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if word.starts_with("pushgateway_janitor_") {
                    used += 1;
                    assert!(
                        written.contains(&format!("# TYPE {word} ")),
                        "alerts.yml uses {word}, which --textfile does not write"
                    );
                }
            }
        }
    }
    assert!(used >= 4, "{alerts}");
}

#[test]
fn example_report_is_a_valid_report() {
    let text = std::fs::read(root().join("examples/report.json")).unwrap();
    let report: common::Report = serde_json::from_slice(&text).expect("examples/report.json");
    assert_eq!(report.schema, "pushgateway-janitor/report/v1");
    assert!(!report.dry_run);
    assert!(report.summary.deleted >= 1 && report.summary.active >= 1);
    assert!(report
        .gateways
        .iter()
        .flat_map(|g| &g.groups)
        .any(|g| g.labels["job"].starts_with("flink-metrics")
            && g.labels["job"].len() == "flink-metrics".len() + 32));
}

/// Runs the smoke workflow's steps after "Build" with bash, in a temporary
/// directory, against a real Pushgateway: the workflow's assertions are
/// exercised here, only the service container and checkout are GitHub's.
#[test]
fn github_actions_smoke_steps_pass_against_a_real_pushgateway() {
    // Missing is a failure, never a note: scripts/test.sh installs it.
    assert!(
        Command::new("jq").arg("--version").output().is_ok(),
        "jq is missing: apt-get install jq (scripts/test.sh does)"
    );
    let wf = one_document("deploy/github-actions/smoke.yml");
    let job = at(&wf, "jobs.smoke");
    assert_pushgateway_image(at(job, "services.pushgateway.image"));
    let steps = at(job, "steps").as_sequence().unwrap();
    let build = steps
        .iter()
        .position(|s| s.get("name").and_then(Value::as_str) == Some("Build"))
        .expect("a Build step");
    let pg = common::Pushgateway::start();
    let dir = tempfile::tempdir().unwrap();
    let mut ran = 0;
    for step in &steps[build + 1..] {
        let Some(script) = step.get("run").and_then(Value::as_str) else {
            continue;
        };
        let name = at(step, "name").as_str().unwrap();
        let out = Command::new("bash")
            .args(["-eo", "pipefail", "-c", script])
            .current_dir(dir.path())
            .env("PUSHGATEWAY_URL", &pg.url)
            .env("JANITOR", env!("CARGO_BIN_EXE_pushgateway-janitor"))
            .env("NO_COLOR", "1")
            .env_remove("PUSHGATEWAY_JANITOR_LOG")
            .output()
            .map(common::checked)
            .unwrap();
        assert!(
            out.status.success(),
            "step {name:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    assert_eq!(ran, 4);
    pg.wait_for_groups(&[]);
}

/// Debian's binary started without `--persistence.file` loads and later
/// rewrites `/var/lib/prometheus/pushgateway.data`, the system gateway's
/// data. Every command here that starts one (README, demo, scripts) names a
/// file of its own. (Issue 10, bug 7: the README's "Try it by hand" did not.)
#[test]
fn every_gateway_started_in_docs_and_scripts_has_its_own_persistence_file() {
    let mut files = vec![root().join("README.md")];
    for dir in ["docs", "examples", "scripts"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if matches!(path.extension().and_then(|e| e.to_str()), Some("sh" | "md")) {
                files.push(path);
            }
        }
    }
    let mut starts = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // Shell commands continued over several lines are one command.
        let joined = text.replace("\\\n", " ");
        for line in joined.lines() {
            let command = line.trim_start().trim_start_matches("$ ");
            let starts_gateway = [
                "prometheus-pushgateway ",
                "\"$PUSHGATEWAY\" ",
                "pushgateway ",
            ]
            .iter()
            .any(|bin| command.starts_with(bin))
                && command.contains("--web.listen-address");
            if starts_gateway {
                starts += 1;
                assert!(
                    command.contains("--persistence.file="),
                    "{}: a Pushgateway started without --persistence.file: {command}",
                    file.display()
                );
            }
        }
    }
    // docs/tutorial.md's by-hand block, the demo, bench.sh and bench-parser.sh.
    assert!(
        starts >= 4,
        "found only {starts} commands that start a gateway"
    );
}

/// The Debian package's service appends `$JANITOR_ARGS` (from
/// /etc/default/pushgateway-janitor) after its own `--timeout` and
/// `--report-file`: a flag given again there must win, or an operator
/// cannot change them without editing the unit. The unit is made here by
/// scripts/package-deb.sh's own sed command, its `ExecStart=` expanded as
/// systemd does (`${VAR}` one word, `$VAR` split at whitespace), and run
/// against a real Pushgateway.
#[test]
fn debian_units_janitor_args_override_its_own_flags() {
    let script = std::fs::read_to_string(root().join("scripts/package-deb.sh")).unwrap();
    let start = script
        .find("sed -e ")
        .expect("package-deb.sh rewrites the unit with sed");
    let end = start + script[start..].find(" >\"$unit\"").unwrap();
    let unit = bash_in_root(&script[start..end], &[]);
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart= line");

    let pg = common::Pushgateway::start();
    pg.push_ok(&[("job", "stale")], "x");
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let janitor_args = format!(
        "--timeout=5s --report-file={} --threshold=1ms --clock=local --output=json",
        report.display()
    );
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/bin/pushgateway-janitor"));
    let mut args: Vec<String> = Vec::new();
    for word in words {
        match word {
            "${THRESHOLD}" => args.push("10m".into()),
            "$JANITOR_ARGS" => args.extend(janitor_args.split_whitespace().map(str::to_owned)),
            w => {
                assert!(!w.contains('$'), "{w} in {exec}");
                args.push(w.to_owned());
            }
        }
    }
    assert!(args.iter().any(|a| a == "--timeout"), "{exec}");
    assert!(args.iter().any(|a| a == "--report-file"), "{exec}");

    let mut all = vec![
        "pushgateway-janitor".to_owned(),
        format!("--url={}", pg.url),
    ];
    all.extend(args.iter().cloned());
    let config = pushgateway_janitor::cli::Args::try_parse_from(&all)
        .unwrap_or_else(|e| panic!("{all:?}: {e}"))
        .into_config(&|_| None)
        .unwrap();
    assert_eq!(config.transport.timeout, std::time::Duration::from_secs(5));
    assert_eq!(config.report_file.as_deref(), Some(report.as_path()));

    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::janitor_cmd(&args)
        .env("PUSHGATEWAY_URL", &pg.url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert_eq!(
        common::report(&out).action_of(&[("job", "stale")]),
        Some("deleted")
    );
    assert!(
        report.is_file(),
        "no report at the overriding --report-file"
    );
    pg.wait_for_groups(&[]);
}

/// The one image reference the docs and manifests name: the release's
/// (`release.yml` pushes `ghcr.io/<owner>/pushgateway-janitor:<version>`,
/// the owner from `Cargo.toml`'s repository), versioned, never `latest`.
fn image() -> String {
    let owner = env!("CARGO_PKG_REPOSITORY")
        .strip_prefix("https://github.com/")
        .and_then(|r| r.split('/').next())
        .expect("Cargo.toml's repository is a GitHub URL");
    format!(
        "ghcr.io/{owner}/pushgateway-janitor:{}",
        env!("CARGO_PKG_VERSION")
    )
}

/// Issue 18 item 6. Before: `registry.example.com/...:latest` in the
/// CronJobs, `ghcr.io/OWNER/...` in the Deployment, the sidecar and the
/// README.
#[test]
fn every_janitor_image_is_the_release_image() {
    let image = image();
    let mut files = Vec::new();
    yaml_files(&root().join("deploy"), &mut files);
    let mut seen = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for line in text.lines() {
            let Some(named) = line.trim().strip_prefix("image: ") else {
                continue;
            };
            if named.contains("pushgateway-janitor") && !f.ends_with("compose.yaml") {
                assert_eq!(named, image, "{}", f.display());
                seen += 1;
            }
        }
    }
    assert!(seen >= 5, "{seen} janitor images in deploy/");
    // Every mention in the docs, as well.
    let mut docs = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        docs.push(entry.unwrap().path());
    }
    for doc in docs {
        let text = std::fs::read_to_string(&doc).unwrap();
        for (at, _) in text.match_indices("ghcr.io/") {
            let named: String = text[at..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, '`' | ')' | '"' | '\'' | '|'))
                .collect();
            if named.contains("<owner>") || named.ends_with(":X.Y.Z") {
                continue;
            }
            assert_eq!(named, image, "{}", doc.display());
        }
    }
}

/// Issue 18 item 6: a dry run without applying the live CronJob first, and
/// logs of one event per line. Before: the CronJob had to be applied, then
/// edited; and `--output=json` wrote a multi-line document among the log
/// lines.
#[test]
fn the_cronjobs_dry_run_job_is_its_pod_with_dry_run() {
    let cj = one_document("deploy/kubernetes/cronjob.yaml");
    let job = one_document("deploy/kubernetes/dry-run-job.yaml");
    assert_eq!(at(&job, "kind").as_str(), Some("Job"));
    let pod = at(&cj, "spec.jobTemplate.spec.template");
    let dry = at(&job, "spec.template");
    let (live, dry_c) = (at(pod, "spec.containers.0"), at(dry, "spec.containers.0"));
    let args = |c: &Value| -> Vec<String> {
        at(c, "args")
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect()
    };
    let mut expected = args(live);
    expected.push("--dry-run".into());
    assert_eq!(args(dry_c), expected);
    // Everything else about the pod is the CronJob's.
    let without_args = |c: &Value| {
        let mut c = c.clone();
        c.as_mapping_mut().unwrap().remove("args");
        c
    };
    assert_eq!(without_args(dry_c), without_args(live));
    assert_eq!(
        at(dry, "spec.securityContext"),
        at(pod, "spec.securityContext")
    );
    assert!(janitor_args(dry_c).dry_run);
    for c in [live, dry_c] {
        assert_eq!(
            janitor_args(c).output,
            pushgateway_janitor::config::StdoutFormat::Human,
            "one event per line"
        );
    }
    let replicas = documents(&root().join("deploy/kubernetes/replicas.yaml"));
    for d in &replicas {
        if at(d, "kind").as_str() == Some("CronJob") {
            let c = at(d, "spec.jobTemplate.spec.template.spec.containers.0");
            assert_eq!(
                janitor_args(c).output,
                pushgateway_janitor::config::StdoutFormat::Human
            );
        }
    }
}

/// Issue 18 item 5: the textfile is opt-in everywhere, as in the Debian
/// package. Before: cron and systemd passed --textfile into node_exporter's
/// directory, and without node_exporter every run exited 2.
#[test]
fn no_recipe_writes_a_textfile_unless_asked() {
    let cron =
        std::fs::read_to_string(root().join("deploy/cron/pushgateway-janitor.cron")).unwrap();
    let unit =
        std::fs::read_to_string(root().join("deploy/systemd/pushgateway-janitor.service")).unwrap();
    for (name, text) in [("cron", &cron), ("service", &unit)] {
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(!line.contains("--textfile"), "{name}: {line}");
        }
    }
}

/// Issue 18 item 12: every script finds the binary where cargo builds it.
/// Before: scripts/package-deb.sh installed `target/release/...`, which is
/// not there when CARGO_TARGET_DIR is set (`install: cannot stat`), and so
/// did check-deploy.sh, check-dashboard.sh, bench.sh, bench-parser.sh and
/// the demo.
#[test]
fn scripts_ask_cargo_where_the_target_directory_is() {
    let mut scripts = vec![root().join("examples/demo.sh")];
    for entry in std::fs::read_dir(root().join("scripts")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) == Some("sh") {
            scripts.push(path);
        }
    }
    let lookup = "cargo metadata --locked --format-version 1 --no-deps | sed -n 's/.*\"target_directory\":\"\\([^\"]*\\)\".*/\\1/p'";
    let mut asking = 0;
    for script in &scripts {
        let text = std::fs::read_to_string(script).unwrap();
        for bad in ["target/debug/", "target/release/"] {
            for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
                // `$target/debug/` is the directory cargo named.
                let literal = line
                    .match_indices(bad)
                    .any(|(at, _)| !line[..at].ends_with('$'));
                assert!(!literal, "{} looks for {bad}: {line}", script.display());
            }
        }
        if text.contains("target_directory") {
            asking += 1;
        }
    }
    assert!(asking >= 6, "{asking} scripts ask cargo");
    // The lookup as the scripts write it, with CARGO_TARGET_DIR set.
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        bash_in_root(lookup, &[("CARGO_TARGET_DIR", dir.path())]).trim(),
        dir.path().to_str().unwrap()
    );
    let package = std::fs::read_to_string(root().join("scripts/package-deb.sh")).unwrap();
    assert!(package.contains(lookup), "package-deb.sh");
}

/// Each crate this package depends on by name is in Cargo.lock once: a
/// version chosen beside the one the tree already has builds both (issue
/// 23: base64 0.23 was added next to reqwest's 0.22).
#[test]
fn each_direct_dependency_is_locked_at_one_version() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
    let mut section = "";
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if section != "[dependencies]" || line.starts_with('#') || line.is_empty() {
            continue;
        }
        let Some((name, spec)) = line.split_once('=') else {
            continue;
        };
        // `webpki = { package = "rustls-webpki", ... }`: the crate's own name.
        let crate_name = spec
            .split_once("package = \"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map_or(name.trim(), |(package, _)| package);
        names.push(crate_name.to_owned());
    }
    assert!(names.len() > 20, "{names:?}");
    let twice: Vec<String> = names
        .iter()
        .filter_map(|name| {
            let versions: Vec<&str> = lock
                .split("[[package]]")
                .filter(|p| p.contains(&format!("\nname = \"{name}\"\n")))
                .filter_map(|p| p.split("\nversion = \"").nth(1)?.split('"').next())
                .collect();
            (versions.len() > 1).then(|| format!("{name} {versions:?}"))
        })
        .collect();
    assert!(twice.is_empty(), "locked twice: {twice:?}");
}
