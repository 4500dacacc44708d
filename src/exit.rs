//! The process exit codes: one documented list, shown in `--help` and the
//! README (a test keeps the two in step).

use std::process::ExitCode;

/// How a run ended. When several apply, the most severe wins, in the order
/// of [`ExitStatus::SEVERITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Every gateway was scanned and every planned delete succeeded (also
    /// when nothing was stale, and in a dry run).
    Ok,
    /// The run could not do part of its work: a gateway could not be
    /// scanned (nothing was deleted there), an output (the report file,
    /// stdout, the textfile, the pushed metrics, the `--grace` state file,
    /// the `--notify-url` notification) could not be written, or the
    /// listener or the signal handlers of loop mode could not be set up.
    Failed,
    /// Bad flags or values (clap's usage errors).
    Usage,
    /// A safety cap refused a plan (reserved for the safety caps).
    Refused,
    /// Some deletes failed.
    DeleteFailed,
}

impl ExitStatus {
    /// Every status, in the order the help lists them.
    pub const ALL: [ExitStatus; 5] = [
        ExitStatus::Ok,
        ExitStatus::Failed,
        ExitStatus::Usage,
        ExitStatus::Refused,
        ExitStatus::DeleteFailed,
    ];

    /// Most severe first: the first that applies is the exit code.
    pub const SEVERITY: [ExitStatus; 4] = [
        ExitStatus::Failed,
        ExitStatus::DeleteFailed,
        ExitStatus::Refused,
        ExitStatus::Ok,
    ];

    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Ok => 0,
            ExitStatus::Failed => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Refused => 3,
            ExitStatus::DeleteFailed => 4,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            ExitStatus::Ok => "ok: all gateways scanned, all planned deletes accepted (also: nothing stale, dry run)",
            ExitStatus::Failed => "could not scan a gateway or write an output (report, textfile, push, state file, --notify-url)",
            ExitStatus::Usage => "usage error: bad flags or values",
            ExitStatus::Refused => "a safety cap refused the plan",
            ExitStatus::DeleteFailed => "some deletes failed",
        }
    }

    /// The most severe of `statuses`, `Ok` when empty.
    pub fn worst(statuses: impl IntoIterator<Item = ExitStatus>) -> ExitStatus {
        let statuses: Vec<ExitStatus> = statuses.into_iter().collect();
        Self::SEVERITY
            .into_iter()
            .find(|s| statuses.contains(s))
            .unwrap_or(ExitStatus::Ok)
    }

    /// The "Exit codes:" block of `--help`; each line fits 100 columns so
    /// clap does not wrap it.
    pub fn help_text() -> String {
        let mut text = String::from("Exit codes:\n");
        for status in Self::ALL {
            text.push_str(&format!("  {}  {}\n", status.code(), status.description()));
        }
        text
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_follows_severity() {
        use ExitStatus::*;
        assert_eq!(ExitStatus::worst([Ok, Refused, DeleteFailed]), DeleteFailed);
        assert_eq!(ExitStatus::worst([DeleteFailed, Failed]), Failed);
        assert_eq!(ExitStatus::worst([Ok, Refused]), Refused);
        assert_eq!(ExitStatus::worst([]), Ok);
    }

    #[test]
    fn codes_are_distinct() {
        let mut codes: Vec<u8> = ExitStatus::ALL.iter().map(|s| s.code()).collect();
        codes.dedup();
        assert_eq!(codes, vec![0, 1, 2, 3, 4]);
    }
}
