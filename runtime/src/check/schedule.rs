//! The compact schedule string: the choices of one schedule, as a report
//! prints it and `replay` takes it back.
//!
//! Only decision points with more than one option are recorded, as the
//! index chosen. The string is `s:` followed by one character per choice
//! from `0-9a-zA-Z` (indices 0 to 61), `{n}` for a larger index, and
//! `c*k.` for a run of `k` copies of character `c`. Trailing zeros are
//! left off: past the end of a string every choice is 0, the default.
//!
//! Invariant: `decode(&encode(c))` gives back `c` less its trailing zeros.

use std::fmt;

const ALPHABET: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const PREFIX: &str = "s:";

/// Why a schedule string could not be read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseScheduleError {
    /// What is wrong, and where.
    reason: String,
}

impl fmt::Display for ParseScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a weft::check schedule string ({}); copy it whole from the failure report, \
             it looks like `s:0a1*12.3`",
            self.reason
        )
    }
}

impl std::error::Error for ParseScheduleError {}

fn error(reason: impl Into<String>) -> ParseScheduleError {
    ParseScheduleError {
        reason: reason.into(),
    }
}

/// The string for `choices`.
pub(crate) fn encode(choices: &[u32]) -> String {
    let end = choices.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
    let choices = &choices[..end];
    let mut out = String::from(PREFIX);
    let mut i = 0;
    while i < choices.len() {
        let c = choices[i];
        let run = choices[i..].iter().take_while(|&&x| x == c).count();
        let one = if (c as usize) < ALPHABET.len() {
            char::from(ALPHABET[c as usize]).to_string()
        } else {
            format!("{{{c}}}")
        };
        if run >= 3 {
            out.push_str(&one);
            out.push('*');
            out.push_str(&run.to_string());
            out.push('.');
        } else {
            for _ in 0..run {
                out.push_str(&one);
            }
        }
        i += run;
    }
    out
}

/// The choices `text` stands for.
pub(crate) fn decode(text: &str) -> Result<Vec<u32>, ParseScheduleError> {
    let text = text.trim();
    let body = text
        .strip_prefix(PREFIX)
        .ok_or_else(|| error(format!("it does not start with `{PREFIX}`")))?;
    let bytes = body.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let (value, next) = if bytes[i] == b'{' {
            let close = body[i..]
                .find('}')
                .ok_or_else(|| error(format!("`{{` at {} is never closed", i + PREFIX.len())))?;
            let digits = &body[i + 1..i + close];
            let value = digits
                .parse::<u32>()
                .map_err(|_| error(format!("`{{{digits}}}` is not a choice index")))?;
            (value, i + close + 1)
        } else {
            let value = ALPHABET
                .iter()
                .position(|&a| a == bytes[i])
                .ok_or_else(|| {
                    error(format!(
                        "unexpected `{}` at {}",
                        char::from(bytes[i]),
                        i + PREFIX.len()
                    ))
                })?;
            (value as u32, i + 1)
        };
        if bytes.get(next) == Some(&b'*') {
            let end = body[next..]
                .find('.')
                .ok_or_else(|| error(format!("the run at {} has no closing `.`", next)))?;
            let digits = &body[next + 1..next + end];
            let count = digits
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0 && n <= 1 << 24)
                .ok_or_else(|| error(format!("`{digits}` is not a run length")))?;
            out.extend(std::iter::repeat_n(value, count));
            i = next + end + 1;
        } else {
            out.push(value);
            i = next;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let cases: [&[u32]; 5] = [
            &[],
            &[0, 0, 1],
            &[5, 5, 5, 5, 0, 61, 62, 1000, 1000, 1000, 2],
            &[0; 40],
            &[1, 0, 0, 0, 0, 0, 0, 3],
        ];
        for case in cases {
            let text = encode(case);
            let mut expected = case.to_vec();
            while expected.last() == Some(&0) {
                expected.pop();
            }
            assert_eq!(decode(&text).unwrap(), expected, "{text}");
        }
        assert_eq!(encode(&[1, 0, 0, 0, 0, 2]), "s:10*4.2");
    }

    #[test]
    fn bad_strings_are_refused_with_a_reason() {
        for bad in ["", "0a1", "s:#", "s:{12", "s:{x}", "s:1*3", "s:1*0."] {
            let err = decode(bad).unwrap_err();
            assert!(err.to_string().contains("schedule string"), "{bad}: {err}");
        }
    }
}
