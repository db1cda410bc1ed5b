//! Confirmation of destructive commands: print what will happen, then ask, unless `--yes`.
//!
//! Without `--yes`, a command whose standard input is not a terminal (a script, a pipe, CI)
//! refuses with one line and exit code 2: a script must say `--yes` to destroy anything, it
//! never confirms by accident by piping `yes` or inheriting a stray stdin. On a terminal, only
//! `y` or `yes` goes on; anything else (or end of input) stops with exit code 1.

use crate::error::CliError;
use std::io::{BufRead, IsTerminal, Write};

/// Prints `plan` on stderr and asks `Go on? [y/N]` unless `yes`. `action` names the command
/// in the error when it does not go on (e.g. "delete bucket photos").
pub fn confirm(plan: &str, action: &str, yes: bool) -> Result<(), CliError> {
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(plan.as_bytes()).and_then(|()| err.flush());
    decide(action, yes, interactive, &mut stdin.lock(), &mut err)
}

/// The decision, with the terminal test and the streams passed in (for tests).
pub fn decide(
    action: &str,
    yes: bool,
    interactive: bool,
    input: &mut dyn BufRead,
    prompt: &mut dyn Write,
) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !interactive {
        return Err(CliError::Usage(format!(
            "{action}: refused: standard input is not a terminal to confirm on; pass --yes"
        )));
    }
    let _ = prompt
        .write_all(b"Go on? [y/N] ")
        .and_then(|()| prompt.flush());
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| CliError::Failed(format!("{action}: cannot read the answer: {e}")))?;
    match line.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(CliError::Failed(format!(
            "{action}: not done (not confirmed; answer y, or pass --yes)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(yes: bool, interactive: bool, answer: &str) -> (Result<(), CliError>, String) {
        let mut prompt = Vec::new();
        let r = decide(
            "delete bucket b",
            yes,
            interactive,
            &mut answer.as_bytes(),
            &mut prompt,
        );
        (r, String::from_utf8_lossy(&prompt).into_owned())
    }

    #[test]
    fn yes_goes_on_without_asking() {
        let (r, prompt) = run(true, false, "");
        assert!(r.is_ok());
        assert!(prompt.is_empty());
    }

    #[test]
    fn no_terminal_refuses_in_one_line_with_exit_2() {
        // Even an answer of "y" on a pipe does not confirm.
        let (r, prompt) = run(false, false, "y\n");
        let e = r.expect_err("refused");
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "delete bucket b: refused: standard input is not a terminal to confirm on; pass --yes"
        );
        assert!(prompt.is_empty());
    }

    #[test]
    fn a_terminal_answer_decides() {
        for ok in ["y\n", "yes\n", " Y \n", "YES"] {
            let (r, prompt) = run(false, true, ok);
            assert!(r.is_ok(), "{ok:?}");
            assert_eq!(prompt, "Go on? [y/N] ");
        }
        for no in ["n\n", "\n", "", "yep\n"] {
            let e = run(false, true, no).0.expect_err("not confirmed");
            assert_eq!(e.exit_code(), 1, "{no:?}");
            assert!(e.to_string().contains("not confirmed"), "{e}");
        }
    }
}
