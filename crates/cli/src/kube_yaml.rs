//! Reading and writing a person's kubeconfig so that kubectl reads the rest of it exactly as
//! before.
//!
//! kubectl reads YAML 1.1 (go-yaml v2 under sigs.k8s.io/yaml): `no`, `on`, `y`, `~`, `0x1F`,
//! `1:20` and the like are booleans, nulls and numbers there, while the YAML 1.2 writer of
//! serde_yaml writes such strings bare. Here a string is written bare only when it is made of
//! characters no YAML reader can take for anything but a string; everything else is written
//! double-quoted (JSON's escapes, which YAML's double-quoted style shares). Anchors and aliases
//! are expanded and merge keys (`<<`) applied before writing, so what each entry says is what
//! kubectl saw; comments are not kept (no YAML library here keeps them through a merge).
//!
//! Reading is bounded: a document nested deeper than [`MAX_DEPTH`] flow collections (`[`, `{`)
//! is refused before the parser sees it, since the parser's time grows with the square of the
//! depth (kubectl refuses such a file too).

use serde_yaml::Value;

/// The deepest nesting of `[ ]` and `{ }` a kubeconfig may have. Real ones nest two or three.
pub const MAX_DEPTH: usize = 64;

/// Parses `text`, refusing documents nested too deeply.
pub fn parse(text: &str) -> Result<Value, String> {
    let depth = flow_depth(text);
    if depth > MAX_DEPTH {
        return Err(format!(
            "the kubeconfig nests collections {depth} deep (at most {MAX_DEPTH} are read): not changed"
        ));
    }
    let mut value: Value = serde_yaml::from_str(text)
        .map_err(|e| format!("the kubeconfig is not valid YAML ({e}): not changed"))?;
    value
        .apply_merge()
        .map_err(|e| format!("the kubeconfig's merge keys cannot be applied ({e}): not changed"))?;
    Ok(value)
}

/// The deepest nesting of flow collections in `text`, outside quoted scalars and comments.
fn flow_depth(text: &str) -> usize {
    let (mut depth, mut most) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    let mut prev = '\n';
    while let Some(c) = chars.next() {
        // A quote opens a quoted scalar only where a scalar can start; inside a plain one
        // (`say "hi`) it is a character, and must not hide the brackets after it.
        let starts = prev.is_whitespace() || matches!(prev, '[' | '{' | ',' | ':' | '-');
        match c {
            '"' if starts => {
                while let Some(q) = chars.next() {
                    match q {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '\'' if starts => {
                while let Some(q) = chars.next() {
                    if q == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
            }
            '#' if prev.is_whitespace() => {
                for q in chars.by_ref() {
                    if q == '\n' {
                        break;
                    }
                }
            }
            '[' | '{' => {
                depth += 1;
                most = most.max(depth);
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        prev = c;
    }
    most
}

/// `value` as a YAML document kubectl reads as the same data.
pub fn write(value: &Value) -> Result<String, String> {
    let mut out = String::new();
    match value {
        Value::Mapping(m) if !m.is_empty() => block_mapping(&mut out, m, 0)?,
        Value::Sequence(s) if !s.is_empty() => block_sequence(&mut out, s, 0)?,
        other => {
            out.push_str(&inline(other)?);
            out.push('\n');
        }
    }
    Ok(out)
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn block_mapping(out: &mut String, m: &serde_yaml::Mapping, at: usize) -> Result<(), String> {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            indent(out, at);
        }
        out.push_str(&key(k)?);
        out.push(':');
        value_after(out, v, at)?;
    }
    Ok(())
}

fn block_sequence(out: &mut String, s: &[Value], at: usize) -> Result<(), String> {
    for (i, v) in s.iter().enumerate() {
        if i > 0 {
            indent(out, at);
        }
        out.push('-');
        match v {
            Value::Mapping(m) if !m.is_empty() => {
                out.push(' ');
                block_mapping(out, m, at + 2)?;
            }
            Value::Sequence(inner) if !inner.is_empty() => {
                out.push(' ');
                block_sequence(out, inner, at + 2)?;
            }
            other => {
                out.push(' ');
                out.push_str(&inline(other)?);
                out.push('\n');
            }
        }
    }
    Ok(())
}

/// What follows `key:`: a nested block on the next lines, or a scalar on this one.
fn value_after(out: &mut String, v: &Value, at: usize) -> Result<(), String> {
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            out.push('\n');
            indent(out, at + 2);
            block_mapping(out, m, at + 2)
        }
        Value::Sequence(s) if !s.is_empty() => {
            out.push('\n');
            indent(out, at);
            block_sequence(out, s, at)
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other)?);
            out.push('\n');
            Ok(())
        }
    }
}

fn key(k: &Value) -> Result<String, String> {
    match k {
        Value::Mapping(_) | Value::Sequence(_) | Value::Tagged(_) => {
            Err("the kubeconfig has a key that is not a plain value: not changed".into())
        }
        other => inline(other),
    }
}

/// A scalar, an empty collection or a tagged value on one line.
fn inline(v: &Value) -> Result<String, String> {
    Ok(match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Sequence(s) if s.is_empty() => "[]".into(),
        Value::Mapping(m) if m.is_empty() => "{}".into(),
        Value::Sequence(s) => {
            let items: Result<Vec<String>, String> = s.iter().map(inline).collect();
            format!("[{}]", items?.join(", "))
        }
        Value::Mapping(m) => {
            let items: Result<Vec<String>, String> = m
                .iter()
                .map(|(k, v)| Ok(format!("{}: {}", key(k)?, inline(v)?)))
                .collect();
            format!("{{{}}}", items?.join(", "))
        }
        Value::Tagged(t) => format!("{} {}", t.tag, inline(&t.value)?),
    })
}

/// A string, bare only when nothing could read it as another type, else double-quoted.
fn string(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    }
}

/// Letters, digits and `_ - . /` only, starting with a letter, `_` or `/`, and not one of the
/// words YAML 1.1 reads as a boolean or null. Such a string is a string to every YAML reader:
/// it cannot be a number (it starts with no digit, sign or dot), a timestamp, a sexagesimal
/// (no `:`), an indicator or a comment.
fn is_plain_safe(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '_' || first == '/') {
        return false;
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')) {
        return false;
    }
    !matches!(
        s.to_ascii_lowercase().as_str(),
        "y" | "n" | "yes" | "no" | "true" | "false" | "on" | "off" | "null"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// kubectl refused the whole file after `rolecall kubeconfig`: the person's quoted `"no"`
    /// and `"on"` came back bare, which YAML 1.1 reads as booleans.
    #[test]
    fn the_persons_quoted_values_stay_strings_for_kubectl() {
        let old = "contexts:\n- name: other\n  context:\n    namespace: \"no\"\n    cluster: c\nusers:\n- name: me\n  user:\n    exec:\n      env:\n      - name: FLAG\n        value: \"on\"\n      - name: N\n        value: 'y'\n      - name: NIL\n        value: \"~\"\n      - name: HEX\n        value: \"0x1F\"\n      - name: TIME\n        value: \"1:20\"\n      - name: EMPTY\n        value: \"\"\n";
        let written = write(&parse(old).expect("parsed")).expect("written");
        for quoted in [
            "namespace: \"no\"",
            "value: \"on\"",
            "value: \"y\"",
            "value: \"~\"",
            "value: \"0x1F\"",
            "value: \"1:20\"",
            "value: \"\"",
        ] {
            assert!(written.contains(quoted), "{quoted} in\n{written}");
        }
        assert_eq!(
            parse(&written).expect("reads back"),
            parse(old).expect("parsed")
        );
    }

    #[test]
    fn anchors_and_merge_keys_read_the_same_once_written() {
        let old = "base: &b\n  server: https://a.example\n  insecure-skip-tls-verify: true\nclusters:\n- name: one\n  cluster:\n    <<: *b\n    server: https://one.example\n- name: two\n  cluster: *b\n";
        let value = parse(old).expect("parsed");
        let written = write(&value).expect("written");
        assert!(
            !written.contains('*') && !written.contains("<<"),
            "{written}"
        );
        let back = parse(&written).expect("reads back");
        assert_eq!(back, value);
        assert_eq!(
            back["clusters"][0]["cluster"]["server"],
            "https://one.example"
        );
        assert_eq!(
            back["clusters"][0]["cluster"]["insecure-skip-tls-verify"],
            true
        );
        assert_eq!(
            back["clusters"][1]["cluster"]["server"],
            "https://a.example"
        );
    }

    #[test]
    fn every_kind_of_value_round_trips() {
        let old = "a: 1\nb: 1.5\nc: true\nd: null\ne: []\nf: {}\ng: [1, x]\nh: {k: v}\ni: \"multi\\nline \\\"q\\\" é\"\nj:\n- - nested\n  - list\n- k: v\n  l: w\n'key with: colon': x\n";
        let value = parse(old).expect("parsed");
        let written = write(&value).expect("written");
        assert_eq!(parse(&written).expect("reads back"), value, "{written}");
    }

    /// A 97 KB kubeconfig of nested `[` kept the parser busy for over 10 s (its time grows with
    /// the square of the depth). It is refused before parsing, at once.
    #[test]
    fn a_deeply_nested_kubeconfig_is_refused_at_once() {
        let deep = format!("a: {}{}\n", "[".repeat(48_000), "]".repeat(48_000));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(parse(&deep));
        });
        // A liveness bound, not a speed measure: the old parse was still running after 10 s.
        let answer = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("answered, not stuck in the parser");
        let err = answer.expect_err("refused");
        assert!(
            err.contains("48000 deep") && err.contains("not changed"),
            "{err}"
        );
        let fine = format!("a: {}{}\n", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&fine).is_ok());
        assert_eq!(flow_depth("a: \"[[[[\" # [[[[\nb: '[[' \nc: it's [x]\n"), 1);
        assert_eq!(
            flow_depth("a: say\"hi\nb: [[[\nc: \"\n"),
            3,
            "a quote inside a plain scalar hides nothing"
        );
    }
}
