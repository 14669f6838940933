//! Questions asked on the terminal: the CLI's one way to read a person's answer.

use std::io::{BufRead, Write};

use rolecall_core::CoreError;

/// Says `question` on stderr and reads one line from stdin, trimmed.
pub fn ask(question: &str) -> Result<String, CoreError> {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CoreError::Invalid(format!("cannot read the answer: {e}")))?;
    Ok(answer.trim().to_owned())
}
