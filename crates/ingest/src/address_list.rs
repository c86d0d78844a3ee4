//! Address lists: one address per line, as analysts keep them and as Dune,
//! Etherscan and sanctions exports give them. The first comma-separated
//! field of a line is the address (quotes stripped), `#` starts a comment,
//! blank lines and an `address` header are skipped. `tripoint screen
//! --file` and `tripoint trace --trusted-tokens` read them.

use std::io::BufRead;
use std::path::Path;

use tripoint_chain::Address;

use crate::IngestError;

/// Which addresses a list may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// Ethereum or Bitcoin.
    Any,
    /// Ethereum only (token contracts).
    Ethereum,
}

/// Read an address list; a bad line is an error naming the file and its
/// physical line (the first line is 1).
pub fn read_address_list(path: &Path, kind: AddressKind) -> Result<Vec<Address>, IngestError> {
    let file = path.display().to_string();
    let io = |source| IngestError::Io {
        file: file.clone(),
        source,
    };
    let f = std::fs::File::open(path).map_err(io)?;
    parse_address_list(std::io::BufReader::new(f), &file, kind)
}

/// [`read_address_list`] over any reader; `file` names it in errors.
pub fn parse_address_list(
    reader: impl BufRead,
    file: &str,
    kind: AddressKind,
) -> Result<Vec<Address>, IngestError> {
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = line.map_err(|source| IngestError::Io {
            file: format!("{file}:{line_no}"),
            source,
        })?;
        let field = line
            .split('#')
            .next()
            .unwrap_or("")
            .split(',')
            .next()
            .unwrap_or("")
            .trim()
            // Quoted addresses, as in Dune's address lists.
            .trim_matches(['\'', '"'])
            .trim();
        if field.is_empty() || (line_no == 1 && field.eq_ignore_ascii_case("address")) {
            continue;
        }
        let parsed = match kind {
            AddressKind::Any => Address::parse(field),
            AddressKind::Ethereum => Address::parse_eth(field),
        };
        match parsed {
            Ok(a) => out.push(a),
            Err(e) => {
                return Err(IngestError::BadField {
                    file: file.to_string(),
                    line: line_no,
                    column: "address".into(),
                    message: format!("'{field}': {e}"),
                })
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_quotes_headers_and_extra_columns_are_skipped() {
        let text = "address,name\n\n# a comment\n\"0x098B716B8Aaf21512996dC57EB0615e2383E2f96\",Ronin\n0x098b716b8aaf21512996dc57eb0615e2383e2f97 # trailing\n";
        let got = parse_address_list(text.as_bytes(), "list.csv", AddressKind::Ethereum).unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[0].to_string().ends_with("2f96"));
    }

    #[test]
    fn a_bad_address_names_the_file_the_physical_line_and_the_field() {
        let text = "address\n0x098b716b8aaf21512996dc57eb0615e2383e2f96\n\nnot-an-address\n";
        let err = parse_address_list(text.as_bytes(), "list.csv", AddressKind::Any).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("list.csv:4: column address: 'not-an-address'"),
            "{msg}"
        );
    }

    #[test]
    fn ethereum_lists_refuse_bitcoin_addresses() {
        let text = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n";
        assert!(parse_address_list(text.as_bytes(), "t", AddressKind::Ethereum).is_err());
        assert_eq!(
            parse_address_list(text.as_bytes(), "t", AddressKind::Any)
                .unwrap()
                .len(),
            1
        );
    }
}
