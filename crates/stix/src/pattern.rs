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
    And(Box<ObservationExpr>, Box<ObservationExpr>),
    Or(Box<ObservationExpr>, Box<ObservationExpr>),
    FollowedBy(Box<ObservationExpr>, Box<ObservationExpr>),
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
    And(Box<ComparisonExpr>, Box<ComparisonExpr>),
    Or(Box<ComparisonExpr>, Box<ComparisonExpr>),
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
    Exists(ObjectPath),
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
                ObservationExpr::And(a, b)
                | ObservationExpr::Or(a, b)
                | ObservationExpr::FollowedBy(a, b) => {
                    obs(a, out);
                    obs(b, out)
                }
                ObservationExpr::Qualified(a, _) | ObservationExpr::Group(a) => obs(a, out),
            }
        }
        fn cmp<'a>(e: &'a ComparisonExpr, out: &mut Vec<&'a ObjectPath>) {
            match e {
                ComparisonExpr::Test(PropTest::Compare { path, .. })
                | ComparisonExpr::Test(PropTest::Exists(path)) => out.push(path),
                ComparisonExpr::And(a, b) | ComparisonExpr::Or(a, b) => {
                    cmp(a, out);
                    cmp(b, out)
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
    let mut p = Parser { tokens, pos: 0 };
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
    if b.is_empty() || b.len() % 4 != 0 {
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
        let value: i64 = text
            .trim_start_matches('+')
            .parse()
            .map_err(|_| err(start, "integer literal out of range"))?;
        Ok((Tok::Int(value, text), i))
    }
}

// ---------------------------------------------------------------- parser

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
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
        let mut left = self.observation_or()?;
        while self.eat_kw(Kw::FollowedBy) {
            let right = self.observation_or()?;
            left = ObservationExpr::FollowedBy(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn observation_or(&mut self) -> Result<ObservationExpr, PatternError> {
        let mut left = self.observation_and()?;
        while self.eat_kw(Kw::Or) {
            let right = self.observation_and()?;
            left = ObservationExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn observation_and(&mut self) -> Result<ObservationExpr, PatternError> {
        let mut left = self.observation_qualified()?;
        while self.eat_kw(Kw::And) {
            let right = self.observation_qualified()?;
            left = ObservationExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn observation_qualified(&mut self) -> Result<ObservationExpr, PatternError> {
        let mut e = self.observation_primary()?;
        loop {
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
    }

    fn timestamp(&mut self, what: &str) -> Result<Timestamp, PatternError> {
        let at = self.at();
        match self.bump() {
            Tok::Timestamp(t) => Ok(t),
            _ => Err(err(at, format!("{what} needs a timestamp literal t'…'"))),
        }
    }

    fn observation_primary(&mut self) -> Result<ObservationExpr, PatternError> {
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
        let mut left = self.comparison_and()?;
        while self.eat_kw(Kw::Or) {
            let right = self.comparison_and()?;
            left = ComparisonExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn comparison_and(&mut self) -> Result<ComparisonExpr, PatternError> {
        let mut left = self.prop_test()?;
        while self.eat_kw(Kw::And) {
            let right = self.prop_test()?;
            left = ComparisonExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn prop_test(&mut self) -> Result<ComparisonExpr, PatternError> {
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
                Ok(ComparisonExpr::Test(PropTest::Exists(self.object_path()?)))
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

impl fmt::Display for ComparisonExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComparisonExpr::Test(PropTest::Exists(p)) => write!(f, "EXISTS {p}"),
            ComparisonExpr::Test(PropTest::Compare {
                path,
                negated,
                op,
                value,
            }) => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{path} {not}{} {value}", op.as_str())
            }
            ComparisonExpr::And(a, b) => write!(f, "{a} AND {b}"),
            ComparisonExpr::Or(a, b) => write!(f, "{a} OR {b}"),
            ComparisonExpr::Group(a) => write!(f, "({a})"),
        }
    }
}

impl fmt::Display for ObservationExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObservationExpr::Observation(c) => write!(f, "[{c}]"),
            ObservationExpr::And(a, b) => write!(f, "{a} AND {b}"),
            ObservationExpr::Or(a, b) => write!(f, "{a} OR {b}"),
            ObservationExpr::FollowedBy(a, b) => write!(f, "{a} FOLLOWEDBY {b}"),
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
