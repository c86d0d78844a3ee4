//! The STIX 2.1 patterning language (§9): lexer, recursive-descent parser and
//! an AST that prints back to canonical pattern text.
//!
//! Accepts what the OASIS grammar (`STIXPattern.g4`) accepts. Errors carry the
//! 0-based character offset into the pattern, the same column the OASIS
//! reference validator reports.

use std::fmt;

use crate::Timestamp;

/// A syntax error in a pattern: what is wrong and where (0-based character offset).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at {position}")]
pub struct PatternError {
    pub position: usize,
    pub message: String,
}

/// A whole pattern: one observation expression (possibly compound).
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub root: ObservationExpr,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ObservationExpr {
    /// `[ comparison ]`
    Observation(ComparisonExpr),
    /// Two or more operands (n-ary, so a long chain is flat, not deep).
    And(Vec<ObservationExpr>),
    Or(Vec<ObservationExpr>),
    FollowedBy(Vec<ObservationExpr>),
    Qualified(Box<ObservationExpr>, Qualifier),
    /// Explicit parentheses, kept so the pattern prints back as written.
    Group(Box<ObservationExpr>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Qualifier {
    Within { seconds: NumberLiteral },
    Repeats { times: u64 },
    StartStop { start: Timestamp, stop: Timestamp },
}

#[derive(Debug, Clone, PartialEq)]
pub enum ComparisonExpr {
    Test(PropTest),
    /// Two or more operands.
    And(Vec<ComparisonExpr>),
    Or(Vec<ComparisonExpr>),
    Group(Box<ComparisonExpr>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum PropTest {
    Compare {
        path: ObjectPath,
        negated: bool,
        op: Operator,
        value: Literal,
    },
    /// `EXISTS path` / `NOT EXISTS path`.
    Exists { path: ObjectPath, negated: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Like,
    Matches,
    IsSubset,
    IsSuperset,
}

impl Operator {
    fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "=",
            Operator::Ne => "!=",
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Gt => ">",
            Operator::Ge => ">=",
            Operator::In => "IN",
            Operator::Like => "LIKE",
            Operator::Matches => "MATCHES",
            Operator::IsSubset => "ISSUBSET",
            Operator::IsSuperset => "ISSUPERSET",
        }
    }
}

/// `object-type:property.sub[0].'quoted name'[*]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPath {
    pub object_type: String,
    pub steps: Vec<PathStep>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Property(String),
    Index(i64),
    AnyIndex,
}

/// Numbers keep their text so they print back exactly (`+5`, `1.50`).
#[derive(Debug, Clone, PartialEq)]
pub struct NumberLiteral {
    pub text: String,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    Int(i64),
    Float(NumberLiteral),
    Bool(bool),
    /// Base64 text of `b'…'`.
    Binary(String),
    /// Hex digits of `h'…'`.
    Hex(String),
    Timestamp(Timestamp),
    Set(Vec<Literal>),
}

impl Pattern {
    /// Every object path the pattern tests, in order of appearance.
    pub fn object_paths(&self) -> Vec<&ObjectPath> {
        fn obs<'a>(e: &'a ObservationExpr, out: &mut Vec<&'a ObjectPath>) {
            match e {
                ObservationExpr::Observation(c) => cmp(c, out),
                ObservationExpr::And(v)
                | ObservationExpr::Or(v)
                | ObservationExpr::FollowedBy(v) => v.iter().for_each(|x| obs(x, out)),
                ObservationExpr::Qualified(a, _) | ObservationExpr::Group(a) => obs(a, out),
            }
        }
        fn cmp<'a>(e: &'a ComparisonExpr, out: &mut Vec<&'a ObjectPath>) {
            match e {
                ComparisonExpr::Test(PropTest::Compare { path, .. })
                | ComparisonExpr::Test(PropTest::Exists { path, .. }) => out.push(path),
                ComparisonExpr::And(v) | ComparisonExpr::Or(v) => {
                    v.iter().for_each(|x| cmp(x, out))
                }
                ComparisonExpr::Group(a) => cmp(a, out),
            }
        }
        let mut out = Vec::new();
        obs(&self.root, &mut out);
        out
    }
}

/// Parses a STIX 2.1 pattern.
pub fn parse(s: &str) -> Result<Pattern, PatternError> {
    let tokens = lex(s)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let root = p.observation_expressions()?;
    match p.peek() {
        Tok::Eof => Ok(Pattern { root }),
        Tok::RBracket | Tok::RParen => Err(p.error_here("unbalanced bracket")),
        _ => Err(p.error_here("expected AND, OR, FOLLOWEDBY or a qualifier")),
    }
}

// ---------------------------------------------------------------- lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LBracket,
    RBracket,
    LParen,
    RParen,
    Colon,
    Dot,
    Comma,
    Star,
    Op(Operator),
    Kw(Kw),
    Bool(bool),
    Ident(String),
    Str(String),
    Int(i64, String),
    Float(NumberLiteral),
    Hex(String),
    Binary(String),
    Timestamp(Timestamp),
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kw {
    And,
    Or,
    Not,
    FollowedBy,
    Exists,
    Start,
    Stop,
    Seconds,
    Within,
    Repeats,
    Times,
    Last,
}

struct Token {
    tok: Tok,
    at: usize,
}

fn keyword(word: &str) -> Option<Tok> {
    Some(match word {
        "AND" => Tok::Kw(Kw::And),
        "OR" => Tok::Kw(Kw::Or),
        "NOT" => Tok::Kw(Kw::Not),
        "FOLLOWEDBY" => Tok::Kw(Kw::FollowedBy),
        "EXISTS" => Tok::Kw(Kw::Exists),
        "START" => Tok::Kw(Kw::Start),
        "STOP" => Tok::Kw(Kw::Stop),
        "SECONDS" => Tok::Kw(Kw::Seconds),
        "WITHIN" => Tok::Kw(Kw::Within),
        "REPEATS" => Tok::Kw(Kw::Repeats),
        "TIMES" => Tok::Kw(Kw::Times),
        "LAST" => Tok::Kw(Kw::Last),
        "IN" => Tok::Op(Operator::In),
        "LIKE" => Tok::Op(Operator::Like),
        "MATCHES" => Tok::Op(Operator::Matches),
        "ISSUBSET" => Tok::Op(Operator::IsSubset),
        "ISSUPERSET" => Tok::Op(Operator::IsSuperset),
        "true" => Tok::Bool(true),
        "false" => Tok::Bool(false),
        _ => return None,
    })
}

fn err(position: usize, message: impl Into<String>) -> PatternError {
    PatternError {
        position,
        message: message.into(),
    }
}

/// Reads a quoted body starting at the opening quote `c[start]`; returns the
/// unescaped text and the index after the closing quote.
fn quoted(c: &[char], start: usize, escapes: bool) -> Result<(String, usize), PatternError> {
    let mut i = start + 1;
    let mut s = String::new();
    loop {
        match c.get(i) {
            None => return Err(err(start, "unterminated string literal")),
            Some('\'') => return Ok((s, i + 1)),
            Some('\\') if escapes => match c.get(i + 1) {
                Some(&ch @ ('\'' | '\\')) => {
                    s.push(ch);
                    i += 2;
                }
                _ => return Err(err(i, "invalid escape (only \\' and \\\\ are allowed)")),
            },
            Some(&ch) => {
                s.push(ch);
                i += 1;
            }
        }
    }
}

fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !b.len().is_multiple_of(4) {
        return false;
    }
    let pad = b.iter().rev().take_while(|&&x| x == b'=').count();
    pad <= 2
        && b[..b.len() - pad]
            .iter()
            .all(|x| x.is_ascii_alphanumeric() || *x == b'+' || *x == b'/')
}

fn lex(s: &str) -> Result<Vec<Token>, PatternError> {
    let c: Vec<char> = s.chars().collect();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        let at = i;
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        let simple = match ch {
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            ':' => Some(Tok::Colon),
            ',' => Some(Tok::Comma),
            '*' => Some(Tok::Star),
            _ => None,
        };
        if let Some(tok) = simple {
            out.push(Token { tok, at });
            i += 1;
            continue;
        }
        let next = c.get(i + 1).copied();
        let two = |a: char| next == Some(a);
        let op = match ch {
            '=' if two('=') => Some((Operator::Eq, 2)),
            '=' => Some((Operator::Eq, 1)),
            '!' if two('=') => Some((Operator::Ne, 2)),
            '<' if two('>') => Some((Operator::Ne, 2)),
            '<' if two('=') => Some((Operator::Le, 2)),
            '<' => Some((Operator::Lt, 1)),
            '>' if two('=') => Some((Operator::Ge, 2)),
            '>' => Some((Operator::Gt, 1)),
            _ => None,
        };
        if let Some((op, n)) = op {
            out.push(Token {
                tok: Tok::Op(op),
                at,
            });
            i += n;
            continue;
        }
        if ch == '\'' {
            let (text, end) = quoted(&c, i, true)?;
            out.push(Token {
                tok: Tok::Str(text),
                at,
            });
            i = end;
            continue;
        }
        let after_path_part = matches!(
            out.last().map(|t| &t.tok),
            Some(Tok::Ident(_) | Tok::Str(_) | Tok::RBracket)
        );
        let starts_number = ch.is_ascii_digit()
            || ((ch == '+' || ch == '-') && next.is_some_and(|n| n.is_ascii_digit() || n == '.'))
            || (ch == '.' && !after_path_part && next.is_some_and(|n| n.is_ascii_digit()));
        if starts_number {
            let (tok, end) = number(&c, i)?;
            out.push(Token { tok, at });
            i = end;
            continue;
        }
        if ch == '.' {
            out.push(Token { tok: Tok::Dot, at });
            i += 1;
            continue;
        }
        if ch.is_ascii_alphabetic() || ch == '_' {
            // h'..', b'..', t'..' literals: a one-letter prefix glued to a quote.
            if next == Some('\'') && matches!(ch, 'h' | 'b' | 't') {
                let (body, end) = quoted(&c, i + 1, false)?;
                let tok = match ch {
                    'h' => {
                        if body.len() % 2 != 0 || !body.chars().all(|x| x.is_ascii_hexdigit()) {
                            return Err(err(at, "hex literal needs an even number of hex digits"));
                        }
                        Tok::Hex(body)
                    }
                    'b' => {
                        if !is_base64(&body) {
                            return Err(err(at, "binary literal is not valid base64"));
                        }
                        Tok::Binary(body)
                    }
                    _ => Tok::Timestamp(Timestamp::parse(&body).map_err(|e| {
                        err(
                            at + 2 + e.at,
                            format!("invalid timestamp literal: {}", e.reason),
                        )
                    })?),
                };
                out.push(Token { tok, at });
                i = end;
                continue;
            }
            let mut j = i + 1;
            while j < c.len() && (c[j].is_ascii_alphanumeric() || c[j] == '_' || c[j] == '-') {
                j += 1;
            }
            let word: String = c[i..j].iter().collect();
            let tok = keyword(&word).unwrap_or(Tok::Ident(word));
            out.push(Token { tok, at });
            i = j;
            continue;
        }
        return Err(err(at, format!("unexpected character '{ch}'")));
    }
    out.push(Token {
        tok: Tok::Eof,
        at: c.len(),
    });
    Ok(out)
}

fn number(c: &[char], start: usize) -> Result<(Tok, usize), PatternError> {
    let mut i = start;
    if c[i] == '+' || c[i] == '-' {
        i += 1;
    }
    let int_start = i;
    while i < c.len() && c[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut is_float = false;
    if i < c.len() && c[i] == '.' {
        let frac_start = i + 1;
        let mut j = frac_start;
        while j < c.len() && c[j].is_ascii_digit() {
            j += 1;
        }
        if j == frac_start {
            return Err(err(i, "expected digits after '.'"));
        }
        is_float = true;
        i = j;
    }
    if !is_float && int_digits > 1 && c[int_start] == '0' {
        return Err(err(int_start, "integer with a leading zero"));
    }
    if i < c.len() && (c[i].is_ascii_alphabetic() || c[i] == '_') {
        return Err(err(i, "unexpected character after a number"));
    }
    let text: String = c[start..i].iter().collect();
    if is_float {
        let value: f64 = text
            .trim_start_matches('+')
            .parse()
            .map_err(|_| err(start, "invalid float literal"))?;
        Ok((Tok::Float(NumberLiteral { text, value }), i))
    } else {
        match text.trim_start_matches('+').parse::<i64>() {
            Ok(value) => Ok((Tok::Int(value, text), i)),
            // The grammar has no size limit: keep huge integers as numbers
            // with their exact text rather than rejecting a valid pattern.
            Err(_) => {
                let value: f64 = text
                    .trim_start_matches('+')
                    .parse()
                    .map_err(|_| err(start, "invalid integer literal"))?;
                Ok((Tok::Float(NumberLiteral { text, value }), i))
            }
        }
    }
}

// ---------------------------------------------------------------- parser

/// Deepest nesting of brackets/parentheses accepted. The parser recurses per
/// level; without a bound a POSTed pattern of a million '(' would overflow the
/// stack of a server thread.
pub const MAX_NESTING: usize = 64;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.tokens[self.pos].tok
    }
    fn at(&self) -> usize {
        self.tokens[self.pos].at
    }
    fn bump(&mut self) -> Tok {
        let t = self.tokens[self.pos].tok.clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        t
    }
    fn eat_kw(&mut self, kw: Kw) -> bool {
        if *self.peek() == Tok::Kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn error_here(&self, message: &str) -> PatternError {
        err(self.at(), message)
    }
    fn expect_kw(&mut self, kw: Kw, what: &str) -> Result<(), PatternError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.error_here(&format!("expected {what}")))
        }
    }

    fn observation_expressions(&mut self) -> Result<ObservationExpr, PatternError> {
        let mut items = vec![self.observation_or()?];
        while self.eat_kw(Kw::FollowedBy) {
            items.push(self.observation_or()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            ObservationExpr::FollowedBy(items)
        })
    }

    fn observation_or(&mut self) -> Result<ObservationExpr, PatternError> {
        let mut items = vec![self.observation_and()?];
        while self.eat_kw(Kw::Or) {
            items.push(self.observation_and()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            ObservationExpr::Or(items)
        })
    }

    fn observation_and(&mut self) -> Result<ObservationExpr, PatternError> {
        let mut items = vec![self.observation_qualified()?];
        while self.eat_kw(Kw::And) {
            items.push(self.observation_qualified()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            ObservationExpr::And(items)
        })
    }

    fn observation_qualified(&mut self) -> Result<ObservationExpr, PatternError> {
        let mut e = self.observation_primary()?;
        for _ in 0..=MAX_NESTING {
            let q = match self.peek() {
                Tok::Kw(Kw::Within) => {
                    self.bump();
                    let at = self.at();
                    let seconds = match self.bump() {
                        Tok::Int(v, text) if !text.starts_with('-') => NumberLiteral {
                            text,
                            value: v as f64,
                        },
                        Tok::Float(n) if !n.text.starts_with('-') => n,
                        _ => return Err(err(at, "WITHIN needs a positive number of seconds")),
                    };
                    self.expect_kw(Kw::Seconds, "SECONDS")?;
                    Qualifier::Within { seconds }
                }
                Tok::Kw(Kw::Repeats) => {
                    self.bump();
                    let at = self.at();
                    let times = match self.bump() {
                        Tok::Int(v, text) if !text.starts_with('-') => v as u64,
                        _ => return Err(err(at, "REPEATS needs a positive integer")),
                    };
                    self.expect_kw(Kw::Times, "TIMES")?;
                    Qualifier::Repeats { times }
                }
                Tok::Kw(Kw::Start) => {
                    self.bump();
                    let start = self.timestamp("START")?;
                    self.expect_kw(Kw::Stop, "STOP")?;
                    let stop = self.timestamp("STOP")?;
                    Qualifier::StartStop { start, stop }
                }
                _ => return Ok(e),
            };
            e = ObservationExpr::Qualified(Box::new(e), q);
        }
        Err(self.error_here(&format!("more than {MAX_NESTING} qualifiers")))
    }

    fn timestamp(&mut self, what: &str) -> Result<Timestamp, PatternError> {
        let at = self.at();
        match self.bump() {
            Tok::Timestamp(t) => Ok(t),
            _ => Err(err(at, format!("{what} needs a timestamp literal t'…'"))),
        }
    }

    fn enter(&mut self) -> Result<(), PatternError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.error_here(&format!("nesting deeper than {MAX_NESTING} levels")));
        }
        Ok(())
    }

    fn observation_primary(&mut self) -> Result<ObservationExpr, PatternError> {
        self.enter()?;
        let r = self.observation_primary_inner();
        self.depth -= 1;
        r
    }

    fn observation_primary_inner(&mut self) -> Result<ObservationExpr, PatternError> {
        let open = self.at();
        match self.peek() {
            Tok::LBracket => {
                self.bump();
                let c = self.comparison_or()?;
                match self.peek() {
                    Tok::RBracket => {
                        self.bump();
                        Ok(ObservationExpr::Observation(c))
                    }
                    Tok::Eof | Tok::LBracket | Tok::RParen => Err(err(open, "unbalanced bracket")),
                    _ => Err(self.error_here("expected AND, OR or ']'")),
                }
            }
            Tok::LParen => {
                self.bump();
                let e = self.observation_expressions()?;
                match self.peek() {
                    Tok::RParen => {
                        self.bump();
                        Ok(ObservationExpr::Group(Box::new(e)))
                    }
                    Tok::Eof | Tok::RBracket => Err(err(open, "unbalanced parenthesis")),
                    _ => Err(self.error_here("expected AND, OR, FOLLOWEDBY or ')'")),
                }
            }
            Tok::RBracket | Tok::RParen => Err(self.error_here("unbalanced bracket")),
            Tok::Eof => Err(self.error_here("expected '[' (an observation expression)")),
            _ => Err(self.error_here("expected '[' or '('")),
        }
    }

    fn comparison_or(&mut self) -> Result<ComparisonExpr, PatternError> {
        let mut items = vec![self.comparison_and()?];
        while self.eat_kw(Kw::Or) {
            items.push(self.comparison_and()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            ComparisonExpr::Or(items)
        })
    }

    fn comparison_and(&mut self) -> Result<ComparisonExpr, PatternError> {
        let mut items = vec![self.prop_test()?];
        while self.eat_kw(Kw::And) {
            items.push(self.prop_test()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            ComparisonExpr::And(items)
        })
    }

    fn prop_test(&mut self) -> Result<ComparisonExpr, PatternError> {
        self.enter()?;
        let r = self.prop_test_inner();
        self.depth -= 1;
        r
    }

    fn prop_test_inner(&mut self) -> Result<ComparisonExpr, PatternError> {
        let open = self.at();
        match self.peek() {
            Tok::LParen => {
                self.bump();
                let c = self.comparison_or()?;
                match self.peek() {
                    Tok::RParen => {
                        self.bump();
                        Ok(ComparisonExpr::Group(Box::new(c)))
                    }
                    Tok::Eof | Tok::RBracket => Err(err(open, "unbalanced parenthesis")),
                    _ => Err(self.error_here("expected AND, OR or ')'")),
                }
            }
            Tok::Kw(Kw::Exists) => {
                self.bump();
                Ok(ComparisonExpr::Test(PropTest::Exists {
                    path: self.object_path()?,
                    negated: false,
                }))
            }
            Tok::Kw(Kw::Not) => {
                self.bump();
                if !self.eat_kw(Kw::Exists) {
                    return Err(self.error_here("expected EXISTS after a leading NOT"));
                }
                Ok(ComparisonExpr::Test(PropTest::Exists {
                    path: self.object_path()?,
                    negated: true,
                }))
            }
            Tok::Ident(_) => {
                let path = self.object_path()?;
                let negated = self.eat_kw(Kw::Not);
                let op_at = self.at();
                let op = match self.bump() {
                    Tok::Op(op) => op,
                    _ => return Err(err(op_at, "expected a comparison operator")),
                };
                let value = self.literal_for(op)?;
                Ok(ComparisonExpr::Test(PropTest::Compare {
                    path,
                    negated,
                    op,
                    value,
                }))
            }
            Tok::RBracket | Tok::Eof => Err(self.error_here("expected a comparison expression")),
            _ => Err(self.error_here("expected an object path, EXISTS or '('")),
        }
    }

    fn object_path(&mut self) -> Result<ObjectPath, PatternError> {
        let at = self.at();
        let object_type = match self.bump() {
            Tok::Ident(t) => t,
            _ => return Err(err(at, "expected an object type")),
        };
        if object_type.ends_with('-') || object_type.contains("--") {
            return Err(err(at, format!("invalid object type '{object_type}'")));
        }
        if *self.peek() != Tok::Colon {
            return Err(self.error_here("expected ':' after the object type"));
        }
        self.bump();
        let mut steps = vec![self.property_name()?];
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.bump();
                    steps.push(self.property_name()?);
                }
                Tok::LBracket => {
                    let open = self.at();
                    self.bump();
                    let at = self.at();
                    let step = match self.bump() {
                        Tok::Star => PathStep::AnyIndex,
                        Tok::Int(v, _) => PathStep::Index(v),
                        _ => return Err(err(at, "list index must be an integer or '*'")),
                    };
                    if *self.peek() != Tok::RBracket {
                        return Err(err(open, "unbalanced bracket"));
                    }
                    self.bump();
                    steps.push(step);
                }
                _ => return Ok(ObjectPath { object_type, steps }),
            }
        }
    }

    fn property_name(&mut self) -> Result<PathStep, PatternError> {
        let at = self.at();
        match self.bump() {
            Tok::Ident(p) if p.contains('-') => Err(err(
                at,
                format!("property name '{p}' contains '-': quote it ('{p}')"),
            )),
            Tok::Ident(p) | Tok::Str(p) => Ok(PathStep::Property(p)),
            // Keywords are valid property names only when quoted.
            _ => Err(err(at, "expected a property name")),
        }
    }

    fn literal_for(&mut self, op: Operator) -> Result<Literal, PatternError> {
        let at = self.at();
        match op {
            Operator::In => {
                if *self.peek() != Tok::LParen {
                    return Err(err(at, "IN needs a set literal '(…)'"));
                }
                self.bump();
                let mut items = Vec::new();
                if *self.peek() == Tok::RParen {
                    self.bump();
                    return Ok(Literal::Set(items));
                }
                loop {
                    let lat = self.at();
                    match self.primitive()? {
                        Some(l) => items.push(l),
                        None => return Err(err(lat, "expected a literal in the set")),
                    }
                    match self.bump() {
                        Tok::Comma => continue,
                        Tok::RParen => return Ok(Literal::Set(items)),
                        _ => return Err(err(at, "unbalanced parenthesis in set literal")),
                    }
                }
            }
            Operator::Like | Operator::Matches | Operator::IsSubset | Operator::IsSuperset => {
                match self.bump() {
                    Tok::Str(s) => Ok(Literal::String(s)),
                    _ => Err(err(at, format!("{} needs a string literal", op.as_str()))),
                }
            }
            Operator::Eq | Operator::Ne => match self.primitive()? {
                Some(l) => Ok(l),
                None => Err(err(at, "expected a literal")),
            },
            Operator::Lt | Operator::Le | Operator::Gt | Operator::Ge => match self.primitive()? {
                Some(Literal::Bool(_)) => Err(err(at, "booleans cannot be ordered")),
                Some(l) => Ok(l),
                None => Err(err(at, "expected a literal")),
            },
        }
    }

    fn primitive(&mut self) -> Result<Option<Literal>, PatternError> {
        let lit = match self.peek().clone() {
            Tok::Str(s) => Literal::String(s),
            Tok::Int(v, _) => Literal::Int(v),
            Tok::Float(n) => Literal::Float(n),
            Tok::Bool(b) => Literal::Bool(b),
            Tok::Binary(b) => Literal::Binary(b),
            Tok::Hex(h) => Literal::Hex(h),
            Tok::Timestamp(t) => Literal::Timestamp(t),
            _ => return Ok(None),
        };
        self.bump();
        Ok(Some(lit))
    }
}

// ---------------------------------------------------------------- printing

fn write_str_lit(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("'")?;
    for ch in s.chars() {
        match ch {
            '\'' => f.write_str("\\'")?,
            '\\' => f.write_str("\\\\")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("'")
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::String(s) => write_str_lit(f, s),
            Literal::Int(v) => write!(f, "{v}"),
            Literal::Float(n) => f.write_str(&n.text),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Binary(b) => write!(f, "b'{b}'"),
            Literal::Hex(h) => write!(f, "h'{h}'"),
            Literal::Timestamp(t) => write!(f, "t'{t}'"),
            Literal::Set(items) => {
                f.write_str("(")?;
                for (i, l) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{l}")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.object_type)?;
        for (i, s) in self.steps.iter().enumerate() {
            match s {
                PathStep::Property(p) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let plain = !p.is_empty()
                        && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        && p.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                        && keyword(p).is_none();
                    if plain {
                        f.write_str(p)?;
                    } else {
                        write_str_lit(f, p)?;
                    }
                }
                PathStep::Index(n) => write!(f, "[{n}]")?,
                PathStep::AnyIndex => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

fn write_joined<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    items: &[T],
    sep: &str,
) -> fmt::Result {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{x}")?;
    }
    Ok(())
}

impl fmt::Display for ComparisonExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComparisonExpr::Test(PropTest::Exists { path, negated }) => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{not}EXISTS {path}")
            }
            ComparisonExpr::Test(PropTest::Compare {
                path,
                negated,
                op,
                value,
            }) => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{path} {not}{} {value}", op.as_str())
            }
            ComparisonExpr::And(v) => write_joined(f, v, " AND "),
            ComparisonExpr::Or(v) => write_joined(f, v, " OR "),
            ComparisonExpr::Group(a) => write!(f, "({a})"),
        }
    }
}

impl fmt::Display for ObservationExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObservationExpr::Observation(c) => write!(f, "[{c}]"),
            ObservationExpr::And(v) => write_joined(f, v, " AND "),
            ObservationExpr::Or(v) => write_joined(f, v, " OR "),
            ObservationExpr::FollowedBy(v) => write_joined(f, v, " FOLLOWEDBY "),
            ObservationExpr::Group(a) => write!(f, "({a})"),
            ObservationExpr::Qualified(a, q) => match q {
                Qualifier::Within { seconds } => write!(f, "{a} WITHIN {} SECONDS", seconds.text),
                Qualifier::Repeats { times } => write!(f, "{a} REPEATS {times} TIMES"),
                Qualifier::StartStop { start, stop } => {
                    write!(f, "{a} START t'{start}' STOP t'{stop}'")
                }
            },
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Valid patterns (spec examples, ATT&CK/OFAC style, edge cases the
    /// OASIS reference validator accepts).
    const VALID: &[&str] = &[
        "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
        "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e' OR file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']",
        "[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32']",
        "[domain-name:value = 'example.com'] AND [url:value = 'http://example.com/x']",
        "[email-message:from_ref.value MATCHES '.+\\\\@example\\\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']",
        "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\System\\\\Foo'] FOLLOWEDBY [process:name = 'x'] WITHIN 300 SECONDS",
        "[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]",
        "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32'] REPEATS 5 TIMES WITHIN 180 SECONDS",
        "[file:size IN (1, 2, 3)] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
        "([a:b = 1] OR [c:d = 2]) AND [e:f NOT LIKE 'x%']",
        "[artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=']",
        "[artifact:x = h'0aFF']",
        "[process:pid <= -5 AND process:x >= -1.5 AND process:y != true]",
        "[a:b[0] = 1 AND a:c[*].'d e' ISSUBSET '10.0.0.0/8' AND a:e ISSUPERSET '1.2.3.4']",
        "[EXISTS windows-registry-key:values]",
        "[a:b = 1 AND NOT EXISTS c:d]",
        "[cryptocurrency-wallet:value = '0x098b716b8aaf21512996dc57eb0615e2383e2f96']",
        "[cryptocurrency-wallet:value = 'it\\'s \\\\ ok']",
        "  [a:b == 1]  ",
        "[a:b <> 1]",
        "[a:b IN ()]",
        "[x:y = .5]",
        "[a:b=1]AND[c:d=2]",
        "[a:b = +5]",
        "[a:b = 99999999999999999999]",
        "[a:'b' = 1]",
        "[a:b = 1] START t'2020-01-01T00:00:00Z' STOP t'2021-01-01T00:00:00Z' WITHIN 5.5 SECONDS",
        "[a:b IN (1, 'a', true, t'2020-01-01T00:00:00.123Z')]",
    ];

    /// Malformed patterns, the position (0-based char offset) and a word of
    /// the message; positions agree with the OASIS validator's columns except
    /// where we point at the unmatched opening bracket instead of the end.
    const INVALID: &[(&str, usize, &str)] = &[
        ("[ipv4-addr:value = '1.2.3.4'", 0, "unbalanced bracket"),
        ("[ipv4-addr:value = '1.2.3.4']]", 29, "unbalanced bracket"),
        ("[a:b = 1)", 0, "unbalanced bracket"),
        ("([a:b = 1]", 0, "unbalanced parenthesis"),
        ("[a:b = 1] and [a:b = 2]", 10, "expected AND"),
        ("[a:b = TRUE]", 7, "literal"),
        ("[a:b > true]", 7, "booleans"),
        ("a:b = 1", 0, "expected '['"),
        ("[a:b = 'x' AND ]", 15, "comparison"),
        ("[file:hashes.SHA-256 = 'x']", 13, "quote it"),
        ("[file:size = 007]", 13, "leading zero"),
        ("[a:b = 1.]", 8, "digits"),
        ("[a:b = b'YWJ']", 7, "base64"),
        ("[a:b = h'abc']", 7, "hex"),
        ("[a:b = t'2020-13-01T00:00:00Z']", 9, "timestamp"),
        ("[a:b = t'2020-01-01T00:00:00']", 28, "timestamp"),
        ("[a:b = 'unterminated]", 7, "unterminated"),
        ("[a:b = 'bad \\q escape']", 12, "escape"),
        ("[a:b LIKE 5]", 10, "string"),
        ("[a:b = 1] WITHIN -5 SECONDS", 17, "WITHIN"),
        ("[a:b = 1] WITHIN 5 MINUTES", 19, "SECONDS"),
        ("[a:b = 1] REPEATS 2.5 TIMES", 18, "REPEATS"),
        ("[a:b = 1] START t'2020-01-01T00:00:00Z'", 39, "STOP"),
        ("[a:b = 1] [c:d = 1]", 10, "expected AND"),
        ("[]", 1, "comparison"),
        ("[a:b = 1] FOLLOWEDBY", 20, "observation"),
        ("[a:b IN (1,)]", 11, "literal"),
        ("[a:b[x] = 1]", 5, "index"),
        ("[a:b NOT EXISTS c:d]", 9, "operator"),
        ("[a:b = 1] § [c:d = 1]", 10, "unexpected character"),
        ("", 0, "expected '['"),
    ];

    #[test]
    fn accepts_valid_patterns_and_prints_them_back_stably() {
        for p in VALID {
            let parsed = parse(p).unwrap_or_else(|e| panic!("{p}: {e}"));
            let printed = parsed.to_string();
            let again = parse(&printed).unwrap_or_else(|e| panic!("{printed}: {e}"));
            assert_eq!(again, parsed, "{p} -> {printed}");
            assert_eq!(again.to_string(), printed);
        }
    }

    #[test]
    fn rejects_malformed_patterns_with_position() {
        for (p, at, word) in INVALID {
            let e = parse(p).expect_err(p);
            assert_eq!(e.position, *at, "{p}: {e}");
            assert!(e.message.contains(word), "{p}: {e}");
            assert!(e.to_string().ends_with(&format!(" at {at}")));
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}[a:b = 1]{}", "(".repeat(100_000), ")".repeat(100_000));
        let e = parse(&deep).unwrap_err();
        assert!(e.message.contains("nesting"), "{e}");
        let deep_cmp = format!("[{}a:b = 1{}]", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse(&deep_cmp).unwrap_err().message.contains("nesting"));
        let ok = format!("{}[a:b = 1]{}", "(".repeat(30), ")".repeat(30));
        parse(&ok).unwrap();
        // Long flat chains (feeds OR thousands of IOCs) stay shallow.
        let long = vec!["[ipv4-addr:value = '198.51.100.1']"; 100_000].join(" OR ");
        let p = parse(&long).unwrap();
        assert_eq!(p.to_string(), long);
        let long_cmp = format!("[{}]", vec!["a:b = 1"; 100_000].join(" AND "));
        assert_eq!(parse(&long_cmp).unwrap().object_paths().len(), 100_000);
        let quals = format!("[a:b = 1]{}", " REPEATS 2 TIMES".repeat(100_000));
        assert!(parse(&quals).unwrap_err().message.contains("qualifiers"));
    }

    #[test]
    fn precedence_followedby_lowest_then_or_then_and() {
        let p = parse("[a:b = 1] AND [c:d = 2] OR [e:f = 3] FOLLOWEDBY [g:h = 4]").unwrap();
        let ObservationExpr::FollowedBy(seq) = &p.root else {
            panic!("{p:?}")
        };
        assert_eq!(seq.len(), 2);
        let ObservationExpr::Or(alts) = &seq[0] else {
            panic!("{seq:?}")
        };
        assert!(matches!(&alts[0], ObservationExpr::And(v) if v.len() == 2));
        let c = parse("[a:b = 1 OR c:d = 2 AND e:f = 3]").unwrap();
        let ObservationExpr::Observation(ComparisonExpr::Or(alts)) = &c.root else {
            panic!("{c:?}")
        };
        assert!(matches!(&alts[1], ComparisonExpr::And(v) if v.len() == 2));
        let flat = parse(&["[a:b = 1]"; 5].join(" OR ")).unwrap();
        assert!(matches!(&flat.root, ObservationExpr::Or(v) if v.len() == 5));
    }

    #[test]
    fn object_paths_are_reported() {
        let p = parse("[file:hashes.'SHA-256' = 'x' AND file:parent_directory_ref.path[2] = 'y'] AND [EXISTS a:b[*]]").unwrap();
        let paths: Vec<String> = p.object_paths().iter().map(|p| p.to_string()).collect();
        assert_eq!(
            paths,
            [
                "file:hashes.'SHA-256'",
                "file:parent_directory_ref.path[2]",
                "a:b[*]"
            ]
        );
    }

    fn path() -> impl Strategy<Value = ObjectPath> {
        let ty = prop::sample::select(vec![
            "file",
            "ipv4-addr",
            "cryptocurrency-wallet",
            "x-custom-thing",
        ]);
        let step = prop_oneof![
            "[a-z_][a-z0-9_]{0,6}".prop_map(PathStep::Property),
            "[A-Za-z0-9 .-]{1,8}".prop_map(PathStep::Property),
            (-3i64..20).prop_map(PathStep::Index),
            Just(PathStep::AnyIndex),
        ];
        (
            ty,
            "[a-z_][a-z0-9_]{0,6}",
            prop::collection::vec(step, 0..3),
        )
            .prop_map(|(t, first, rest)| {
                let mut steps = vec![PathStep::Property(first)];
                steps.extend(rest);
                ObjectPath {
                    object_type: t.to_string(),
                    steps,
                }
            })
    }

    fn literal() -> impl Strategy<Value = Literal> {
        prop_oneof![
            "[ -~]{0,10}".prop_map(Literal::String),
            any::<i64>().prop_map(Literal::Int),
            any::<bool>().prop_map(Literal::Bool),
            "([0-9a-f]{2}){0,4}".prop_map(Literal::Hex),
            (0i64..4_000_000_000)
                .prop_map(|s| Literal::Timestamp(Timestamp::from_unix_millis(s * 1000))),
        ]
    }

    fn comparison() -> impl Strategy<Value = ComparisonExpr> {
        let op = prop::sample::select(vec![Operator::Eq, Operator::Ne]);
        let leaf = prop_oneof![
            (path(), any::<bool>(), op, literal()).prop_map(|(path, negated, op, value)| {
                ComparisonExpr::Test(PropTest::Compare {
                    path,
                    negated,
                    op,
                    value,
                })
            }),
            (path(), any::<bool>()).prop_map(|(path, negated)| ComparisonExpr::Test(
                PropTest::Exists { path, negated }
            )),
            (path(), prop::collection::vec(literal(), 0..3)).prop_map(|(path, items)| {
                ComparisonExpr::Test(PropTest::Compare {
                    path,
                    negated: false,
                    op: Operator::In,
                    value: Literal::Set(items),
                })
            }),
        ];
        leaf.prop_recursive(3, 12, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| ComparisonExpr::Or(vec![a, b])),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| ComparisonExpr::And(vec![a, b])),
                inner.prop_map(|a| ComparisonExpr::Group(Box::new(a))),
            ]
        })
    }

    fn observation() -> impl Strategy<Value = ObservationExpr> {
        comparison()
            .prop_map(ObservationExpr::Observation)
            .prop_recursive(3, 8, 2, |inner| {
                prop_oneof![
                    (inner.clone(), inner.clone())
                        .prop_map(|(a, b)| ObservationExpr::FollowedBy(vec![a, b])),
                    (inner.clone(), inner.clone())
                        .prop_map(|(a, b)| ObservationExpr::Or(vec![a, b])),
                    (inner.clone(), inner.clone())
                        .prop_map(|(a, b)| ObservationExpr::And(vec![a, b])),
                    inner
                        .clone()
                        .prop_map(|a| ObservationExpr::Group(Box::new(a))),
                    (inner, 1u64..100).prop_map(|(a, n)| ObservationExpr::Qualified(
                        Box::new(a),
                        Qualifier::Repeats { times: n }
                    )),
                ]
            })
    }

    /// Parenthesise operands so the printed text has the tree's shape
    /// (the printer does not add parentheses on its own).
    fn shape_obs(e: ObservationExpr) -> ObservationExpr {
        use ObservationExpr as O;
        let g = |e: O| match e {
            O::Observation(_) | O::Group(_) => shape_obs(e),
            other => O::Group(Box::new(shape_obs(other))),
        };
        match e {
            O::Observation(c) => O::Observation(shape_cmp(c)),
            O::And(v) => O::And(v.into_iter().map(g).collect()),
            O::Or(v) => O::Or(v.into_iter().map(g).collect()),
            O::FollowedBy(v) => O::FollowedBy(v.into_iter().map(g).collect()),
            O::Qualified(a, q) => O::Qualified(Box::new(g(*a)), q),
            O::Group(a) => O::Group(Box::new(shape_obs(*a))),
        }
    }

    fn shape_cmp(e: ComparisonExpr) -> ComparisonExpr {
        use ComparisonExpr as C;
        let g = |e: C| match e {
            C::Test(_) | C::Group(_) => shape_cmp(e),
            other => C::Group(Box::new(shape_cmp(other))),
        };
        match e {
            C::Test(t) => C::Test(t),
            C::And(v) => C::And(v.into_iter().map(g).collect()),
            C::Or(v) => C::Or(v.into_iter().map(g).collect()),
            C::Group(a) => C::Group(Box::new(shape_cmp(*a))),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn printed_patterns_parse_back_to_the_same_tree(root in observation()) {
            let p = Pattern { root: shape_obs(root) };
            let text = p.to_string();
            let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            prop_assert_eq!(back, p, "{}", text);
        }

        #[test]
        fn arbitrary_input_never_panics(s in "[\\[\\]()a-z:.'= ANDORT0-9*,<>!-]{0,40}") {
            if let Err(e) = parse(&s) {
                prop_assert!(e.position <= s.chars().count());
            }
        }
    }
}
