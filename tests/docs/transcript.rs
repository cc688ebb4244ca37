//! A shell transcript as the docs write one: `$ command` lines (continued by a trailing `\`),
//! each followed by what it prints, where `…` stands for anything (an id, a token, a count) and
//! a line holding only `…` for any number of lines. A command may end in `# → 200`, the HTTP
//! status its `curl` answers.

/// One command of a transcript and what the docs say it does.
#[derive(Debug, Clone)]
pub struct Step {
    pub command: String,
    /// The `# → NNN` annotation.
    pub status: Option<u16>,
    pub expected: Vec<String>,
    /// 1-based line in its page.
    pub line: usize,
}

impl Step {
    /// Whether the docs show this step's HTTP status: annotated, a `curl -i` head, or the
    /// command's own `-w` output.
    pub fn shows_its_status(&self) -> bool {
        !self.command.contains("curl ")
            || self.status.is_some()
            || self
                .expected
                .first()
                .is_some_and(|l| l.starts_with("HTTP/"))
            || self.command.contains(" -w ")
    }
}

/// The steps of `body`, a fence starting on line `first_line`.
pub fn parse(body: &str, first_line: usize) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continuing = false;
    for (i, line) in body.lines().enumerate() {
        if continuing {
            let step = steps.last_mut().expect("a command to continue");
            step.command.push('\n');
            step.command.push_str(line);
            continuing = line.ends_with('\\');
        } else if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step {
                command: command.to_string(),
                status: None,
                expected: Vec::new(),
                line: first_line + 1 + i,
            });
            continuing = line.ends_with('\\');
        } else {
            let step = steps.last_mut().expect("output after a command");
            step.expected.push(line.to_string());
        }
        if !continuing {
            if let Some(step) = steps.last_mut() {
                step.status = step.status.or_else(|| annotated_status(&step.command));
            }
        }
    }
    steps
}

/// `… # → 200` at the end of a command.
fn annotated_status(command: &str) -> Option<u16> {
    let (_, comment) = command.rsplit_once("# →")?;
    Some(comment.trim().parse().expect("a status after # →"))
}

/// Whether `text` is `pattern` with each `…` standing for any run of characters.
pub fn matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('…').collect();
    let (first, rest) = parts.split_first().expect("split yields one part");
    let Some(mut tail) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return tail.is_empty();
    };
    for part in middle {
        match tail.find(part) {
            Some(at) => tail = &tail[at + part.len()..],
            None => return false,
        }
    }
    tail.len() >= last.len() && tail.ends_with(last)
}

/// Whether `actual` lines are the `expected` ones, line by line; an expected line `…` stands
/// for any number of lines.
pub fn lines_match(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((e, rest)) if e == "…" => {
            (0..=actual.len()).any(|n| lines_match(rest, &actual[n..]))
        }
        Some((e, rest)) => actual
            .split_first()
            .is_some_and(|(a, more)| matches(e, a) && lines_match(rest, more)),
    }
}

/// Whether what a command printed is what the docs show. A `curl -i` answer is compared by
/// its status line, the header lines shown (each must be among those received, in any order)
/// and its body; anything else line by line.
pub fn output_matches(expected: &[String], actual: &str) -> bool {
    let actual = actual.replace('\r', "");
    let actual: Vec<&str> = actual.lines().collect();
    if !expected.first().is_some_and(|l| l.starts_with("HTTP/")) {
        return lines_match(expected, &actual);
    }
    let split = |lines: &[&str]| -> (usize, usize) {
        let blank = lines
            .iter()
            .position(|l| l.is_empty())
            .unwrap_or(lines.len());
        (blank, (blank + 1).min(lines.len()))
    };
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    let (e_head, e_body) = split(&expected);
    let (a_head, a_body) = split(&actual);
    if e_head == 0 || a_head == 0 || !matches(expected[0], actual[0]) {
        return false;
    }
    let headers_shown = expected[1..e_head]
        .iter()
        .all(|e| actual[1..a_head].iter().any(|a| matches(e, a)));
    let body: Vec<String> = expected[e_body..].iter().map(|l| l.to_string()).collect();
    headers_shown && lines_match(&body, &actual[a_body..])
}

#[test]
fn an_ellipsis_stands_for_any_run_of_characters() {
    assert!(matches("tsr_at_…", "tsr_at_abc"));
    assert!(matches("{\"a\":…,\"b\":\"…\"}", "{\"a\":12,\"b\":\"x\"}"));
    assert!(matches("…", ""));
    assert!(!matches("tsr_at_…", "tsr_rt_abc"));
    assert!(!matches("a…b", "ab-"));
    assert!(!matches("exact", "exactly"));
    assert!(!matches("x…yy", "xy"), "the parts may not overlap");
}

#[test]
fn a_transcript_is_commands_with_their_output_and_status() {
    let steps = parse(
        "$ curl -s x \\\n   -d y   # → 201\n{\"a\":1}\n$ echo hi\nhi\n…",
        10,
    );
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].command, "curl -s x \\\n   -d y   # → 201");
    assert_eq!(steps[0].status, Some(201));
    assert_eq!(steps[0].expected, ["{\"a\":1}"]);
    assert_eq!(steps[0].line, 11);
    assert_eq!(steps[1].expected, ["hi", "…"]);
    assert!(lines_match(&steps[1].expected, &["hi", "and", "more"]));
    assert!(!lines_match(&steps[1].expected, &["ho"]));
    let head = ["HTTP/1.1 401 …", "www-authenticate: Bearer …", "", "{}"].map(String::from);
    let got =
        "HTTP/1.1 401 Unauthorized\r\ndate: now\r\nwww-authenticate: Bearer realm=\"r\"\r\n\r\n{}";
    assert!(output_matches(&head, got));
    assert!(!output_matches(&head, &got.replace("401", "403")));
    assert!(!output_matches(&head, &got.replace("www-", "x-")));
}
