//! Reading a work (`prov optout WORK`, `prov check WORK`): the text whose passages are its
//! passage ids (docs/formats.md, "Reading a work"). The explorer's
//! `api/explorer/src/lib/work.js` is the same function in JavaScript; both replay
//! `verifier/tests/data/work_extract.json`.
//!
//! - `.txt`, `.text` and any other name: the bytes as UTF-8 text as they are (invalid sequences
//!   become U+FFFD, as the passage rules decode).
//! - `.md`, `.markdown`: the text of CommonMark's events (no extensions): text and code spans as
//!   they are, a soft break a line break; paragraphs, headings, list items, block quotes, code
//!   blocks, rules and HTML blocks are paragraph breaks; a hard break is a line break; raw HTML
//!   and images are left out (an image's alt text is not the work's text), a link keeps its text.
//! - `.html`, `.htm`, `.xhtml`: the HTML5 parse (the tree a browser builds), every text node
//!   outside the skipped elements ([`HTML_SKIP`]) in document order; outside `pre` each run of
//!   ASCII whitespace is one space; the block elements ([`HTML_BLOCK`]) are paragraph breaks and
//!   `br` is a line break.
//!
//! Breaks are written by one rule ([`Writer`]): a break waits for the next text, so none
//! leads or trails and a run of breaks is one (two `br` make a paragraph break); text after a
//! break loses its leading whitespace and text before one its trailing whitespace (ASCII
//! whitespace: space, tab, LF, FF, CR).

use std::path::{Path, PathBuf};

use ledger::ContentId;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use scraper::{Html, Node};

use crate::exit::{Exit, Failure, OrExit};

/// How a work's bytes are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkKind {
    Text,
    Markdown,
    Html,
}

impl WorkKind {
    /// By the file name's extension (any case); text for any other.
    pub fn of_path(path: &Path) -> WorkKind {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("md" | "markdown") => WorkKind::Markdown,
            Some("html" | "htm" | "xhtml") => WorkKind::Html,
            _ => WorkKind::Text,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            WorkKind::Text => "text",
            WorkKind::Markdown => "markdown",
            WorkKind::Html => "html",
        }
    }

    #[cfg(test)]
    pub fn from_label(s: &str) -> Option<WorkKind> {
        [WorkKind::Text, WorkKind::Markdown, WorkKind::Html]
            .into_iter()
            .find(|k| k.label() == s)
    }
}

/// A work read from a file.
#[derive(Clone, Debug)]
pub struct Work {
    pub path: PathBuf,
    pub kind: WorkKind,
    /// BLAKE3 of the file's bytes: the id an exact copy of the file has.
    pub cid: ContentId,
    /// The text its passages are cut from.
    pub text: String,
}

impl Work {
    /// Reads `path` (its kind by its extension).
    pub fn read(path: &Path) -> Result<Work, Failure> {
        let bytes =
            std::fs::read(path).or_exit(Exit::Local, format!("reading {}", path.display()))?;
        let kind = WorkKind::of_path(path);
        Ok(Work {
            path: path.to_path_buf(),
            kind,
            cid: ContentId::of(&bytes),
            text: extract(kind, &bytes),
        })
    }
}

/// The text of a work's bytes read as `kind`.
pub fn extract(kind: WorkKind, bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match kind {
        WorkKind::Text => text.into_owned(),
        WorkKind::Markdown => markdown_text(&text),
        WorkKind::Html => html_text(&text),
    }
}

/// HTML elements whose content is not the work's text (with everything inside them).
pub const HTML_SKIP: &[&str] = &[
    "head", "script", "style", "noscript", "template", "iframe", "object", "textarea", "select",
];

/// HTML elements that are paragraph breaks where they open and close.
pub const HTML_BLOCK: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "caption",
    "center",
    "dd",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "html",
    "legend",
    "li",
    "listing",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
];

/// HTML's ASCII whitespace.
fn is_html_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{c}')
}

/// Writes text and breaks by the rule in the module docs.
#[derive(Default)]
struct Writer {
    out: String,
    /// Line breaks waiting for the next text (0, 1 or 2).
    breaks: usize,
}

impl Writer {
    fn paragraph(&mut self) {
        self.breaks = 2;
    }

    fn line(&mut self) {
        self.breaks = (self.breaks + 1).min(2);
    }

    /// `collapse`: runs of ASCII whitespace are one space (and one next to a space already
    /// written is dropped).
    fn text(&mut self, s: &str, collapse: bool) {
        let owned;
        let mut s = s;
        if collapse {
            let mut t = String::with_capacity(s.len());
            let mut space = false;
            for c in s.chars() {
                if is_html_space(c) {
                    if !space {
                        t.push(' ');
                    }
                    space = true;
                } else {
                    t.push(c);
                    space = false;
                }
            }
            owned = t;
            s = &owned;
            if self.out.ends_with(' ') {
                s = s.strip_prefix(' ').unwrap_or(s);
            }
        }
        if self.out.is_empty() || self.breaks > 0 {
            s = s.trim_start_matches(is_html_space);
        }
        if s.is_empty() {
            return;
        }
        if self.breaks > 0 && !self.out.is_empty() {
            let kept = self.out.trim_end_matches(is_html_space).len();
            self.out.truncate(kept);
            for _ in 0..self.breaks {
                self.out.push('\n');
            }
        }
        self.breaks = 0;
        self.out.push_str(s);
    }

    fn finish(mut self) -> String {
        let kept = self.out.trim_end_matches(is_html_space).len();
        self.out.truncate(kept);
        self.out
    }
}

/// The text of a CommonMark document (module docs).
pub fn markdown_text(md: &str) -> String {
    let mut w = Writer::default();
    // Depth inside images: their alt text is left out.
    let mut image = 0usize;
    for ev in Parser::new_ext(md, Options::empty()) {
        match ev {
            Event::Start(Tag::Image { .. }) => image += 1,
            Event::End(TagEnd::Image) => image = image.saturating_sub(1),
            _ if image > 0 => {}
            Event::Start(t) if is_md_block(&t) => w.paragraph(),
            Event::End(t) if is_md_block_end(&t) => w.paragraph(),
            Event::Text(t) | Event::Code(t) => w.text(&t, false),
            Event::SoftBreak => w.text("\n", false),
            Event::HardBreak => w.line(),
            Event::Rule => w.paragraph(),
            _ => {}
        }
    }
    w.finish()
}

fn is_md_block(t: &Tag<'_>) -> bool {
    matches!(
        t,
        Tag::Paragraph
            | Tag::Heading { .. }
            | Tag::BlockQuote(_)
            | Tag::CodeBlock(_)
            | Tag::HtmlBlock
            | Tag::List(_)
            | Tag::Item
    )
}

fn is_md_block_end(t: &TagEnd) -> bool {
    matches!(
        t,
        TagEnd::Paragraph
            | TagEnd::Heading(_)
            | TagEnd::BlockQuote(_)
            | TagEnd::CodeBlock
            | TagEnd::HtmlBlock
            | TagEnd::List(_)
            | TagEnd::Item
    )
}

/// The text of an HTML document (module docs). Walks the tree without recursion, so a deeply
/// nested document cannot exhaust the stack.
pub fn html_text(html: &str) -> String {
    let doc = Html::parse_document(html);
    let mut w = Writer::default();
    // Depth inside skipped elements, and inside `pre`.
    let (mut skip, mut pre) = (0usize, 0usize);
    for edge in doc.tree.root().traverse() {
        match edge {
            ego_tree::iter::Edge::Open(node) => match node.value() {
                Node::Element(el) => {
                    let name = el.name();
                    if skip > 0 || HTML_SKIP.contains(&name) {
                        skip += 1;
                    } else if name == "br" {
                        w.line();
                    } else if HTML_BLOCK.contains(&name) {
                        w.paragraph();
                        if name == "pre" {
                            pre += 1;
                        }
                    }
                }
                Node::Text(t) if skip == 0 => w.text(t, pre == 0),
                _ => {}
            },
            ego_tree::iter::Edge::Close(node) => {
                if let Node::Element(el) = node.value() {
                    let name = el.name();
                    if skip > 0 {
                        skip -= 1;
                    } else if HTML_BLOCK.contains(&name) {
                        w.paragraph();
                        if name == "pre" {
                            pre = pre.saturating_sub(1);
                        }
                    }
                }
            }
        }
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `verifier/tests/data/work_extract.json`, shared with the explorer's `work.js`.
    #[test]
    fn work_extract_vectors() {
        let raw = include_str!("../../verifier/tests/data/work_extract.json");
        let v: serde_json::Value = serde_json::from_str(raw).unwrap();
        let cases = v["cases"].as_array().unwrap();
        assert!(cases.len() >= 10);
        let mut failed = Vec::new();
        for c in cases {
            let name = c["name"].as_str().unwrap();
            let kind = WorkKind::from_label(c["kind"].as_str().unwrap()).unwrap();
            let got = extract(kind, c["input"].as_str().unwrap().as_bytes());
            let want = c["text"].as_str().unwrap();
            if got != want {
                failed.push(format!("{name}: got {got:?}, want {want:?}"));
            }
        }
        assert!(failed.is_empty(), "{}", failed.join("\n"));
    }

    /// The explorer replays its own copy: it must be this file, byte for byte.
    #[test]
    fn explorer_copy_of_the_vectors_is_identical() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let ours = std::fs::read(format!("{root}/verifier/tests/data/work_extract.json")).unwrap();
        let copy = std::fs::read(format!(
            "{root}/api/explorer/test/vectors/work_extract.json"
        ))
        .unwrap();
        assert!(
            ours == copy,
            "api/explorer/test/vectors/work_extract.json differs from \
             verifier/tests/data/work_extract.json: copy it"
        );
    }

    #[test]
    fn kind_by_extension() {
        assert_eq!(WorkKind::of_path(Path::new("a/b.MD")), WorkKind::Markdown);
        assert_eq!(WorkKind::of_path(Path::new("b.htm")), WorkKind::Html);
        assert_eq!(WorkKind::of_path(Path::new("b.txt")), WorkKind::Text);
        assert_eq!(WorkKind::of_path(Path::new("README")), WorkKind::Text);
    }

    #[test]
    fn deep_html_nesting_does_not_overflow() {
        let html = "<div>".repeat(10_000) + "deep text" + &"</div>".repeat(10_000);
        assert_eq!(html_text(&html), "deep text");
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(extract(WorkKind::Text, b"a\xffb"), "a\u{fffd}b");
    }
}
