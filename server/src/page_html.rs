//! Reading a rendered page's HTML for the few things the server changes in
//! it: its inline scripts and its tags' attributes. The pages are our own
//! renders, so a scan is enough; no parser.

use std::ops::Range;

/// An inline `<script>` (one without `src`).
pub(crate) struct InlineScript<'a> {
    /// The opening tag's attributes, as written.
    pub(crate) tag: &'a str,
    /// What is between the tags.
    pub(crate) content: &'a str,
    /// Where the content starts.
    pub(crate) content_at: usize,
    /// From `<script` to the end of `</script>`.
    pub(crate) whole: Range<usize>,
}

/// The inline scripts of `html`, in order; offsets are into `html`.
pub(crate) fn inline_scripts(html: &str) -> impl Iterator<Item = InlineScript<'_>> {
    let mut offset = 0;
    std::iter::from_fn(move || loop {
        let open = offset + html[offset..].find("<script")?;
        let tag_end = open + html[open..].find('>')?;
        let tag = &html[open + "<script".len()..tag_end];
        let close = tag_end + 1 + html[tag_end + 1..].find("</script>")?;
        offset = close + "</script>".len();
        if !tag.contains("src=") {
            return Some(InlineScript {
                tag,
                content: &html[tag_end + 1..close],
                content_at: tag_end + 1,
                whole: open..offset,
            });
        }
    })
}

/// The value of `name="..."` among a tag's attributes.
pub(crate) fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let length = tag[start..].find('"')?;
    Some(&tag[start..start + length])
}
