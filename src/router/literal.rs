//! The literal text every match of a path regex must start with, so `find`
//! can skip a regex with one `starts_with` instead of running it. Routes
//! written as `/~/legacy/\d+` spend most of their source on such a literal.

/// Characters that end a literal run (regex syntax, escapes included).
const META: &[char] = &[
    '\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$',
];

/// The prefix every match of `source` (a regex without its leading `^`)
/// starts with; `""` when nothing is certain. Conservative: an alternation
/// anywhere gives `""`, and a quantifier after the literal run removes the
/// character it applies to. The pattern must be compiled without global
/// flags (case-insensitivity set inline sits inside a group, which ends the
/// run before it).
pub(super) fn required_prefix(source: &str) -> &str {
    if source.contains('|') {
        return "";
    }
    let end = source.find(META).unwrap_or(source.len());
    let run = &source[..end];
    match source[end..].chars().next() {
        Some('*' | '?' | '{' | '+') => match run.char_indices().next_back() {
            Some((last, _)) => &run[..last],
            None => run,
        },
        _ => run,
    }
}

#[cfg(test)]
mod tests {
    use super::required_prefix;
    use regex::Regex;

    #[test]
    fn literal_runs_up_to_the_first_metacharacter() {
        assert_eq!(required_prefix(r"/legacy/\d+$"), "/legacy/");
        assert_eq!(required_prefix("/v1/users$"), "/v1/users");
        assert_eq!(required_prefix("/api/(v1|v2)"), "");
        assert_eq!(required_prefix("/ab?c"), "/a");
        assert_eq!(required_prefix("/ab{2}"), "/a");
        assert_eq!(required_prefix("/é*"), "/");
        assert_eq!(required_prefix("(?i)/admin"), "");
        assert_eq!(required_prefix(".*"), "");
        assert_eq!(required_prefix(""), "");
    }

    #[test]
    fn every_match_starts_with_the_literal() {
        let cases = [
            (r"/legacy/\d+$", "/legacy/12"),
            ("/ab?c", "/ac"),
            ("/ab*", "/a"),
            ("/ab+", "/ab"),
            ("/ab{0,1}x", "/ax"),
            ("/a(?i)B", "/ab"),
            ("(?i)/ADMIN", "/admin"),
        ];
        for (source, path) in cases {
            let re = Regex::new(&format!("^{source}")).expect("test regex compiles");
            assert!(re.is_match(path), "{source} should match {path}");
            assert!(path.starts_with(required_prefix(source)), "{source}");
        }
    }
}
