//! `LabelSelector`: Kubernetes label-selector syntax, as `labels.Parse` of k8s.io/apimachinery
//! reads it and Tetragon's `labels` filter uses it: comma-separated requirements, all of which
//! must hold: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, `k>1`, `k<1`.

use std::collections::BTreeMap;
use std::fmt;
use std::iter::Peekable;
use std::vec::IntoIter;

#[derive(Clone, Debug)]
pub(super) struct LabelSelector {
    requirements: Vec<Requirement>,
}

#[derive(Clone, Debug)]
struct Requirement {
    key: String,
    operator: Operator,
}

#[derive(Clone, Debug)]
enum Operator {
    Exists,
    DoesNotExist,
    In(Vec<String>),
    /// Also holds when the label is missing, as `!=` does in Kubernetes.
    NotIn(Vec<String>),
    GreaterThan(i64),
    LessThan(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token<'a> {
    Word(&'a str),
    Not,
    Equals,
    NotEquals,
    Open,
    Close,
    Comma,
    Greater,
    Less,
}

impl fmt::Display for Token<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Word(word) => write!(f, "{word:?}"),
            Token::Not => f.write_str("'!'"),
            Token::Equals => f.write_str("'='"),
            Token::NotEquals => f.write_str("'!='"),
            Token::Open => f.write_str("'('"),
            Token::Close => f.write_str("')'"),
            Token::Comma => f.write_str("','"),
            Token::Greater => f.write_str("'>'"),
            Token::Less => f.write_str("'<'"),
        }
    }
}

/// What was found where something else was expected.
fn found(token: Option<Token>) -> String {
    token.map_or_else(|| "the end".to_owned(), |t| t.to_string())
}

fn lex(selector: &str) -> Vec<Token<'_>> {
    const SPECIAL: &str = "()!,=<>";
    let mut tokens = Vec::new();
    let mut rest = selector.trim_start();
    while let Some(c) = rest.chars().next() {
        let (token, len) = match c {
            '(' => (Token::Open, 1),
            ')' => (Token::Close, 1),
            ',' => (Token::Comma, 1),
            '>' => (Token::Greater, 1),
            '<' => (Token::Less, 1),
            '!' if rest.starts_with("!=") => (Token::NotEquals, 2),
            '!' => (Token::Not, 1),
            '=' if rest.starts_with("==") => (Token::Equals, 2),
            '=' => (Token::Equals, 1),
            _ => {
                let len = rest
                    .find(|c: char| c.is_whitespace() || SPECIAL.contains(c))
                    .unwrap_or(rest.len());
                (Token::Word(&rest[..len]), len)
            }
        };
        tokens.push(token);
        rest = rest[len..].trim_start();
    }
    tokens
}

type Tokens<'a> = Peekable<IntoIter<Token<'a>>>;

impl LabelSelector {
    /// Parses a selector; the error says what is wrong. An empty selector selects every pod.
    pub(super) fn parse(selector: &str) -> Result<Self, String> {
        let mut tokens = lex(selector).into_iter().peekable();
        let mut requirements = Vec::new();
        if tokens.peek().is_some() {
            loop {
                requirements.push(requirement(&mut tokens)?);
                match tokens.next() {
                    None => break,
                    Some(Token::Comma) => {}
                    other => {
                        return Err(format!("expected ',' or the end, found {}", found(other)));
                    }
                }
            }
        }
        Ok(LabelSelector { requirements })
    }

    pub(super) fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

fn requirement(tokens: &mut Tokens) -> Result<Requirement, String> {
    let negated = tokens.next_if_eq(&Token::Not).is_some();
    let key = match tokens.next() {
        Some(Token::Word(key)) if is_label_key(key) => key.to_owned(),
        Some(Token::Word(key)) => return Err(format!("invalid label key {key:?}")),
        other => return Err(format!("expected a label key, found {}", found(other))),
    };
    let operator = if negated {
        Operator::DoesNotExist
    } else {
        match tokens.next_if(|t| *t != Token::Comma) {
            None => Operator::Exists,
            Some(Token::Equals) => Operator::In(vec![value(tokens)?]),
            Some(Token::NotEquals) => Operator::NotIn(vec![value(tokens)?]),
            Some(Token::Word("in")) => Operator::In(values(tokens)?),
            Some(Token::Word("notin")) => Operator::NotIn(values(tokens)?),
            Some(Token::Greater) => Operator::GreaterThan(integer(tokens)?),
            Some(Token::Less) => Operator::LessThan(integer(tokens)?),
            Some(other) => {
                return Err(format!("expected an operator after {key:?}, found {other}"));
            }
        }
    };
    Ok(Requirement { key, operator })
}

/// One value; missing (`k=`, `k in (a,)`) it is the empty value.
fn value(tokens: &mut Tokens) -> Result<String, String> {
    match tokens.peek() {
        Some(Token::Word(value)) if is_label_value(value) => {
            let value = value.to_string();
            tokens.next();
            Ok(value)
        }
        Some(Token::Word(value)) => Err(format!("invalid label value {value:?}")),
        None | Some(Token::Comma | Token::Close) => Ok(String::new()),
        Some(other) => Err(format!("expected a label value, found {other}")),
    }
}

/// A parenthesised, comma-separated list of values.
fn values(tokens: &mut Tokens) -> Result<Vec<String>, String> {
    match tokens.next() {
        Some(Token::Open) => {}
        other => return Err(format!("expected '(', found {}", found(other))),
    }
    let mut values = Vec::new();
    loop {
        values.push(value(tokens)?);
        match tokens.next() {
            Some(Token::Comma) => {}
            Some(Token::Close) => return Ok(values),
            other => return Err(format!("expected ',' or ')', found {}", found(other))),
        }
    }
}

fn integer(tokens: &mut Tokens) -> Result<i64, String> {
    match tokens.next() {
        Some(Token::Word(word)) => word
            .parse()
            .map_err(|_| format!("expected an integer, found {word:?}")),
        other => Err(format!("expected an integer, found {}", found(other))),
    }
}

/// A label name or value: up to 63 alphanumerics, `-`, `_` and `.`, alphanumeric at both ends.
fn is_label_name(name: &str) -> bool {
    let alphanumeric_ends = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    name.len() <= 63
        && alphanumeric_ends
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn is_label_value(value: &str) -> bool {
    value.is_empty() || is_label_name(value)
}

/// A name with an optional DNS-subdomain prefix: `app`, `app.kubernetes.io/name`.
fn is_label_key(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => {
            let subdomain = prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'));
            !prefix.is_empty() && prefix.len() <= 253 && subdomain && is_label_name(name)
        }
        None => is_label_name(key),
    }
}

impl Requirement {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        let number = || value.and_then(|v| v.parse::<i64>().ok());
        match &self.operator {
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::In(values) => value.is_some_and(|v| values.contains(v)),
            Operator::NotIn(values) => !value.is_some_and(|v| values.contains(v)),
            Operator::GreaterThan(bound) => number().is_some_and(|n| n > *bound),
            Operator::LessThan(bound) => number().is_some_and(|n| n < *bound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn selects(selector: &str, pairs: &[(&str, &str)]) -> bool {
        LabelSelector::parse(selector)
            .unwrap_or_else(|e| panic!("{selector}: {e}"))
            .matches(&labels(pairs))
    }

    #[test]
    fn equality_and_inequality() {
        assert!(selects("app=web", &[("app", "web")]));
        assert!(selects("app == web", &[("app", "web"), ("tier", "x")]));
        assert!(!selects("app=web", &[("app", "db")]));
        assert!(!selects("app=web", &[]));
        assert!(selects("app!=web", &[("app", "db")]));
        assert!(selects("app!=web", &[]), "!= holds for a missing label");
        assert!(!selects("app!=web", &[("app", "web")]));
        assert!(selects("app=", &[("app", "")]));
    }

    #[test]
    fn set_membership_and_existence() {
        assert!(selects("env in (prod, qa)", &[("env", "qa")]));
        assert!(!selects("env in (prod,qa)", &[("env", "dev")]));
        assert!(!selects("env in (prod,qa)", &[]));
        assert!(selects("env notin (prod,qa)", &[("env", "dev")]));
        assert!(selects("env notin (prod,qa)", &[]));
        assert!(!selects("env notin (prod,qa)", &[("env", "prod")]));
        assert!(selects("env", &[("env", "")]));
        assert!(!selects("env", &[]));
        assert!(selects("!env", &[]));
        assert!(!selects("! env", &[("env", "x")]));
    }

    #[test]
    fn requirements_are_anded_and_empty_selects_all() {
        assert!(selects(
            "app=web,env in (prod),!debug",
            &[("app", "web"), ("env", "prod")]
        ));
        assert!(!selects("app=web,env in (prod)", &[("app", "web")]));
        assert!(selects("", &[]));
        assert!(selects(
            "app.kubernetes.io/name=web",
            &[("app.kubernetes.io/name", "web")]
        ));
    }

    #[test]
    fn numeric_comparisons() {
        assert!(selects("replicas>2", &[("replicas", "3")]));
        assert!(!selects("replicas>2", &[("replicas", "2")]));
        assert!(!selects("replicas>2", &[("replicas", "many")]));
        assert!(selects("replicas<2", &[("replicas", "1")]));
    }

    #[test]
    fn syntax_errors_say_what_is_wrong() {
        let error = |selector: &str| LabelSelector::parse(selector).unwrap_err();
        assert_eq!(error("app in (a"), "expected ',' or ')', found the end");
        assert_eq!(error("app in a"), "expected '(', found \"a\"");
        assert_eq!(error("=web"), "expected a label key, found '='");
        assert_eq!(
            error("app=web extra"),
            "expected ',' or the end, found \"extra\""
        );
        assert_eq!(error("-app=web"), "invalid label key \"-app\"");
        assert_eq!(error("app=we$b"), "invalid label value \"we$b\"");
        assert_eq!(error("app>x"), "expected an integer, found \"x\"");
        assert_eq!(error("app,"), "expected a label key, found the end");
        assert_eq!(
            error("app ("),
            "expected an operator after \"app\", found '('"
        );
    }
}
