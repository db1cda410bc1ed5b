//! The little XML the benchmark reads from S3 responses: error codes and messages, upload
//! ids, ListObjectsV2 key counts and continuation tokens. S3 response bodies are flat and
//! machine-written, so finding `<Tag>` ... `</Tag>` is enough; values are unescaped.

/// The text of the first `<name>` element, unescaped.
pub fn tag(doc: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = doc.find(&open)? + open.len();
    let len = doc[start..].find(&close)?;
    Some(unescape(&doc[start..start + len]))
}

/// How many `<name>` elements the document holds.
pub fn count(doc: &str, name: &str) -> u64 {
    doc.matches(&format!("<{name}>")).count() as u64
}

/// Replaces the five predefined entities and numeric character references.
pub fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let Some(semi) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let entity = &tail[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(&tail[..=semi]),
        }
        rest = &tail[semi + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_errors_listings_and_entities() {
        let err = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code>\
                   <Message>The key &quot;a&amp;b&quot; does not exist</Message></Error>";
        assert_eq!(tag(err, "Code").as_deref(), Some("NoSuchKey"));
        assert_eq!(
            tag(err, "Message").as_deref(),
            Some("The key \"a&b\" does not exist")
        );
        assert_eq!(tag(err, "Nope"), None);
        let list = "<ListBucketResult><IsTruncated>true</IsTruncated>\
                    <Contents><Key>a</Key></Contents><Contents><Key>b&#47;c</Key></Contents>\
                    <NextContinuationToken>x&#x2B;y</NextContinuationToken></ListBucketResult>";
        assert_eq!(count(list, "Key"), 2);
        assert_eq!(tag(list, "IsTruncated").as_deref(), Some("true"));
        assert_eq!(tag(list, "NextContinuationToken").as_deref(), Some("x+y"));
        assert_eq!(unescape("a &bogus; b & c"), "a &bogus; b & c");
    }
}
