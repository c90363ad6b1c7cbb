//! JUnit XML: well-formed (checked by a tiny XML reader below), counts right, text
//! escaped.

use super::engine::run_with;
use super::fake::FakeCard;
use crate::script::engine::not_run_file;
use crate::script::junit::{escape, render};
use crate::script::report::RunReport;
use apdu_script::{Script, Vars};

/// An element as the checker read it: name, attributes (decoded), text (decoded).
#[derive(Debug, Clone)]
struct El {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    depth: usize,
}

impl El {
    fn attr(&self, k: &str) -> &str {
        self.attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("<{}> has no {k}", self.name))
    }
}

fn is_name_char(c: char, first: bool) -> bool {
    c.is_ascii_alphabetic()
        || c == '_'
        || c == ':'
        || (!first && (c.is_ascii_digit() || c == '-' || c == '.'))
}

/// Decodes the entities of text or an attribute; rejects a raw `<` or a bad `&`.
fn decode(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(['&', '<']) {
        out.push_str(&rest[..i]);
        if rest[i..].starts_with('<') {
            return Err(format!("raw '<' in {s:?}"));
        }
        let end = rest[i..]
            .find(';')
            .ok_or(format!("unterminated entity in {s:?}"))?
            + i;
        let ent = &rest[i + 1..end];
        let c = match ent {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ if ent.starts_with('#') => ent[1..]
                .parse::<u32>()
                .ok()
                .and_then(char::from_u32)
                .ok_or(format!("bad character reference &{ent};"))?,
            _ => return Err(format!("unknown entity &{ent};")),
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A small XML 1.0 well-formedness check: one prolog, one root, balanced tags, quoted
/// attributes without duplicates, valid entities, no control characters.
fn parse_xml(doc: &str) -> Result<Vec<El>, String> {
    let doc = doc
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .ok_or("missing prolog")?;
    if let Some(c) = doc
        .chars()
        .find(|&c| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(format!("control character {c:?}"));
    }
    let mut els: Vec<El> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut roots = 0;
    let mut rest = doc;
    loop {
        let lt = rest.find('<');
        let text = &rest[..lt.unwrap_or(rest.len())];
        let decoded = decode(text)?;
        match stack.last() {
            Some(&i) => els[i].text.push_str(&decoded),
            None if !text.trim().is_empty() => {
                return Err(format!("text outside the root: {text:?}"))
            }
            None => {}
        }
        let Some(lt) = lt else { break };
        rest = &rest[lt + 1..];
        let gt = rest.find('>').ok_or("unterminated tag")?;
        let tag = &rest[..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().ok_or(format!("stray </{name}>"))?;
            if els[open].name != name {
                return Err(format!("</{name}> closes <{}>", els[open].name));
            }
            continue;
        }
        let (tag, empty) = match tag.strip_suffix('/') {
            Some(t) => (t, true),
            None => (tag, false),
        };
        let name_len = tag
            .char_indices()
            .find(|&(i, c)| !is_name_char(c, i == 0))
            .map_or(tag.len(), |(i, _)| i);
        if name_len == 0 {
            return Err(format!("bad tag <{tag}>"));
        }
        let mut el = El {
            name: tag[..name_len].to_string(),
            attrs: Vec::new(),
            text: String::new(),
            depth: stack.len(),
        };
        let mut a = tag[name_len..].trim_start();
        while !a.is_empty() {
            let eq = a
                .find('=')
                .ok_or(format!("attribute without value in <{tag}>"))?;
            let k = a[..eq].trim();
            if k.is_empty() || !k.chars().enumerate().all(|(i, c)| is_name_char(c, i == 0)) {
                return Err(format!("bad attribute name {k:?}"));
            }
            let v = a[eq + 1..]
                .strip_prefix('"')
                .ok_or(format!("unquoted attribute {k}"))?;
            let close = v.find('"').ok_or(format!("unterminated attribute {k}"))?;
            if el.attrs.iter().any(|(n, _)| n == k) {
                return Err(format!("duplicate attribute {k}"));
            }
            el.attrs.push((k.to_string(), decode(&v[..close])?));
            a = v[close + 1..].trim_start();
        }
        if stack.is_empty() {
            roots += 1;
        }
        els.push(el);
        if !empty {
            stack.push(els.len() - 1);
        }
    }
    if let Some(&i) = stack.last() {
        return Err(format!("<{}> not closed", els[i].name));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    Ok(els)
}

#[test]
fn the_checker_rejects_broken_documents() {
    let p = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    assert!(parse_xml(&format!("{p}<a><b></a></b>")).is_err());
    assert!(parse_xml(&format!("{p}<a x=\"1\" x=\"2\"/>")).is_err());
    assert!(parse_xml(&format!("{p}<a>1 & 2</a>")).is_err());
    assert!(parse_xml(&format!("{p}<a x=1/>")).is_err());
    assert!(parse_xml(&format!("{p}<a/><b/>")).is_err());
    assert!(parse_xml(&format!("{p}<a>\u{1}</a>")).is_err());
    let els = parse_xml(&format!("{p}<a x=\"&lt;&#10;\">t&amp;u<b/></a>")).unwrap();
    assert_eq!(els[0].attr("x"), "<\n");
    assert_eq!(els[0].text, "t&u");
}

#[test]
fn escaping_covers_markup_and_control_characters() {
    assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
    assert_eq!(escape("x\u{1}y\nz"), "x\u{FFFD}y&#10;z");
}

#[test]
fn junit_is_well_formed_with_one_suite_per_file() {
    let mut card = FakeCard::default();
    let a = run_with(
        &mut card,
        "\
80CA000100
#< 01 9000
80CA000100
#< 05 9000
#! reader 9
80CA000100
#! secret
80E2910004${PARAM:4}
#< 04xx 9000
",
        Vars::new(),
        true,
    );
    let b = not_run_file(
        "dir/<odd> & \"name\".apdu",
        &Script::parse("b", "80CA000100\n#< 9000\n").unwrap(),
    );
    let xml = render(&RunReport::new(vec![a, b]));
    let els = parse_xml(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let root = &els[0];
    assert_eq!(root.name, "testsuites");
    // 5 commands + the failed '#! reader' directive.
    assert_eq!(
        (
            root.attr("tests"),
            root.attr("failures"),
            root.attr("errors"),
            root.attr("skipped")
        ),
        ("6", "1", "1", "2")
    );
    let suites: Vec<&El> = els.iter().filter(|e| e.name == "testsuite").collect();
    assert_eq!(suites.len(), 2);
    assert_eq!(suites[0].attr("name"), "t.apdu");
    assert_eq!(suites[0].attr("tests"), "5");
    assert_eq!(suites[1].attr("name"), "dir/<odd> & \"name\".apdu");
    let cases: Vec<&El> = els.iter().filter(|e| e.name == "testcase").collect();
    assert_eq!(cases[0].attr("name"), "line 1: 80CA000100");
    assert_eq!(cases[0].attr("classname"), "t.apdu");
    assert!(cases.iter().all(|c| c.depth == 2));
    let failure = els.iter().find(|e| e.name == "failure").unwrap();
    assert_eq!(
        failure.attr("message"),
        "response data at offset 0: expected 05, got 02"
    );
    assert!(
        failure.text.contains("expected: 05 9000"),
        "{}",
        failure.text
    );
    let error = els.iter().find(|e| e.name == "error").unwrap();
    assert!(error.attr("message").contains("no reader matches '9'"));
    let skipped: Vec<&El> = els.iter().filter(|e| e.name == "skipped").collect();
    assert!(skipped[0].attr("message").contains("${PARAM} is not set"));
    assert_eq!(
        skipped[1].attr("message"),
        "not run: the replay stopped in an earlier file"
    );
}
