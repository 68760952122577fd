//! A small JSON reader for keysets. Written here rather than taken from a
//! crate so that every string value (a keyset's base64 key material) lands
//! in a wiping buffer allocated once at its final size, with no unwiped
//! scratch copy; it accepts exactly RFC 8259 JSON, refuses duplicate object
//! members, and bounds nesting.

use zeroize::Zeroizing;

/// How deeply arrays and objects may nest (a keyset needs 4).
const MAX_DEPTH: usize = 32;

/// A JSON value.
pub enum Json {
    Null,
    /// `true` or `false` (no keyset member is boolean: which one is not kept).
    Bool,
    /// The number as written (checked against the JSON grammar).
    Number(String),
    /// A string's UTF-8 bytes, wiped when dropped.
    String(Zeroizing<Vec<u8>>),
    Array(Vec<Json>),
    /// Members in the order written; names are unique.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The member `name` of an object.
    pub fn get(&self, name: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(n, _)| n == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

/// Parses one JSON document; the error says what is wrong and at which
/// byte offset, never quoting the input.
pub fn parse(text: &[u8]) -> Result<Json, String> {
    let mut parser = Parser { text, at: 0 };
    let value = parser.value(0)?;
    parser.skip_space();
    if parser.at != text.len() {
        return Err(parser.error("unexpected content after the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        format!("invalid JSON at offset {}: {what}", self.at)
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        self.skip_space();
        if self.peek() != Some(byte) {
            return Err(self.error(&format!("expected '{}'", char::from(byte))));
        }
        self.at += 1;
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.skip_space();
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Json::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", Json::Bool),
            Some(b'f') => self.literal("false", Json::Bool),
            Some(b'n') => self.literal("null", Json::Null),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, String> {
        if !self.text[self.at..].starts_with(word.as_bytes()) {
            return Err(self.error("expected a value"));
        }
        self.at += word.len();
        Ok(value)
    }

    fn object(&mut self, depth: usize) -> Result<Json, String> {
        self.at += 1;
        let mut members: Vec<(String, Json)> = Vec::new();
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.skip_space();
            let name_at = self.at;
            let name = self.string()?;
            let name = String::from_utf8(name.to_vec()).map_err(|_| self.error("bad UTF-8"))?;
            if members.iter().any(|(n, _)| *n == name) {
                self.at = name_at;
                return Err(self.error(&format!("duplicate member \"{}\"", name.escape_debug())));
            }
            self.expect(b':')?;
            let value = self.value(depth + 1)?;
            members.push((name, value));
            self.skip_space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Json::Object(members));
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, String> {
        self.at += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.at;
        let digits = |p: &mut Self| {
            let from = p.at;
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                p.at += 1;
            }
            p.at - from
        };
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let int_start = self.at;
        let int_len = digits(self);
        if int_len == 0 || (int_len > 1 && self.text[int_start] == b'0') {
            return Err(self.error("malformed number"));
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if digits(self) == 0 {
                return Err(self.error("malformed number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return Err(self.error("malformed number"));
            }
        }
        let text = String::from_utf8_lossy(&self.text[start..self.at]).into_owned();
        Ok(Json::Number(text))
    }

    /// A string, decoded into a buffer of the raw length (an upper bound of
    /// the decoded length), so that it never reallocates.
    fn string(&mut self) -> Result<Zeroizing<Vec<u8>>, String> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a string"));
        }
        self.at += 1;
        let raw_len = self.raw_string_len()?;
        let mut out = Zeroizing::new(Vec::with_capacity(raw_len));
        let end = self.at + raw_len;
        while self.at < end {
            match self.text[self.at] {
                b'\\' => self.escape(&mut out)?,
                byte => {
                    out.push(byte);
                    self.at += 1;
                }
            }
        }
        self.at += 1; // the closing quote
        if std::str::from_utf8(&out).is_err() {
            return Err(self.error("a string is not valid UTF-8"));
        }
        Ok(out)
    }

    /// The length of the string body starting here, up to its closing
    /// quote; refuses control characters.
    fn raw_string_len(&self) -> Result<usize, String> {
        let mut i = self.at;
        loop {
            match self.text.get(i) {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => return Ok(i - self.at),
                Some(b'\\') => i += 2,
                Some(&c) if c < 0x20 => return Err(self.error("control character in a string")),
                Some(_) => i += 1,
            }
        }
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        let Some(&kind) = self.text.get(self.at + 1) else {
            return Err(self.error("unterminated escape"));
        };
        self.at += 2;
        let byte = match kind {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => return self.unicode_escape(out),
            _ => return Err(self.error("unknown escape")),
        };
        out.push(byte);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self.text.get(self.at..self.at + 4);
        let text = digits.and_then(|d| std::str::from_utf8(d).ok());
        let value = text.and_then(|t| u32::from_str_radix(t, 16).ok());
        let value = value.ok_or_else(|| self.error("malformed \\u escape"))?;
        self.at += 4;
        Ok(value)
    }

    /// `\uXXXX`, or a surrogate pair `\uD8xx\uDCxx`, as UTF-8.
    fn unicode_escape(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        let mut code = self.hex4()?;
        if (0xd800..0xdc00).contains(&code) {
            if !self.text[self.at..].starts_with(b"\\u") {
                return Err(self.error("unpaired surrogate"));
            }
            self.at += 2;
            let low = self.hex4()?;
            if !(0xdc00..0xe000).contains(&low) {
                return Err(self.error("unpaired surrogate"));
            }
            code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        }
        let c = char::from_u32(code).ok_or_else(|| self.error("unpaired surrogate"))?;
        let mut utf8 = [0; 4];
        out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string_of(json: &Json) -> &[u8] {
        match json {
            Json::String(bytes) => bytes,
            other => panic!("not a string: {}", other.kind()),
        }
    }

    #[test]
    fn parses_a_keyset_shape() {
        let doc = br#" {"primaryKeyId": 7, "key": [{"keyData": {"value": "QUJD\u003d"},
            "keyId": -1, "on": true, "off": false, "none": null, "f": 1.5e-3}]} "#;
        let Ok(json) = parse(doc) else {
            panic!("not parsed")
        };
        let Some(Json::Number(n)) = json.get("primaryKeyId") else {
            panic!("no primaryKeyId")
        };
        assert_eq!(n, "7");
        let Some(Json::Array(keys)) = json.get("key") else {
            panic!("no key array")
        };
        let value = keys[0].get("keyData").and_then(|d| d.get("value")).unwrap();
        assert_eq!(string_of(value), b"QUJD=");
        assert!(matches!(keys[0].get("on"), Some(Json::Bool)));
        assert!(matches!(keys[0].get("none"), Some(Json::Null)));
    }

    #[test]
    fn decodes_every_escape() {
        let Ok(json) = parse(br#""\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00""#) else {
            panic!("not parsed")
        };
        assert_eq!(string_of(&json), "\"\\/\u{8}\u{c}\n\r\té😀".as_bytes());
    }

    #[test]
    fn refuses_what_is_not_json() {
        for bad in [
            &b""[..],
            b"{",
            b"{\"a\":1,}",
            b"[1,]",
            b"{\"a\":1,\"a\":2}",
            b"01",
            b"1.",
            b"-",
            b"\"\x01\"",
            b"\"\\x\"",
            b"\"\\ud800\"",
            b"\"\xff\"",
            b"tru",
            b"{} {}",
            b"nul",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = "[".repeat(100) + &"]".repeat(100);
        let Err(why) = parse(deep.as_bytes()) else {
            panic!("deep nesting accepted")
        };
        assert!(why.contains("nested too deeply"), "{why}");
    }
}
